"""The job record, its statuses and its public JSON view (the seed's shape plus additive fields)."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server.clock import iso_utc


class JobStatus(str, enum.Enum):
    """The seed's four statuses; no other value is ever exposed (JOB_QUEUE_API.md, "Job Statuses")."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        """True for ``completed`` and ``failed``: the job will never change again."""
        return self in (JobStatus.COMPLETED, JobStatus.FAILED)


ALLOWED_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: frozenset({JobStatus.PENDING, JobStatus.RUNNING, JobStatus.FAILED}),
    JobStatus.RUNNING: frozenset({JobStatus.RUNNING, JobStatus.COMPLETED, JobStatus.FAILED}),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.FAILED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Job:
    """One job as the store keeps it (an immutable snapshot; the store replaces it on change).

    ``params`` is the job function's private input and never leaves the server. ``result_json``
    holds the result already serialised (compact JSON text), so a poll does not re-encode it and a
    stored job costs little memory. ``number`` is the store-wide creation sequence (list order
    and pagination). ``queue_position`` is filled in by the store when the job is read (1 = next
    to start), exact at that moment: a store may keep the last value it notified as a cache, never
    as the truth. ``attempt`` is 1 for the first run and 2 after another process took
    the job over from a lost one. ``committing`` is True once the running attempt passed its commit
    point (``JobContext.commit``): from then on only that attempt may end the job, so a cancel is
    refused (internal: not in the public view).
    """

    job_id: str
    job_type: str
    owner_id: str
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    params: dict[str, Any] = field(default_factory=dict)
    status: JobStatus = JobStatus.PENDING
    result_json: str | None = None
    error: str | None = None
    error_code: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    progress: int = 0
    progress_message: str = ""
    progress_code: str | None = None
    progress_params: dict[str, Any] | None = None
    queue_position: int | None = None
    attempt: int = 1
    version: int = 1
    number: int = 0
    # The public JSON of a finished job, rendered once by a store that keeps it (``job_json`` sends it
    # as is). Only ever set on a terminal job, which never changes again: never ``replace`` it into another.
    rendered: str | None = field(default=None, compare=False, repr=False)
    committing: bool = False

    @property
    def is_terminal(self) -> bool:
        """True once the job is ``completed`` or ``failed``."""
        return self.status.is_terminal

    @property
    def etag(self) -> str:
        """Strong ETag from id and version (RFC 9110 §8.8.3); cheap, no body hashing."""
        return f'"{self.job_id}.{self.version}"'


POLL_INTERVAL_SECONDS = 2  # the seed's recommended polling interval (JOB_QUEUE_API.md, "Polling Frequency")


def job_headers(job: Job) -> list[tuple[str, str]]:
    """Headers of a response carrying ``job``: its ``ETag``, and while it is not finished
    ``Retry-After`` with the seed's polling interval (seconds)."""
    if job.is_terminal:
        return [("ETag", job.etag)]
    return [("ETag", job.etag), ("Retry-After", str(POLL_INTERVAL_SECONDS))]


def job_json(job: Job) -> str:
    """Serialise the public view of a job as JSON text.

    The seed's fields (``job_id, job_type, status, metadata, result, error, created_at,
    started_at, completed_at, progress, progress_message``) plus ``version``, ``updated_at``,
    ``error_code``, ``queue_position``, ``attempt``, and ``progress_code`` / ``progress_params`` (the
    progress message as a stable code and its values, null when the step has none). ``params`` never
    appears. The stored result text is spliced in as-is instead of being decoded and encoded again.
    A finished job the store rendered already (``Job.rendered``) is not rendered again.
    """
    if job.rendered is not None:
        return job.rendered
    head = json.dumps(
        {
            "job_id": job.job_id,
            "job_type": job.job_type,
            "status": job.status.value,
            "metadata": job.metadata,
            "error": job.error,
            "error_code": job.error_code,
            "created_at": iso_utc(job.created_at),
            "started_at": iso_utc(job.started_at),
            "completed_at": iso_utc(job.completed_at),
            "updated_at": iso_utc(job.updated_at),
            "progress": job.progress,
            "progress_message": job.progress_message,
            **_progress_code(job),
            "queue_position": job.queue_position,
            "attempt": job.attempt,
            "version": job.version,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return f'{head[:-1]},"result":{job.result_json or "null"}}}'


# The runner's own steps (queued, completed) carry no code of their own; they follow the status.
_STATUS_PROGRESS_CODES = {JobStatus.PENDING: "queued", JobStatus.COMPLETED: "completed"}


def _progress_code(job: Job) -> dict[str, Any]:
    """``progress_code`` and ``progress_params`` of the public view (issue 18): the job function's
    last code while it runs, ``queued`` / ``completed`` by status, null when the step has none."""
    code = _STATUS_PROGRESS_CODES.get(job.status)
    if code is not None:
        return {"progress_code": code, "progress_params": None}
    return {"progress_code": job.progress_code, "progress_params": job.progress_params}


def encode_result(result: Any) -> str:
    """Serialise a job result to compact JSON text (kept as text in the store).

    Raises:
        TypeError, ValueError: the result is not JSON-serialisable (NaN included).
    """
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
