"""Canned, schema-conformant analyses for the fake provider: the offline analyzer's, plus the scores a model gives."""

from __future__ import annotations

from functools import cache
from typing import Any

from server.analysis.inputs import AnalysisInput, AnalysisKind, DocumentInput
from server.analysis.providers.offline import analyze_offline

SAMPLE = AnalysisInput(
    case_id="sample",
    transcript=(
        "I hurt my back in a work accident in 2024 and cannot work. Dr. Stein sent me to surgery. "
        "I earned 9,000 ILS a month. Do I need a medical report and pay slips for National Insurance?"
    ),
    documents=(DocumentInput("d1", "summary.txt", "medical_report",
                             "Diagnosis: lumbar disc herniation. Disability 40%. Hospitalized in March."),),
)


def kind_of(schema: dict[str, Any]) -> AnalysisKind:
    """The analysis kind a request's JSON schema describes (by a property only it has)."""
    properties = schema.get("properties", {})
    if "form_7801" in properties:
        return AnalysisKind.DOCUMENT_ANALYSIS_FORM7801
    if "claim_strength" in properties:
        return AnalysisKind.DOCUMENT_ANALYSIS_AGENT
    return AnalysisKind.CALL_ANALYSIS


# What a model would add that the offline analyzer leaves unassessed (null or empty).
_ASSESSED: dict[AnalysisKind, dict[str, Any]] = {
    AnalysisKind.CALL_ANALYSIS: {"risk_assessment": "High Viability", "estimated_claim_amount": 85000,
                                 "chance_of_approval": 70, "strength_score": 65},
    AnalysisKind.DOCUMENT_ANALYSIS_AGENT: {"claim_strength": 70, "recommended_claim_rate": "75%",
                                           "eligibility_assessment": "Likely eligible",
                                           "strategy": "Stress the loss of work capacity."},
    AnalysisKind.DOCUMENT_ANALYSIS_FORM7801: {"claim_rate": "75%", "strategy": "Complete the bank details first."},
}


@cache
def _canned(kind: AnalysisKind) -> dict[str, Any]:
    return {**analyze_offline(kind, SAMPLE).model_dump(mode="json"), **_ASSESSED[kind]}


def canned_output(schema: dict[str, Any]) -> dict[str, Any]:
    """A valid analysis (as JSON data) for the kind ``schema`` describes."""
    return dict(_canned(kind_of(schema)))
