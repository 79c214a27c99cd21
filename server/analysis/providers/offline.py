"""The offline analyzer: a deterministic, extractive stand-in for an LLM (issues 3 and 18).

It runs when no API key is configured for a job type's provider, so the server works on a fresh
machine. It is a demo: the result says ``provider: "offline"`` and the server marks it
``demo: true`` (``server.analysis.annotate``). It reports only what it can read from the input,
by the rules below (keyword tables and phrases in ``_offline_rules``), in the language of the
input (Hebrew if the input has any Hebrew, as the models are asked):

- Summaries: the first sentences of the transcript / documents (extractive, not generated).
- Requested documents: those the transcript mentions; ``uploaded`` if the case holds a document
  of the matching type (any document, readable or not).
- Amounts: shekel sums (₪, ש"ח, ILS, NIS) in a sentence that names the benefit (allowance,
  degree funding, living expenses); a salary is never reported as a claim amount.
- Gaps: expected document types (medical report, pay slips, identity) the case does not hold.
- Not assessed (``null`` / empty): risk, chance of approval, strength, the estimated claim amount,
  the recommended claim rate, eligibility and strategy. Judging them needs a model or a person.
- Form 7801: ``offline_form``.

It is CPU work of a few milliseconds; it runs in a worker thread to keep the IOLoop free.
"""

from __future__ import annotations

import asyncio
import re
import time

from pydantic import BaseModel

from server.analysis.inputs import AnalysisInput, AnalysisKind
from server.analysis.providers import _offline_rules as rules
from server.analysis.providers._calls import log_success
from server.analysis.providers._extract import amount_near, contains_any, matching, sentences, summary
from server.analysis.providers.base import AnalysisOutcome, ProgressCallback, Usage
from server.analysis.providers.offline_form import form7801_analysis
from server.analysis.schemas import AgentDocumentAnalysis, CallAnalysis, RequestedDocument

MODEL = "offline-extractive-1"
_HEBREW = re.compile(r"[\u0590-\u05FF]")


class OfflineProvider:
    """Deterministic extractive analyzer; never fails on valid input."""

    name = "offline"
    model = MODEL

    async def analyze(
        self, kind: AnalysisKind, data: AnalysisInput, progress: ProgressCallback
    ) -> AnalysisOutcome:
        """Analyse ``data`` offline; see ``Provider.analyze``."""
        started = time.monotonic()
        await progress(0, "Analysing offline (no language model configured)", "offline_analysing")
        output = await asyncio.to_thread(analyze_offline, kind, data)
        seconds = time.monotonic() - started
        usage = Usage(0, 0)
        log_success(self.name, kind, self.model, usage, seconds)
        await progress(100, "Analysis complete", "offline_complete")
        return AnalysisOutcome(output, self.name, self.model, usage, seconds)

    async def aclose(self) -> None:
        """Nothing to release."""


def analyze_offline(kind: AnalysisKind, data: AnalysisInput) -> BaseModel:
    """The offline analysis of ``data`` (pure, deterministic). Returns an instance of ``kind.schema``."""
    if kind is AnalysisKind.CALL_ANALYSIS:
        return call_analysis(data)
    if kind is AnalysisKind.DOCUMENT_ANALYSIS_AGENT:
        return agent_analysis(data)
    return form7801_analysis(data, language(data), gap_list(data))


def language(data: AnalysisInput) -> int:
    """Index into the (English, Hebrew) name pairs: 1 if the input has any Hebrew, else 0."""
    return 1 if _HEBREW.search(_all_text(data)) else 0


def _all_text(data: AnalysisInput) -> str:
    return "\n".join([data.transcript, *(doc.text for doc in data.documents)])


def requested_documents(data: AnalysisInput) -> list[RequestedDocument]:
    """Documents the transcript mentions, each with the sentence that mentions it as the reason."""
    said = sentences(data.transcript)
    lang = language(data)
    found = []
    for name, source, words, doc_type in rules.DOCUMENTS:
        mention = matching(said, words, 1)
        if mention:
            found.append(RequestedDocument(
                name=name[lang], reason=mention[0], source=source[lang], required=True,
                uploaded=doc_type in data.held_types, document_type=doc_type,
            ))
    return found


def call_analysis(data: AnalysisInput) -> CallAnalysis:
    """The offline ``call_analysis``."""
    said = sentences(data.transcript)
    every = sentences(_all_text(data))
    lang = language(data)
    return CallAnalysis(
        call_summary=summary(said),
        case_summary=summary(matching(every, rules.MEDICAL + rules.LEGAL, 3) or every),
        documents_requested_list=requested_documents(data),
        key_legal_points=matching(every, rules.LEGAL, 5),
        risk_assessment=None,
        estimated_claim_amount=None,
        chance_of_approval=None,
        strength_score=None,
        products=[name[lang] for name, words in rules.PRODUCTS if contains_any(_all_text(data), words)],
        monthly_allowance=amount_near(every, rules.ALLOWANCE),
        degree_funding=amount_near(every, rules.DEGREE),
        living_expenses=amount_near(every, rules.LIVING),
        income_tax_exemption=contains_any(_all_text(data), rules.TAX),
    )


def agent_analysis(data: AnalysisInput) -> AgentDocumentAnalysis:
    """The offline ``document_analysis_agent``."""
    doc_sentences = [s for doc in data.documents for s in sentences(doc.text)]
    gaps = gap_list(data)
    obtain = rules.OBTAIN[language(data)]
    return AgentDocumentAnalysis(
        summary=summary(doc_sentences),
        claim_strength=None,
        eligibility_assessment="",
        key_findings=matching(doc_sentences, rules.MEDICAL + rules.LEGAL, 5),
        recommended_claim_rate=None,
        strategy="",
        recommendations=[obtain.format(gap) for gap in gaps],
        gaps=gaps,
    )


def gap_list(data: AnalysisInput) -> list[str]:
    """Names (in the input's language) of the expected documents the case does not hold."""
    lang = language(data)
    return [name[lang] for doc_type, name in rules.EXPECTED_TYPES if doc_type not in data.held_types]
