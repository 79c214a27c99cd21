"""The job runner: a registry of job types, per-type FIFO queues with a concurrency limit,
deadlines, cancellation, progress and shutdown. It knows nothing about cases or LLMs.

Every exit path of a job (success, ``JobFailed``, any other exception, deadline, cancel, server
shutdown) ends in a terminal state with ``completed_at`` set; the final write is shielded so a
cancellation arriving at that moment cannot skip it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from server.clock import utcnow
from server.errors import Conflict, TooManyRequests, Unavailable
from server.jobs.errors import InvalidTransition, JobFailed
from server.jobs.ids import new_job_id
from server.jobs.models import Job, JobStatus, encode_result
from server.jobs.store import JobStore

log = logging.getLogger(__name__)

# User-safe messages per terminal error code; the log has the details.
_MESSAGES = {
    "cancelled": "The job was cancelled.",
    "timeout": "The job took longer than its time limit and was stopped.",
    "interrupted": "The server restarted while the job was running. Please submit it again.",
    "internal": "The job failed because of an internal error. Please try again later.",
}


@dataclass
class JobContext:
    """What a job function receives.

    Attributes:
        job_id, job_type, metadata: the job's identity and public metadata.
        params: the job's private input, given at submit.
    """

    job_id: str
    job_type: str
    metadata: dict[str, Any]
    params: dict[str, Any]
    _runner: JobRunner = field(repr=False)
    _progress: int = 0

    async def progress(self, percent: float, message: str, code: str | None = None,
                       params: dict[str, Any] | None = None) -> None:
        """Report progress: ``percent`` is clamped to 0..100 and never goes down (monotonic).

        ``message`` is shown to the user: no personal data in it. ``code`` is its stable name and
        ``params`` its values (e.g. ``"reading_document", {"number": 1, "total": 2}``), so a client
        can show the message in its own language; both are cleared when a step gives none.
        """
        value = max(self._progress, min(100, max(0, int(percent))))
        self._progress = value
        await self._runner._report_progress(self.job_id, value, message, code, params)


JobFunction = Callable[[JobContext], Awaitable[dict[str, Any]]]


@dataclass
class _JobType:
    func: JobFunction
    concurrency: int
    queue: deque[str] = field(default_factory=deque)
    running: int = 0


class JobRunner:
    """Runs registered job functions as tasks on the IOLoop.

    Args:
        store: where every state change goes.
        concurrency: default number of jobs of one type running at once (``JOB_CONCURRENCY``).
        concurrency_by_type: per-type overrides.
        timeout_seconds: deadline of one job from its start (``JOB_TIMEOUT_SECONDS``).
        max_active_per_user: pending + running jobs one user may have (``MAX_ACTIVE_JOBS_PER_USER``).
    """

    def __init__(self, store: JobStore, *, concurrency: int = 4, concurrency_by_type: dict[str, int] | None = None,
                 timeout_seconds: float = 600.0, max_active_per_user: int = 10):
        self._store = store
        self._default_concurrency = concurrency
        self._concurrency_by_type = dict(concurrency_by_type or {})
        self._timeout = timeout_seconds
        self._max_active_per_user = max_active_per_user
        self._types: dict[str, _JobType] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}  # strong references: asyncio keeps weak ones
        self._stop_reasons: dict[str, str] = {}
        self._active_by_owner: dict[str, int] = {}
        self._accepting = True

    # -- registry ------------------------------------------------------------------------------

    def register(self, job_type: str, func: JobFunction, *, concurrency: int | None = None) -> None:
        """Register ``func`` as the job function of ``job_type``.

        ``func(ctx)`` returns the JSON-serialisable result dict, or raises ``JobFailed`` for a
        failure with a user-safe message. Concurrency: argument, else per-type setting, else default.
        """
        if job_type in self._types:
            raise ValueError(f"job type {job_type!r} is already registered")
        limit = concurrency or self._concurrency_by_type.get(job_type) or self._default_concurrency
        self._types[job_type] = _JobType(func, limit)

    @property
    def job_types(self) -> tuple[str, ...]:
        """Registered job type names."""
        return tuple(self._types)

    @property
    def accepting(self) -> bool:
        """False once shutdown started: ``submit`` answers 503."""
        return self._accepting

    def running_count(self) -> int:
        """Jobs whose task is alive."""
        return len(self._tasks)

    def active_count(self, owner_id: str) -> int:
        """Pending plus running jobs of one owner."""
        return self._active_by_owner.get(owner_id, 0)

    # -- submit and cancel ---------------------------------------------------------------------

    async def submit(self, job_type: str, owner_id: str, metadata: dict[str, Any],
                     params: dict[str, Any] | None = None) -> Job:
        """Create a ``pending`` job and queue it; it starts when its type has a free slot.

        Raises:
            Unavailable: shutting down (503) or the store is full.
            TooManyRequests: ``owner_id`` already has ``max_active_per_user`` active jobs (429).
            KeyError: unknown ``job_type`` (a programming error).
        """
        kind = self._types[job_type]
        if not self._accepting:
            raise Unavailable("The server is restarting; submit the job again shortly",
                              code="shutting_down", retry_after=5)
        if self.active_count(owner_id) >= self._max_active_per_user:
            raise TooManyRequests(f"You already have {self._max_active_per_user} jobs pending or running; "
                                  "wait for one to finish", code="too_many_active_jobs", retry_after=5)
        now = utcnow()
        job = await self._store.create(Job(
            job_id=new_job_id(), job_type=job_type, owner_id=owner_id, metadata=dict(metadata),
            params=dict(params or {}), created_at=now, updated_at=now,
            progress_message="Queued", queue_position=len(kind.queue) + 1,
        ))
        self._active_by_owner[owner_id] = self.active_count(owner_id) + 1
        kind.queue.append(job.job_id)
        log.info("job created job_id=%s job_type=%s user_id=%s", job.job_id, job_type, owner_id)
        await self._pump(job_type)
        return await self._current(job.job_id)

    async def cancel(self, job_id: str) -> Job:
        """Cancel a pending or running job; it ends ``failed`` with ``error_code="cancelled"``.

        Returns the job in its terminal state. Raises ``Conflict`` (409, ``already_finished``)
        when the job had already finished, including when it completed while being cancelled.
        """
        job = await self._current(job_id)
        if job.is_terminal:
            raise Conflict("The job has already finished", code="already_finished")
        if job.status is JobStatus.PENDING and job_id not in self._tasks:
            self._types[job.job_type].queue.remove(job_id)
            await self._finish(job, "cancelled")
            await self._update_queue_positions(job.job_type)
            return await self._current(job_id)
        await self._stop_task(job_id, "cancelled")
        job = await self._current(job_id)
        if job.error_code != "cancelled":
            raise Conflict("The job finished before it could be cancelled", code="already_finished")
        return job

    # -- shutdown ------------------------------------------------------------------------------

    def stop_accepting(self) -> None:
        """Refuse new jobs from now on (first step of a graceful shutdown)."""
        self._accepting = False

    async def shutdown(self, grace_seconds: float = 0.0) -> None:
        """Stop: refuse new jobs, fail pending ones, give running ones ``grace_seconds`` to finish,
        then cancel the rest. Every job ends ``failed`` with ``error_code="interrupted"`` unless
        it finished in the grace period.
        """
        self.stop_accepting()
        for kind in self._types.values():
            while kind.queue:
                job = await self._current(kind.queue.popleft())
                await self._finish(job, "interrupted")
        if self._tasks and grace_seconds > 0:
            await asyncio.wait(list(self._tasks.values()), timeout=grace_seconds)
        await asyncio.gather(*(self._stop_task(job_id, "interrupted") for job_id in list(self._tasks)))

    # -- running -------------------------------------------------------------------------------

    async def _pump(self, job_type: str) -> None:
        kind = self._types[job_type]
        started = False
        while kind.queue and kind.running < kind.concurrency and self._accepting:
            job_id = kind.queue.popleft()
            kind.running += 1
            started = True
            self._tasks[job_id] = asyncio.get_running_loop().create_task(self._run(job_id, kind))
        if started:
            await self._update_queue_positions(job_type)

    async def _update_queue_positions(self, job_type: str) -> None:
        for position, job_id in enumerate(self._types[job_type].queue, start=1):
            job = await self._current(job_id)
            if job.queue_position != position:
                await self._store.update(job_id, queue_position=position)

    async def _run(self, job_id: str, kind: _JobType) -> None:
        deadline = asyncio.get_running_loop().call_later(self._timeout, self._on_deadline, job_id)
        started = time.monotonic()
        try:
            job = await self._store.update(job_id, status=JobStatus.RUNNING, started_at=utcnow(),
                                           queue_position=None, progress_message="Started")
            log.info("job started job_id=%s job_type=%s user_id=%s", job_id, job.job_type, job.owner_id)
            ctx = JobContext(job.job_id, job.job_type, job.metadata, job.params, self)
            result = await kind.func(ctx)
            await asyncio.shield(self._complete(job_id, result))
        except asyncio.CancelledError:
            reason = self._stop_reasons.get(job_id, "interrupted")
            await asyncio.shield(self._finish_by_id(job_id, reason))
            if job_id not in self._stop_reasons:
                raise  # cancelled by someone else (loop shutdown): let it propagate
        except JobFailed as failure:
            log.warning("job failed job_id=%s code=%s", job_id, failure.code)
            await asyncio.shield(self._finish_by_id(job_id, failure.code, failure.message))
        except Exception:
            log.exception("job crashed job_id=%s", job_id)
            await asyncio.shield(self._finish_by_id(job_id, "internal"))
        finally:
            deadline.cancel()
            await self._after_run(job_id, kind, time.monotonic() - started)

    async def _after_run(self, job_id: str, kind: _JobType, duration: float) -> None:
        if self._tasks.pop(job_id, None) is None:
            return  # already done
        self._stop_reasons.pop(job_id, None)
        kind.running -= 1
        job = await self._current(job_id)
        log.info("job finished job_id=%s job_type=%s user_id=%s outcome=%s duration=%.3fs", job_id,
                 job.job_type, job.owner_id, job.error_code or job.status.value, duration)
        if self._accepting:
            await self._pump(job.job_type)

    def _on_deadline(self, job_id: str) -> None:
        task = self._tasks.get(job_id)
        if task is not None and job_id not in self._stop_reasons:
            self._stop_reasons[job_id] = "timeout"
            task.cancel()

    async def _stop_task(self, job_id: str, reason: str) -> None:
        task = self._tasks.get(job_id)
        if task is None:
            return
        reason = self._stop_reasons.setdefault(job_id, reason)
        task.cancel()
        await asyncio.wait({task})  # never raises; the task writes the terminal state itself
        if job_id in self._tasks:
            # Cancelled before its first step, so its body never ran: finish it here.
            await self._finish_by_id(job_id, reason)
            job = await self._current(job_id)
            await self._after_run(job_id, self._types[job.job_type], 0.0)

    async def _complete(self, job_id: str, result: dict[str, Any]) -> None:
        try:
            result_json = encode_result(result)
        except (TypeError, ValueError):
            log.exception("job result is not JSON-serialisable job_id=%s", job_id)
            await self._finish_by_id(job_id, "internal")
            return
        job = await self._store.update(job_id, status=JobStatus.COMPLETED, result_json=result_json,
                                       completed_at=utcnow(), progress=100, progress_message="Completed")
        self._release(job)

    async def _finish_by_id(self, job_id: str, code: str, message: str | None = None) -> None:
        await self._finish(await self._current(job_id), code, message)

    async def _finish(self, job: Job, code: str, message: str | None = None) -> None:
        if job.is_terminal:
            return
        job = await self._store.update(job.job_id, status=JobStatus.FAILED, error_code=code,
                                       error=message or _MESSAGES.get(code, _MESSAGES["internal"]),
                                       completed_at=utcnow(), queue_position=None)
        self._release(job)

    def _release(self, job: Job) -> None:
        remaining = self.active_count(job.owner_id) - 1
        if remaining > 0:
            self._active_by_owner[job.owner_id] = remaining
        else:
            self._active_by_owner.pop(job.owner_id, None)

    async def _report_progress(self, job_id: str, percent: int, message: str, code: str | None = None,
                               params: dict[str, Any] | None = None) -> None:
        job = await self._current(job_id)
        if job.status is not JobStatus.RUNNING or (job.progress == percent and job.progress_message == message
                                                   and job.progress_code == code and job.progress_params == params):
            return
        try:
            await self._store.update(job_id, progress=percent, progress_message=message,
                                     progress_code=code, progress_params=params)
        except InvalidTransition:
            pass  # finished meanwhile (cancel, deadline): progress no longer matters

    async def _current(self, job_id: str) -> Job:
        job = await self._store.get(job_id)
        if job is None:
            raise KeyError(job_id)
        return job
