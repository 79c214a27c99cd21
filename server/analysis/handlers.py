"""The three analysis endpoints: ``POST /vapi/re-analyze-call/{id}``, ``/cases/{id}/analyze-with-agent``,
``/cases/{id}/analyze-documents-form7801`` -> 202 with the seed's body, ``Location`` and ``Retry-After``."""

from __future__ import annotations

from typing import Any

from server.analysis.idempotency import HEADER, parse_key
from server.analysis.inputs import AnalysisKind
from server.analysis.service import AnalysisService, StartedAnalysis, check_inputs, readable
from server.analysis.views import AnalysisAccepted
from server.cases.handlers import CaseHandlerBase
from server.cases.service import CaseServices
from server.jobs.models import POLL_INTERVAL_SECONDS
from server.web import WebServices

Answer = tuple[int, dict[str, Any], dict[str, str]]


class AnalysisHandler(CaseHandlerBase):
    """Base of the three endpoints; subclasses set ``kind``. Routed only when analyses are configured."""

    kind: AnalysisKind
    analysis: AnalysisService

    def initialize(self, services: WebServices, cases: CaseServices,  # type: ignore[override]
                   analysis: AnalysisService) -> None:
        """``analysis``: starts the jobs; ``cases``: reads the case (see ``CaseHandlerBase``)."""
        super().initialize(services, cases)
        self.analysis = analysis

    async def post(self, raw_case_id: str) -> None:
        key = parse_key(self.request.headers.get(HEADER))
        if key is None:
            self._answer(*await self._start(raw_case_id))
            return
        fingerprint = f"POST {self.request.path}"
        async with self.analysis.idempotency.claim(self.principal.user_id, key, fingerprint) as claim:
            if claim.replay is not None:
                self.set_header("Idempotent-Replayed", "true")
                self._answer(claim.replay.status, claim.replay.body, claim.replay.headers)
                return
            status, body, headers = await self._start(raw_case_id)
            await claim.remember(status, body, headers)
        self._answer(status, body, headers)

    async def _start(self, raw_case_id: str) -> Answer:
        case = await self.load_case(raw_case_id)
        documents = readable(await self.cases.repository.list_documents(case.case_id))
        check_inputs(self.kind, case, documents)
        return accepted(await self.analysis.start(self.kind, case, self.principal, len(documents)))

    def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        for name, value in headers.items():
            self.set_header(name, value)
        self.write_json(body, status)


class CallAnalysisHandler(AnalysisHandler):
    """``POST /vapi/re-analyze-call/{case_id}`` -> ``call_analysis`` (needs a transcript)."""

    kind = AnalysisKind.CALL_ANALYSIS


class AgentAnalysisHandler(AnalysisHandler):
    """``POST /cases/{case_id}/analyze-with-agent`` -> ``document_analysis_agent`` (needs a readable document)."""

    kind = AnalysisKind.DOCUMENT_ANALYSIS_AGENT


class Form7801AnalysisHandler(AnalysisHandler):
    """``POST /cases/{case_id}/analyze-documents-form7801`` -> ``document_analysis_form7801``."""

    kind = AnalysisKind.DOCUMENT_ANALYSIS_FORM7801


def accepted(started: StartedAnalysis) -> Answer:
    """The seed's 202 answer to a started analysis (JOB_QUEUE_API.md, "Create Analysis Job"):
    (status, body, headers) with ``Location`` and ``Retry-After`` (the polling interval, seconds);
    the body has ``deduplicated: true`` when the job was already pending or running."""
    job_id, label = started.job.job_id, started.endpoint.label
    if started.deduplicated:
        message = f"{label} is already in progress for this case. Poll /jobs/{job_id} for status."
    else:
        message = f"{label} job created. Poll /jobs/{job_id} for status."
    body = AnalysisAccepted(job_id=job_id, message=message, poll_url=f"/jobs/{job_id}",
                            documents_count=started.document_count,
                            deduplicated=True if started.deduplicated else None).json_dict()
    return 202, body, {"Location": f"/jobs/{job_id}", "Retry-After": str(POLL_INTERVAL_SECONDS)}
