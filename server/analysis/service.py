"""Starting analyses: request-time checks and de-duplication (the handler builds the 202 answer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.analysis.idempotency import IdempotencyStore
from server.analysis.inputs import AnalysisKind
from server.analysis.ports import ProviderSet
from server.cases.models import Case, CaseDocument
from server.error_codes import ErrorCode
from server.errors import InvalidInput
from server.jobs.models import Job
from server.jobs.runner import JobRunner
from server.jobs.store import JobStore
from server.principal import Principal

JOB_METADATA_FILTERS = ("case_id",)
"""Metadata keys of analysis jobs that ``GET /jobs`` filters on (``?case_id=``): the job engine
knows no cases; the analyses attach the case to their jobs' metadata and declare the filter."""


@dataclass(frozen=True)
class Endpoint:
    """One of the three analysis endpoints."""

    kind: AnalysisKind
    name: str  # the seed's metadata ``endpoint`` value
    label: str  # the seed's message: "<label> job created. Poll /jobs/{id} for status."
    counts_documents: bool


ENDPOINTS = {
    AnalysisKind.CALL_ANALYSIS: Endpoint(AnalysisKind.CALL_ANALYSIS, "re-analyze-call", "Call analysis", False),
    AnalysisKind.DOCUMENT_ANALYSIS_AGENT: Endpoint(AnalysisKind.DOCUMENT_ANALYSIS_AGENT, "analyze-with-agent",
                                                   "Document analysis", True),
    AnalysisKind.DOCUMENT_ANALYSIS_FORM7801: Endpoint(AnalysisKind.DOCUMENT_ANALYSIS_FORM7801,
                                                      "analyze-documents-form7801", "Form 7801 analysis", True),
}


@dataclass(frozen=True)
class StartedAnalysis:
    """The outcome of ``AnalysisService.start``.

    Attributes:
        job: the job as submitted, or the one already pending or running for the case and kind.
        endpoint: the endpoint that started it (its label names it in messages).
        deduplicated: True when ``job`` was already pending or running (nothing new was queued).
        document_count: readable documents the analysis will read; None for an analysis that
            reads the transcript only.
    """

    job: Job
    endpoint: Endpoint
    deduplicated: bool
    document_count: int | None


def readable(documents: list[CaseDocument]) -> list[CaseDocument]:
    """Documents with extracted text (the only ones an analysis can read)."""
    return [document for document in documents if document.text_found]


def check_inputs(kind: AnalysisKind, case: Case, documents: list[CaseDocument]) -> None:
    """Refuse (400) an analysis that has nothing to read."""
    has_transcript = bool(case.transcript.strip())
    if kind is AnalysisKind.CALL_ANALYSIS and not has_transcript:
        raise InvalidInput("The case has no call transcript to analyse; add one with PUT "
                           "/cases/{case_id}/call-details", code=ErrorCode.NO_TRANSCRIPT)
    if kind is AnalysisKind.DOCUMENT_ANALYSIS_AGENT and not documents:
        raise InvalidInput("The case has no document with readable text; upload one first", code=ErrorCode.NO_DOCUMENTS)
    if kind is AnalysisKind.DOCUMENT_ANALYSIS_FORM7801 and not (has_transcript or documents):
        raise InvalidInput("The case has neither a call transcript nor a document with readable text",
                           code=ErrorCode.NO_INPUT)


class AnalysisService:
    """Starts analysis jobs; at most one pending or running job per (case, kind), across every
    process sharing the job store (the store's atomic ``dedupe_key`` check, no lock here).

    Attributes:
        providers: the provider set (None until the provider layer is configured: jobs then fail
            with ``provider_unavailable``).
        idempotency: the ``Idempotency-Key`` answers (kept in the job store, so shared too).
    """

    def __init__(self, runner: JobRunner, store: JobStore, providers: ProviderSet | None = None,
                 idempotency: IdempotencyStore | None = None):
        self._runner = runner
        self.providers = providers
        self.idempotency = idempotency or IdempotencyStore(store)

    async def start(self, kind: AnalysisKind, case: Case, principal: Principal, document_count: int) -> StartedAnalysis:
        """Submit the job, or find the one already pending or running for this case and kind (the
        store's atomic ``dedupe_key``, so one job across every process sharing the store).

        Args:
            document_count: readable documents of the case (recorded for the document analyses).
        Raises:
            TooManyActiveJobs, Unavailable: from ``JobRunner.submit_unique``.
        """
        endpoint = ENDPOINTS[kind]
        metadata: dict[str, Any] = {"case_id": case.case_id, "user_id": case.owner_id,
                                    "endpoint": endpoint.name, "requested_by": principal.user_id}
        if endpoint.counts_documents:
            metadata["document_count"] = document_count
        job, created = await self._runner.submit_unique(kind.value, case.owner_id, metadata,
                                                        {"case_id": case.case_id},
                                                        dedupe_key=dedupe_key(case.case_id, kind))
        return StartedAnalysis(job, endpoint, deduplicated=not created,
                               document_count=document_count if endpoint.counts_documents else None)


def dedupe_key(case_id: str, kind: AnalysisKind) -> str:
    """The job store's dedupe key of one (case, kind): ``analysis:<kind>:<case_id>``."""
    return f"analysis:{kind.value}:{case_id}"
