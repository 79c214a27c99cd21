"""The offline analyzer: deterministic, every field derived from the input, Hebrew too."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from server.analysis.inputs import AnalysisInput, AnalysisKind, DocumentInput
from server.analysis.providers.offline import MODEL, OfflineProvider, analyze_offline
from server.analysis.schemas import CallAnalysis, Form7801Analysis

HEBREW = AnalysisInput(
    case_id="c-he",
    transcript=(
        "שלום, נפגעתי בגב בתאונת עבודה ואני לא עובד מאז. ד\"ר כהן המליץ על ניתוח.\n"
        "הרופא נתן לי סיכום רפואי. הרווחתי 8,500 ש\"ח בחודש. האם מגיעה לי קצבת נכות מביטוח לאומי?\n"
        "צריך גם תלושי שכר. שמעתי על פטור ממס הכנסה ועל קצבה חודשית של 3,000 ₪."
    ),
    documents=(
        DocumentInput("d1", "a.pdf", "medical_report",
                      "שם: ישראל ישראלי\nתאריך לידה: 1980-05-01\nאבחנה: פריצת דיסק. אושפז בבית חולים.\n"
                      "נכות 40%. ד\"ר לוי ממליץ על טיפול. Ibuprofen 400 mg."),
        DocumentInput("d2", "b.pdf", "pay_slip", "מעסיק: חברת בנייה בע\"מ\nשכר ברוטו: 9,000 ש\"ח"),
    ),
)


def _leaves(value, path=""):
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _leaves(getattr(value, name), f"{path}.{name}")
    else:
        yield path, value


def test_offline_is_deterministic():
    for kind in AnalysisKind:
        assert analyze_offline(kind, HEBREW) == analyze_offline(kind, HEBREW)


def test_offline_call_analysis_hebrew_fields_come_from_input():
    result = analyze_offline(AnalysisKind.CALL_ANALYSIS, HEBREW)
    assert isinstance(result, CallAnalysis)
    assert result.call_summary.startswith("שלום, נפגעתי בגב")
    assert result.case_summary and all(s in HEBREW.transcript + HEBREW.documents[0].text
                                       for s in result.key_legal_points)
    names = {d.name: d for d in result.documents_requested_list}
    assert names["Medical report"].uploaded and names["Pay slips"].uploaded
    assert result.estimated_claim_amount == 9000
    assert result.monthly_allowance == 3000
    assert result.income_tax_exemption is True
    assert "General disability allowance" in result.products
    assert result.risk_assessment == "High Viability" and result.strength_score == 100


def test_offline_every_field_filled_from_rich_input():
    for kind in AnalysisKind:
        result = analyze_offline(kind, HEBREW)
        empty = [path for path, value in _leaves(result) if value in ("", [], None)]
        allowed = {
            AnalysisKind.CALL_ANALYSIS: {".degree_funding", ".living_expenses"},
            AnalysisKind.DOCUMENT_ANALYSIS_AGENT: set(),
        }.get(kind)
        if allowed is None:  # Form 7801: the form may stay partly empty, the advice may not
            assert not [path for path in empty if not path.startswith(".form_7801")], empty
        else:
            assert set(empty) <= allowed, (kind, empty)


def test_offline_form7801_reads_labels_and_leaves_unknown_empty():
    result = analyze_offline(AnalysisKind.DOCUMENT_ANALYSIS_FORM7801, HEBREW)
    assert isinstance(result, Form7801Analysis)
    form = result.form_7801
    assert form.personal_info.full_name == "ישראל ישראלי"
    assert form.personal_info.date_of_birth == "1980-05-01"
    assert form.personal_info.phone == ""  # not in the documents: not invented
    assert form.employment_history[0].monthly_salary == 9000
    assert {p.name for p in form.disability_info.treating_physicians} == {"כהן", "לוי"}
    assert "Orthopedic" in form.disability_info.disability_types
    assert form.disability_info.hospitalizations
    assert 0 < form.metadata.completion_percentage < 100
    assert "personal_info.phone" in form.metadata.missing_fields
    assert result.claim_rate == "50%" and result.preparation_data


def test_offline_empty_input_needs_more_info():
    result = analyze_offline(AnalysisKind.CALL_ANALYSIS, AnalysisInput("c", "", ()))
    assert result.risk_assessment == "Needs More Info"
    assert result.estimated_claim_amount == 0 and result.documents_requested_list == []


@pytest.mark.gen_test(timeout=10)
async def test_offline_provider_reports_progress_and_marks_result():
    calls = []

    async def progress(percent, message):
        calls.append(percent)

    outcome = await OfflineProvider().analyze(AnalysisKind.DOCUMENT_ANALYSIS_AGENT, HEBREW, progress)
    assert outcome.provider == "offline" and outcome.model == MODEL == "offline-extractive-1"
    assert outcome.output == analyze_offline(AnalysisKind.DOCUMENT_ANALYSIS_AGENT, HEBREW)
    assert calls == [0, 100]
