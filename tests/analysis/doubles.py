"""``ScriptedProviders``: a real implementation of the provider-set interface that tests script.

Queue replies (an output, a ``JobFailed``, or a gate to hold the call); every call is recorded
with its input. It stands in for the provider layer until that branch is merged.
"""

from __future__ import annotations

import asyncio
import copy
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from server.analysis.inputs import AnalysisInput, AnalysisKind
from server.jobs.errors import JobFailed

CALL_OUTPUT: dict[str, Any] = {
    "call_summary": "The caller describes a work accident and chronic back pain.",
    "case_summary": "General disability claim; medical evidence needed.",
    "documents_requested_list": [
        {"name": "Medical report", "reason": "Proves the diagnosis", "source": "Hospital", "required": True,
         "uploaded": False, "document_type": "medical_report"},
    ],
    "key_legal_points": ["Work accident", "Reduced earning capacity"],
    "risk_assessment": "Needs More Info",
    "estimated_claim_amount": 85000,
    "chance_of_approval": 60,
    "strength_score": 55,
    "products": ["general_disability"],
    "monthly_allowance": 4200,
    "degree_funding": 0,
    "living_expenses": 0,
    "income_tax_exemption": False,
}
AGENT_OUTPUT: dict[str, Any] = {
    "summary": "The medical summary supports a back disability.",
    "claim_strength": 70,
    "eligibility_assessment": "Likely eligible",
    "key_findings": ["Chronic lumbar pain"],
    "recommended_claim_rate": "66.7%",
    "strategy": "Stress loss of work capacity",
    "recommendations": ["Add an orthopaedic opinion"],
    "gaps": ["No pay slips"],
}
FORM_OUTPUT: dict[str, Any] = {
    "form_7801": {
        "personal_info": {"full_name": "", "id_number": "", "date_of_birth": "", "gender": "", "marital_status": "",
                          "address": "", "phone": "", "email": ""},
        "employment_history": [],
        "disability_info": {"disability_types": ["orthopedic"], "description": "Chronic lumbar pain", "onset_date": "",
                            "treating_physicians": [], "hospitalizations": [], "medications": []},
        "bank_details": {"bank_name": "", "branch_number": "", "account_number": "", "account_holder": ""},
        "medical_waiver": {"signed": None, "signature_date": "", "notes": ""},
        "metadata": {"completion_percentage": 20, "missing_fields": ["bank_details"], "source_documents": []},
    },
    "summary": "Partially filled from the documents.",
    "strategy": "Collect bank details",
    "claim_rate": "66.7%",
    "recommendations": ["Sign the medical waiver"],
    "preparation_data": [{"title": "Pain", "detail": "Daily pain", "should_say": "Describe a typical day"}],
}
def complete_form(completion: int) -> dict:
    """A Form 7801 output with every required field present, claiming ``completion`` percent."""
    form = copy.deepcopy(FORM_OUTPUT)
    form["form_7801"]["personal_info"].update(full_name="דנה כהן", id_number="000000018", date_of_birth="1980-01-01",
                                              address="הרצל 1, תל אביב", phone="050-0000000")
    form["form_7801"]["bank_details"].update(bank_name="לאומי", branch_number="800", account_number="123456")
    form["form_7801"]["medical_waiver"]["signed"] = True
    form["form_7801"]["metadata"]["completion_percentage"] = completion
    return form


DEFAULT_OUTPUTS = {AnalysisKind.CALL_ANALYSIS: CALL_OUTPUT, AnalysisKind.DOCUMENT_ANALYSIS_AGENT: AGENT_OUTPUT,
                   AnalysisKind.DOCUMENT_ANALYSIS_FORM7801: FORM_OUTPUT}


@dataclass
class Reply:
    """One scripted answer: ``output`` (default: a valid one for the kind), or ``error``; ``gate`` holds it."""

    output: Any = None
    error: JobFailed | None = None
    gate: asyncio.Event | None = None


@dataclass
class Outcome:
    """The provider layer's ``AnalysisOutcome`` shape."""

    output: Any
    provider: str = "scripted"
    model: str = "scripted-1"
    usage: dict[str, int] = field(default_factory=lambda: {"input_tokens": 1, "output_tokens": 1})
    duration_seconds: float = 0.01


class ScriptedProviders:
    """Provider set and provider in one: ``for_kind`` returns itself."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.calls: list[tuple[AnalysisKind, AnalysisInput]] = []
        self.started = asyncio.Event()

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def for_kind(self, kind: AnalysisKind) -> ScriptedProviders:
        return self

    async def analyze(self, kind: AnalysisKind, data: AnalysisInput, progress) -> Outcome:
        self.calls.append((kind, data))
        self.started.set()
        await progress(50, "Model is thinking")
        reply = self.replies.popleft() if self.replies else Reply()
        if reply.gate is not None:
            await reply.gate.wait()
        if reply.error is not None:
            raise reply.error
        return Outcome(DEFAULT_OUTPUTS[kind] if reply.output is None else reply.output)
