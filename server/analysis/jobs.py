"""The three job functions: read the case, call the provider, validate, write back on success.

Every job reads the case when it starts (not when it was requested) and fails with a clear
message if the case was deleted. Nothing is written to the case unless the whole analysis
succeeded and validated; the final write is the commit point (see ``_commit``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pydantic

from server.analysis.annotate import annotate
from server.analysis.budget import build_input
from server.analysis.inputs import AnalysisInput, AnalysisKind
from server.analysis.merge import merge_requested_documents
from server.analysis.ports import ProviderSet
from server.analysis.service import AnalysisService, readable
from server.cases.models import DEFAULT_STATUS, SUBMISSION_PENDING, AnalysisField, Case, CaseDocument
from server.cases.repository import CaseRepository, JsonTransform
from server.clock import iso_utc, utcnow
from server.error_codes import ErrorCode
from server.jobs.errors import JobFailed
from server.jobs.runner import JobContext, JobRunner

log = logging.getLogger(__name__)


# Progress bands: loading 5-29, provider 30-89, saving 90.
_PROVIDER_START, _PROVIDER_END = 30, 89


@dataclass(frozen=True)
class _Plan:
    column: AnalysisField
    reads_documents: bool
    analyzing: str
    analyzing_code: str


# Progress codes (``progress_code`` of the job; the page translates them, the English
# ``progress_message`` stays for other clients): loading_case, reading_document {number, total},
# analyzing_transcript, analyzing_documents, filling_form, saving, and the providers' codes.
_PLANS = {
    AnalysisKind.CALL_ANALYSIS: _Plan(AnalysisField.CALL_SUMMARY, False, "Analyzing transcript",
                                      "analyzing_transcript"),
    AnalysisKind.DOCUMENT_ANALYSIS_AGENT: _Plan(AnalysisField.AGENT_ANALYSIS, True, "Analyzing documents",
                                                "analyzing_documents"),
    AnalysisKind.DOCUMENT_ANALYSIS_FORM7801: _Plan(AnalysisField.FINAL_DOCUMENT_ANALYSIS, True,
                                                   "Filling Form 7801", "filling_form"),
}


class AnalysisJobs:
    """The job functions of the three kinds, bound to the repository, the providers and the budget.

    Args:
        repository: cases and documents.
        service: the analysis service (its ``providers``, and its de-duplication bookkeeping).
        max_input_chars: ``ANALYSIS_MAX_INPUT_CHARS``.
    """

    def __init__(self, repository: CaseRepository, service: AnalysisService, max_input_chars: int):
        self._repository = repository
        self._service = service
        self._budget = max_input_chars

    def register(self, runner: JobRunner) -> None:
        """Register the three job types with ``runner``."""
        for kind in AnalysisKind:
            runner.register(kind.value, self._function(kind))

    def _function(self, kind: AnalysisKind) -> Callable[[JobContext], Any]:
        async def run(ctx: JobContext) -> dict[str, Any]:
            return await self.run(kind, ctx)

        run.__name__ = f"run_{kind.value}"
        return run

    async def run(self, kind: AnalysisKind, ctx: JobContext) -> dict[str, Any]:
        """Run one analysis of ``kind`` for ``ctx.params["case_id"]``."""
        plan = _PLANS[kind]
        await ctx.progress(5, "Loading case", "loading_case")
        case = await self._repository.get_case(ctx.params["case_id"])
        if case is None:
            raise JobFailed(ErrorCode.CASE_DELETED)
        held = [document.document_type for document in await self._repository.list_documents(case.case_id)]
        documents = await self._read_documents(ctx, case) if plan.reads_documents else []
        data = build_input(case.case_id, case.transcript, documents, self._budget, held)
        _check_runnable(kind, data)
        providers = self._providers()
        await ctx.progress(_PROVIDER_START, plan.analyzing, plan.analyzing_code)
        outcome = await providers.for_kind(kind).analyze(kind, data, _scaled(ctx))
        analysis = annotate(kind, _validated(kind, outcome.output), outcome.provider, outcome.model,
                            data.held_types)
        await ctx.progress(90, "Saving analysis", "saving")
        transform: JsonTransform = (lambda previous: merge_requested_documents(analysis, previous)) \
            if kind is AnalysisKind.CALL_ANALYSIS else (lambda previous: analysis)
        status = _status_after(kind, analysis, case.status)
        saved = await _commit(ctx, lambda: self._repository.save_analysis(case.case_id, plan.column, transform,
                                                                          status))
        if saved is None:
            raise JobFailed(ErrorCode.CASE_DELETED, ErrorCode.CASE_DELETED.job_error("during"))
        result: dict[str, Any] = {"case_id": case.case_id, "analysis": getattr(saved, plan.column.value)}
        if kind is AnalysisKind.CALL_ANALYSIS:
            result["message"] = "Call re-analyzed successfully"
        else:
            result["documents_analyzed"] = len(data.documents)
            result["timestamp"] = iso_utc(utcnow())
        result.update(provider=outcome.provider, model=outcome.model, truncated=data.truncated,
                      demo=analysis["provenance"]["demo"])
        return result

    async def _read_documents(self, ctx: JobContext, case: Case) -> list[CaseDocument]:
        documents = readable(await self._repository.list_documents(case.case_id, with_text=True))
        for number in range(1, len(documents) + 1):
            await ctx.progress(10 + 19 * (number - 1) / max(1, len(documents)),
                               f"Reading document {number} of {len(documents)}", "reading_document",
                               {"number": number, "total": len(documents)})
        return documents

    def _providers(self) -> ProviderSet:
        if self._service.providers is None:
            raise JobFailed(ErrorCode.PROVIDER_UNAVAILABLE,
                            ErrorCode.PROVIDER_UNAVAILABLE.job_error("no_provider"))
        return self._service.providers


def _check_runnable(kind: AnalysisKind, data: AnalysisInput) -> None:
    """Inputs may have changed since the request (documents or transcript removed)."""
    if kind is AnalysisKind.CALL_ANALYSIS and not data.transcript.strip():
        raise JobFailed(ErrorCode.NO_TRANSCRIPT)
    if kind is AnalysisKind.DOCUMENT_ANALYSIS_AGENT and not data.documents:
        raise JobFailed(ErrorCode.NO_DOCUMENTS)
    if kind is AnalysisKind.DOCUMENT_ANALYSIS_FORM7801 and not (data.documents or data.transcript.strip()):
        raise JobFailed(ErrorCode.NO_INPUT)


def _status_after(kind: AnalysisKind, analysis: dict[str, Any], current: str) -> str | None:
    """The case status a successful analysis sets (None: unchanged).

    Only a Form 7801 analysis whose ``filing_readiness`` says ready moves the case to "Submission
    pending" (rule: ``server.analysis.readiness``); one that is not ready takes a case that was
    pending back to "New", so the status never claims more than the latest form supports.
    """
    if kind is not AnalysisKind.DOCUMENT_ANALYSIS_FORM7801:
        return None
    if analysis["filing_readiness"]["ready"]:
        return SUBMISSION_PENDING
    return DEFAULT_STATUS if current == SUBMISSION_PENDING else None


def _scaled(ctx: JobContext) -> Callable[..., Any]:
    """The provider's 0..100 progress, mapped into this job's provider band."""

    async def progress(percent: float, message: str, code: str | None = None,
                       params: dict[str, Any] | None = None) -> None:
        share = max(0.0, min(100.0, percent)) / 100
        await ctx.progress(_PROVIDER_START + share * (_PROVIDER_END - _PROVIDER_START), message, code, params)

    return progress


def _validated(kind: AnalysisKind, output: Any) -> dict[str, Any]:
    """The provider's output as a validated, JSON-ready dict; ``JobFailed`` when it does not fit."""
    if isinstance(output, pydantic.BaseModel):
        output = output.model_dump(mode="json")
    try:
        return kind.schema.model_validate(output).model_dump(mode="json")
    except pydantic.ValidationError as invalid:
        log.warning("analysis output failed validation kind=%s errors=%d", kind.value, invalid.error_count())
        raise JobFailed(ErrorCode.INVALID_OUTPUT, ErrorCode.INVALID_OUTPUT.job_error("unexpected_format")) from None


async def _commit(ctx: JobContext, write: Callable[[], Awaitable[Case | None]]) -> Case | None:
    """The commit point: the write-back to the case happens only once the job's attempt entered its
    committing phase (``JobContext.commit``, one atomic store step), and then runs to completion.

    A cancel that reached the store first makes ``ctx.commit`` raise ``CommitRefused``: nothing is
    written and the job stays cancelled. Once committing, a cancel answers 409 and a lost lease fails
    the job instead of running it again, so the case is written at most once per successful attempt.
    A deadline or shutdown (or both, one after the other) arriving during the write, which runs on
    the database thread and cannot be taken back, is absorbed: the job reports the success it had.
    """
    await ctx.commit()
    task = asyncio.ensure_future(write())
    while True:
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                raise  # the write itself was cancelled (the loop is closing): nothing to wait for
            # A deadline and then a shutdown may each cancel us: every one is absorbed.
