"""Starting analyses: request-time checks, de-duplication, and the seed's 202 answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.analysis.idempotency import IdempotencyStore
from server.analysis.inputs import AnalysisKind
from server.analysis.ports import ProviderSet
from server.analysis.views import AnalysisAccepted
from server.auth import Principal
from server.cases.models import Case, CaseDocument
from server.error_codes import ErrorCode
from server.errors import InvalidInput
from server.jobs.models import POLL_INTERVAL_SECONDS
from server.jobs.runner import JobRunner
from server.jobs.store import JobStore


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

    async def start(self, kind: AnalysisKind, case: Case, principal: Principal,
                    document_count: int) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Submit the job (or find the one already pending/running) and build the 202 answer.

        Returns:
            (status, body, headers) of the answer; the body has ``deduplicated: true`` when the job
            was already pending or running for this case and kind.
        """
        endpoint = ENDPOINTS[kind]
        metadata: dict[str, Any] = {"case_id": case.case_id, "user_id": case.owner_id,
                                    "endpoint": endpoint.name, "requested_by": principal.user_id}
        if endpoint.counts_documents:
            metadata["document_count"] = document_count
        job, created = await self._runner.submit_unique(kind.value, case.owner_id, metadata,
                                                        {"case_id": case.case_id},
                                                        dedupe_key=dedupe_key(case.case_id, kind))
        job_id = job.job_id
        message = f"{endpoint.label} job created. Poll /jobs/{job_id} for status."
        if not created:
            message = f"{endpoint.label} is already in progress for this case. Poll /jobs/{job_id} for status."
        body = AnalysisAccepted(job_id=job_id, message=message, poll_url=f"/jobs/{job_id}",
                                documents_count=document_count if endpoint.counts_documents else None,
                                deduplicated=None if created else True).json_dict()
        return 202, body, {"Location": f"/jobs/{job_id}", "Retry-After": str(POLL_INTERVAL_SECONDS)}


def dedupe_key(case_id: str, kind: AnalysisKind) -> str:
    """The job store's dedupe key of one (case, kind): ``analysis:<kind>:<case_id>``."""
    return f"analysis:{kind.value}:{case_id}"
