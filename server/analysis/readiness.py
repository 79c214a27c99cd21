"""When a prepared Form 7801 is complete enough to file: the one place this rule is defined.

The rule (issue 18): every required field is present, and the form's completion is at least
``MIN_COMPLETION_PERCENT``. Only then does the case move to "Submission pending". The verdict is
stored with the analysis (``filing_readiness``), so the page shows the rule and what is missing
without knowing it.

Required fields are what National Insurance needs to open a general disability claim on Form
7801: who the claimant is (name, Israeli id number, date of birth, address, phone), what the
disability is (types and a description), where to pay (bank, branch, account) and the signed
medical confidentiality waiver.
"""

from __future__ import annotations

from typing import Any

MIN_COMPLETION_PERCENT = 60

REQUIRED_FIELDS: tuple[str, ...] = (
    "personal_info.full_name",
    "personal_info.id_number",
    "personal_info.date_of_birth",
    "personal_info.address",
    "personal_info.phone",
    "disability_info.disability_types",
    "disability_info.description",
    "bank_details.bank_name",
    "bank_details.branch_number",
    "bank_details.account_number",
    "medical_waiver.signed",
)


def _value(form: dict[str, Any], path: str) -> Any:
    value: Any = form
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _present(value: Any) -> bool:
    """A field counts as present when it holds something; a waiver counts only when signed."""
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, bool):
        return value
    return bool(value)


def filing_readiness(analysis: dict[str, Any]) -> dict[str, Any]:
    """The verdict on a validated ``document_analysis_form7801`` analysis (JSON data).

    Args:
        analysis: the ``analysis`` object (with ``form_7801``).

    Returns:
        ``{"ready": bool, "completion_percentage": int (percent), "min_completion_percent": 60,
        "required_fields": [path...], "missing_required_fields": [path...]}``; paths are dotted
        field paths of ``form_7801`` (the page shows them with human labels).
    """
    form = analysis.get("form_7801") or {}
    completion = int((form.get("metadata") or {}).get("completion_percentage") or 0)
    missing = [path for path in REQUIRED_FIELDS if not _present(_value(form, path))]
    return {
        "ready": not missing and completion >= MIN_COMPLETION_PERCENT,
        "completion_percentage": completion,
        "min_completion_percent": MIN_COMPLETION_PERCENT,
        "required_fields": list(REQUIRED_FIELDS),
        "missing_required_fields": missing,
    }
