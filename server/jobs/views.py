"""Response models of the job endpoints (the OpenAPI document's schemas).

The poll hot path does not build these: ``server.jobs.models.job_json`` writes the same shape as
pre-encoded text (a test checks every shape it produces validates against ``JobView``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pydantic

from server.jobs.models import JobStatus


class JobView(pydantic.BaseModel):
    """One job as clients see it: the seed's fields (JOB_QUEUE_API.md, "Job Object") plus
    ``version``, ``updated_at``, ``error_code``, ``queue_position``, ``attempt``, ``progress_code`` and
    ``progress_params``. Times are ISO 8601 UTC with ``Z``."""

    job_id: str = pydantic.Field(description="UUIDv7 of the job.")
    job_type: str = pydantic.Field(description="call_analysis, document_analysis_agent or document_analysis_form7801.")
    status: JobStatus
    metadata: dict[str, Any] = pydantic.Field(description="case_id, user_id, endpoint, requested_by, ...")
    result: dict[str, Any] | None = pydantic.Field(
        description="The analysis result once completed: {case_id, analysis, provider, model, truncated, ...}; "
                    "`analysis` has the CallAnalysis, AgentDocumentAnalysis or Form7801Analysis shape.")
    error: str | None = pydantic.Field(description="User-safe message when failed.")
    error_code: str | None = pydantic.Field(description="Machine code when failed (cancelled, timeout, ...).")
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    updated_at: datetime
    progress: int = pydantic.Field(ge=0, le=100, description="Percent, 0 to 100.")
    progress_message: str
    progress_code: str | None = pydantic.Field(
        description="The progress message as a stable code (queued, reading_document, completed...), so a client "
                    "can show it in its own language; null for a step without one.")
    progress_params: dict[str, Any] | None = pydantic.Field(
        description="The values the progress message names (e.g. {number, total}), or null.")
    queue_position: int | None = pydantic.Field(ge=1, description="1-based place in its queue while pending.")
    attempt: int = pydantic.Field(ge=1, description="1 for the first run; 2 after another process took the job "
                                                    "over from one that died (Redis store).")
    version: int = pydantic.Field(ge=1, description="Grows by one on every change; the ETag names it.")


class JobList(pydantic.BaseModel):
    """``GET /jobs``: a page of jobs (newest first) or, with ``since``, the changes after a cursor.

    ``count`` is the number of jobs in this answer, not a total.
    """

    jobs: list[JobView]
    count: int = pydantic.Field(ge=0, description="Number of jobs in this answer (not a total).")
    next_cursor: str | None = pydantic.Field(description="Pass as `cursor` for the next page; null on the last.")
    cursor: str = pydantic.Field(description="Change-feed position: pass as `since` to get later changes.")
