"""The offline analyzer: a deterministic, extractive stand-in for an LLM (issue 3).

It runs when no API key is configured for a job type's provider, so the server works on a fresh
machine. Every field is derived from the input by the rules below (keyword tables in
``_offline_rules``); the result says ``provider: "offline"``, ``model: "offline-extractive-1"``.

- Summaries: the first sentences of the transcript / documents (extractive, not generated).
- Requested documents: those the transcript mentions; ``uploaded`` if a document of the matching
  type is in the case. Amounts: shekel sums found in the text (₪, ש"ח, ILS, NIS).
- Scores: 20 points per evidence signal (medical documents, medical words, legal words, amounts,
  transcript), capped at 100; viability: High >= 60, Low >= 20 with a transcript, else Needs More Info.
- Form 7801: "Label: value" lines (Hebrew and English labels), physicians after "Dr."/"ד\"ר".

It is CPU work of a few milliseconds; it runs in a worker thread to keep the IOLoop free.
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from pydantic import BaseModel

from server.analysis.inputs import AnalysisInput, AnalysisKind
from server.analysis.providers import _offline_rules as rules
from server.analysis.providers._calls import log_success
from server.analysis.providers._extract import (
    amount_near,
    amounts,
    contains_any,
    matching,
    percents,
    sentences,
    summary,
)
from server.analysis.providers.base import AnalysisOutcome, ProgressCallback, Usage
from server.analysis.providers.offline_form import form7801_analysis
from server.analysis.schemas import (
    AgentDocumentAnalysis,
    CallAnalysis,
    RequestedDocument,
)

MODEL = "offline-extractive-1"
Viability = Literal["High Viability", "Low Viability", "Needs More Info"]


class OfflineProvider:
    """Deterministic extractive analyzer; never fails on valid input."""

    name = "offline"
    model = MODEL

    async def analyze(
        self, kind: AnalysisKind, data: AnalysisInput, progress: ProgressCallback
    ) -> AnalysisOutcome:
        """Analyse ``data`` offline; see ``Provider.analyze``."""
        started = time.monotonic()
        await progress(0, "Analysing offline (no language model configured)")
        output = await asyncio.to_thread(analyze_offline, kind, data)
        seconds = time.monotonic() - started
        usage = Usage(0, 0)
        log_success(self.name, kind, self.model, usage, seconds)
        await progress(100, "Analysis complete")
        return AnalysisOutcome(output, self.name, self.model, usage, seconds)

    async def aclose(self) -> None:
        """Nothing to release."""


def analyze_offline(kind: AnalysisKind, data: AnalysisInput) -> BaseModel:
    """The offline analysis of ``data`` (pure, deterministic). Returns an instance of ``kind.schema``."""
    if kind is AnalysisKind.CALL_ANALYSIS:
        return call_analysis(data)
    if kind is AnalysisKind.DOCUMENT_ANALYSIS_AGENT:
        return agent_analysis(data)
    return form7801_analysis(
        data, claim_rate(_all_text(data), evidence_score(data)), gap_list(data)
    )


def _all_text(data: AnalysisInput) -> str:
    return "\n".join([data.transcript, *(doc.text for doc in data.documents)])


def evidence_score(data: AnalysisInput) -> int:
    """0-100: 20 points per evidence signal found in the input (see the module docstring)."""
    text = _all_text(data)
    signals = [
        any(doc.document_type == "medical_report" for doc in data.documents),
        contains_any(text, rules.MEDICAL),
        contains_any(text, rules.LEGAL),
        bool(amounts(text)),
        bool(data.transcript.strip()),
    ]
    return 20 * sum(signals)


def requested_documents(data: AnalysisInput) -> list[RequestedDocument]:
    """Documents the transcript mentions, each with the sentence that mentions it as the reason."""
    said = sentences(data.transcript)
    present = {doc.document_type for doc in data.documents}
    found = []
    for name, source, words, doc_type in rules.DOCUMENTS:
        mention = matching(said, words, 1)
        if mention:
            found.append(RequestedDocument(
                name=name, reason=mention[0], source=source, required=True, uploaded=doc_type in present,
            ))
    return found


def call_analysis(data: AnalysisInput) -> CallAnalysis:
    """The offline ``call_analysis``."""
    said = sentences(data.transcript)
    every = sentences(_all_text(data))
    score = evidence_score(data)
    found_amounts = amounts(_all_text(data))
    return CallAnalysis(
        call_summary=summary(said),
        case_summary=summary(matching(every, rules.MEDICAL + rules.LEGAL, 3) or every),
        documents_requested_list=requested_documents(data),
        key_legal_points=matching(every, rules.LEGAL, 5),
        risk_assessment=_viability(score, bool(said)),
        estimated_claim_amount=max(found_amounts, default=0.0),
        chance_of_approval=score,
        strength_score=score,
        products=[name for name, words in rules.PRODUCTS if contains_any(_all_text(data), words)],
        monthly_allowance=amount_near(every, rules.MONTHLY),
        degree_funding=amount_near(every, rules.DEGREE),
        living_expenses=amount_near(every, rules.LIVING),
        income_tax_exemption=contains_any(_all_text(data), rules.TAX),
    )


def _viability(score: int, has_transcript: bool) -> Viability:
    if score >= 60:
        return "High Viability"
    if score >= 20 and has_transcript:
        return "Low Viability"
    return "Needs More Info"


def agent_analysis(data: AnalysisInput) -> AgentDocumentAnalysis:
    """The offline ``document_analysis_agent``."""
    doc_sentences = [s for doc in data.documents for s in sentences(doc.text)]
    score = evidence_score(data)
    gaps = gap_list(data)
    medical = sum(doc.document_type == "medical_report" for doc in data.documents)
    return AgentDocumentAnalysis(
        summary=summary(doc_sentences),
        claim_strength=score,
        eligibility_assessment=(
            f"{len(data.documents)} document(s), {medical} medical; "
            f"evidence score {score}/100 from the signals found in the text."
        ),
        key_findings=matching(doc_sentences, rules.MEDICAL + rules.LEGAL, 5),
        recommended_claim_rate=claim_rate(_all_text(data), score),  # type: ignore[arg-type]
        strategy=(f"Complete the missing evidence first: {', '.join(gaps)}." if gaps
                  else "Evidence set is complete; file the claim with the medical documents attached."),
        recommendations=[f"Obtain and upload: {gap}" for gap in gaps]
        + [f"Raise at the committee: {s}" for s in matching(doc_sentences, rules.MEDICAL, 2)],
        gaps=gaps,
    )


def gap_list(data: AnalysisInput) -> list[str]:
    """Expected document types missing from the case, e.g. ``medical_report``."""
    present = {doc.document_type for doc in data.documents}
    return [doc_type for doc_type in rules.EXPECTED_TYPES if doc_type not in present]


def claim_rate(text: str, score: int) -> str:
    """The allowed claim rate nearest at or above the highest percentage in the text; else by score."""
    found = [p for p in percents(text) if p >= 20]
    target = max(found) if found else score
    for rate in rules.CLAIM_RATES:
        if target <= rate:
            return f"{rate:g}%"
    return "100%"
