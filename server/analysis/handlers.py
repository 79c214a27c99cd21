"""The three analysis endpoints: ``POST /vapi/re-analyze-call/{id}``, ``/cases/{id}/analyze-with-agent``,
``/cases/{id}/analyze-documents-form7801`` -> 202 with the seed's body, ``Location`` and ``Retry-After``."""

from __future__ import annotations

from typing import Any

from server.analysis.idempotency import HEADER, parse_key
from server.analysis.inputs import AnalysisKind
from server.analysis.service import AnalysisService, check_inputs, readable
from server.cases.handlers import CaseHandlerBase
from server.error_codes import ErrorCode
from server.errors import Unavailable


class AnalysisHandler(CaseHandlerBase):
    """Base of the three endpoints; subclasses set ``kind``."""

    kind: AnalysisKind

    @property
    def analysis(self) -> AnalysisService:
        """The analysis service (503 when the server was built without it)."""
        analysis = self.services.analysis
        if analysis is None:
            raise Unavailable("Analyses are not configured on this server", code=ErrorCode.ANALYSIS_UNAVAILABLE)
        return analysis

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

    async def _start(self, raw_case_id: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        case = await self.load_case(raw_case_id)
        documents = readable(await self.cases.repository.list_documents(case.case_id))
        check_inputs(self.kind, case, documents)
        return await self.analysis.start(self.kind, case, self.principal, len(documents))

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
