"""The job runner: a registry of job types, per-type concurrency, leases, deadlines, cancellation,
progress and shutdown. It knows nothing about cases or LLMs.

The queue itself lives in the store (FIFO per type, shared by every process on a shared store):
``submit`` queues a job, and a runner with a free slot for its type ``claim``s it under a lease it
renews every ``lease_seconds / 3``. Every runner checks each second for leases that ran out (their
process died): such a job runs once more, elsewhere, with ``attempt`` 2, and ends ``failed`` /
``interrupted`` when it is lost a second time.

Every exit path of a job (success, ``JobFailed``, any other exception, deadline, cancel, server
shutdown) ends in a terminal state with ``completed_at`` set, or, on a shared store at shutdown,
back in the queue; the final write is shielded so a cancellation arriving at that moment cannot
skip it. A runner writes to a running job only in the attempt it holds, so a worker whose job was
taken over cannot overwrite the new attempt.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from server.clock import utcnow
from server.error_codes import ErrorCode
from server.errors import Conflict, Unavailable
from server.jobs.errors import InvalidTransition, JobFailed
from server.jobs.ids import new_job_id
from server.jobs.models import Job, JobStatus, encode_result
from server.jobs.store import MAX_ATTEMPTS, CommitInProgress, JobQuery, JobStore, StoreUnavailable

log = logging.getLogger(__name__)

HANDED_BACK = "Queued again: the server running it restarted"
TAKEN_OVER = "Queued again: the server running it stopped answering"
_NO_WRITE = "left"  # stop reason of a task whose job is no longer this worker's: write nothing
TICK_SECONDS = 1.0  # lease checks and the fallback queue poll
WRITE_RETRY_SECONDS = 120.0  # how long a job's final state is retried while the store is unreachable


def _runner_message(code: str) -> str:
    """The user-safe ``error`` of a job the runner itself ends (timeout, interrupted, internal);
    the log has the details."""
    try:
        return ErrorCode(code).job_error()
    except (ValueError, KeyError):
        return ErrorCode.INTERNAL.job_error()


@dataclass
class JobContext:
    """What a job function receives.

    Attributes:
        job_id, job_type, metadata: the job's identity and public metadata.
        params: the job's private input, given at submit.
        attempt: 1 for the first run, 2 when this run took over from a lost process.
    """

    job_id: str
    job_type: str
    metadata: dict[str, Any]
    params: dict[str, Any]
    _runner: JobRunner = field(repr=False)
    attempt: int = 1
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
        await self._runner._report_progress(self.job_id, self.attempt, value, message, code, params)

    async def commit(self) -> None:
        """Enter the commit point: call it just before the job's irreversible side effect (e.g. the
        write-back of a result to a case), and do the side effect only when it returns.

        One atomic store update marks the running attempt ``committing``, only while the job is still
        running in this attempt and not cancelled. From then on a cancel answers 409 and the job ends
        with what this attempt writes (normally ``completed``); a lease lost from now on ends the job
        ``failed``/``interrupted`` instead of running it again, so the side effect happens at most once.

        Raises:
            CommitRefused: the job was cancelled, timed out or taken over first (or the store stayed
                unreachable): do not perform the side effect.
        """
        await self._runner._enter_commit(self.job_id, self.attempt)


class CommitRefused(Exception):
    """``JobContext.commit`` was refused: the job is no longer this attempt's to finish."""


JobFunction = Callable[[JobContext], Awaitable[dict[str, Any]]]


@dataclass
class _JobType:
    func: JobFunction
    concurrency: int
    running: int = 0  # slots taken in this process (claims in flight included)


class JobRunner:
    """Runs registered job functions as tasks on the IOLoop.

    Args:
        store: the queue and where every state change goes.
        concurrency: default number of jobs of one type running at once in this process (``JOB_CONCURRENCY``).
        concurrency_by_type: per-type overrides.
        timeout_seconds: deadline of one job from its start (``JOB_TIMEOUT_SECONDS``).
        max_active_per_user: pending + running jobs one user may have (``MAX_ACTIVE_JOBS_PER_USER``).
        lease_seconds: how long a claimed job stays this process's without a renewal (``JOB_LEASE_SECONDS``).
    """

    def __init__(self, store: JobStore, *, concurrency: int = 4, concurrency_by_type: dict[str, int] | None = None,
                 timeout_seconds: float = 600.0, max_active_per_user: int = 10, lease_seconds: float = 30.0):
        self._store = store
        self._default_concurrency = concurrency
        self._concurrency_by_type = dict(concurrency_by_type or {})
        self._timeout = timeout_seconds
        self._max_active_per_user = max_active_per_user
        self._lease = lease_seconds
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._types: dict[str, _JobType] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}  # strong references: asyncio keeps weak ones
        self._attempts: dict[str, int] = {}
        self._stop_reasons: dict[str, str] = {}
        self._submitted: dict[str, str] = {}  # job id -> owner, for jobs submitted here and still active
        self._active_by_owner: dict[str, int] = {}
        self._background: set[asyncio.Task[object]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._accepting = True
        self._unsubscribe = [store.subscribe_owner(None, self._on_change), store.subscribe_queue(self._on_queued)]

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
        """Jobs whose task is alive in this process."""
        return len(self._tasks)

    def active_count(self, owner_id: str) -> int:
        """Pending plus running jobs of one owner submitted through this process (the limit itself
        is checked by the store, across processes)."""
        return self._active_by_owner.get(owner_id, 0)

    def start(self) -> None:
        """Start the lease ticker on the running loop: renew leases, take over lost jobs, and poll
        the queues once a second in case a wake-up was missed."""
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick_forever())

    # -- submit and cancel ---------------------------------------------------------------------

    async def submit(self, job_type: str, owner_id: str, metadata: dict[str, Any],
                     params: dict[str, Any] | None = None) -> Job:
        """Create a ``pending`` job and queue it; it starts when a process has a free slot for its type.

        Raises:
            Unavailable: shutting down (503) or the store is full or unreachable.
            TooManyRequests: ``owner_id`` already has ``max_active_per_user`` active jobs (429).
            KeyError: unknown ``job_type`` (a programming error).
        """
        job, _ = await self.submit_unique(job_type, owner_id, metadata, params, dedupe_key=None)
        return job

    async def submit_unique(self, job_type: str, owner_id: str, metadata: dict[str, Any],
                            params: dict[str, Any] | None, *, dedupe_key: str | None) -> tuple[Job, bool]:
        """``submit``, unless a pending or running job already holds ``dedupe_key`` (in any process
        sharing the store): that job is returned instead (see ``JobStore.create``).

        Returns:
            (the job, True when it was created by this call). Raises as ``submit``.
        """
        self._types[job_type]  # noqa: B018  (unknown types fail before anything is stored)
        if not self._accepting:
            raise Unavailable("The server is restarting; submit the job again shortly",
                              code=ErrorCode.SHUTTING_DOWN, retry_after=5)
        now = utcnow()
        new_id = new_job_id()
        job = await self._store.create(Job(
            job_id=new_id, job_type=job_type, owner_id=owner_id, metadata=dict(metadata),
            params=dict(params or {}), created_at=now, updated_at=now, progress_message="Queued",
        ), max_active=self._max_active_per_user, dedupe_key=dedupe_key)
        if job.job_id != new_id:
            return job, False
        if not job.is_terminal:
            self._submitted[job.job_id] = owner_id
            self._active_by_owner[owner_id] = self.active_count(owner_id) + 1
        log.info("job created job_id=%s job_type=%s user_id=%s", job.job_id, job_type, owner_id)
        if await self._pump(job_type) or self._store.shared:
            job = await self._current(job.job_id)  # it may have started (here, or elsewhere on a shared store)
        return job, True

    async def cancel(self, job_id: str) -> Job:
        """Cancel a pending or running job (in this process or another); it ends ``failed`` with
        ``error_code="cancelled"``. The process running it stops it when it hears of the change.

        Returns the job in its terminal state. Raises ``Conflict`` (409, ``already_finished``)
        when the job had already finished, including when it completed while being cancelled, and
        when it passed its commit point (``JobContext.commit``): its outcome is decided and it ends
        ``completed`` shortly. The same code as "finished" on purpose: for the client both mean
        "too late to cancel, read the job", and no client has to learn a new code.
        """
        try:
            job = await self._store.update(job_id, status=JobStatus.FAILED, error_code=ErrorCode.CANCELLED,
                                           error=ErrorCode.CANCELLED.job_error(), completed_at=utcnow())
        except CommitInProgress:
            raise Conflict("The job is saving its result and can no longer be cancelled",
                           code=ErrorCode.ALREADY_FINISHED) from None
        except InvalidTransition:
            raise Conflict("The job has already finished", code=ErrorCode.ALREADY_FINISHED) from None
        if job_id in self._tasks:
            await self._stop_task(job_id, _NO_WRITE)
        return job

    # -- shutdown ------------------------------------------------------------------------------

    def stop_accepting(self) -> None:
        """Refuse new jobs from now on (first step of a graceful shutdown)."""
        self._accepting = False

    async def shutdown(self, grace_seconds: float = 0.0) -> None:
        """Stop: refuse new jobs, give running ones ``grace_seconds`` to finish, then stop the rest.

        On a shared store, queued jobs stay queued and the jobs still running go back to the front
        of the queue for another process (``attempt`` unchanged). On the memory store every job
        ends ``failed`` with ``error_code="interrupted"`` unless it finished in the grace period.
        """
        self.stop_accepting()  # the ticker goes on renewing leases through the grace; it claims nothing now
        if not self._store.shared:
            await self._fail_queued()
        if self._tasks and grace_seconds > 0:
            await asyncio.wait(list(self._tasks.values()), timeout=grace_seconds)
        if self._store.shared:
            await asyncio.gather(*(self._hand_back(job_id) for job_id in list(self._tasks)))
        else:
            await asyncio.gather(*(self._stop_task(job_id, ErrorCode.INTERRUPTED) for job_id in list(self._tasks)))
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    async def _fail_queued(self) -> None:
        while True:
            page = await self._store.list_jobs(JobQuery(owner_id=None, status=JobStatus.PENDING, limit=200))
            for job in page.jobs:
                await self._finish(job, None, ErrorCode.INTERRUPTED)
            if len(page.jobs) < 200:
                return

    async def _hand_back(self, job_id: str) -> None:
        attempt = self._attempts.get(job_id, 1)
        await self._stop_task(job_id, _NO_WRITE)
        try:
            await self._store.requeue(job_id, from_attempt=attempt, attempt=attempt, message=HANDED_BACK)
            log.info("job handed back to the queue job_id=%s attempt=%d", job_id, attempt)
        except InvalidTransition:
            pass  # it finished meanwhile
        except Exception:  # store unreachable: the lease runs out and another process takes it
            log.warning("job hand-back failed; its lease will expire job_id=%s", job_id)

    # -- notifications -------------------------------------------------------------------------

    def _on_change(self, job: Job) -> None:
        """Store notification (any process): stop a local task whose job ended or moved elsewhere."""
        if job.is_terminal and self._submitted.pop(job.job_id, None) is not None:
            remaining = self.active_count(job.owner_id) - 1
            if remaining > 0:
                self._active_by_owner[job.owner_id] = remaining
            else:
                self._active_by_owner.pop(job.owner_id, None)
        task = self._tasks.get(job.job_id)
        if task is None or job.job_id in self._stop_reasons:
            return
        if job.is_terminal or job.status is JobStatus.PENDING or job.attempt != self._attempts.get(job.job_id):
            self._stop_reasons[job.job_id] = _NO_WRITE  # cancelled or taken over elsewhere
            task.cancel()

    def _on_queued(self, job_type: str) -> None:
        """Store notification: a job of ``job_type`` was queued ("": maybe any type, look at all)."""
        if not self._accepting:
            return
        for name in (job_type,) if job_type else tuple(self._types):
            kind = self._types.get(name)
            # With every slot taken, a finishing job pumps: no task per queued job during a burst (issue 19).
            if kind is not None and kind.running < kind.concurrency:
                self._spawn(self._pump(name))

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- running -------------------------------------------------------------------------------

    async def _pump(self, job_type: str) -> int:
        """Claim and start jobs of ``job_type`` while this process has free slots for it; returns
        how many started."""
        kind = self._types[job_type]
        started = 0
        while kind.running < kind.concurrency and self._accepting:
            kind.running += 1  # the slot is taken before the claim, so concurrent pumps cannot overshoot
            try:
                job = await self._store.claim(job_type, worker=self.worker_id, lease_until=time.time() + self._lease)
            except Exception as error:  # store unreachable: the ticker tries again in a second
                kind.running -= 1
                log.warning("claiming a job failed job_type=%s error=%s", job_type, type(error).__name__)
                return started
            if job is None:
                kind.running -= 1
                return started
            previous = self._tasks.get(job.job_id)
            if previous is not None:
                # This process's task of an older attempt (taken over while this process stalled, the
                # new attempt now claimed here) was told to stop: let it end first, so the two attempts
                # never share this process's bookkeeping of the job.
                await asyncio.wait({previous})
            self._attempts[job.job_id] = job.attempt
            self._tasks[job.job_id] = asyncio.get_running_loop().create_task(self._run(job, kind))
            started += 1
        return started

    async def _run(self, job: Job, kind: _JobType) -> None:
        job_id = job.job_id
        deadline = asyncio.get_running_loop().call_later(self._timeout, self._on_deadline, job_id)
        started = time.monotonic()
        try:
            log.info("job started job_id=%s job_type=%s user_id=%s attempt=%d", job_id, job.job_type,
                     job.owner_id, job.attempt)
            ctx = JobContext(job.job_id, job.job_type, job.metadata, job.params, self, job.attempt)
            result = await kind.func(ctx)
            await asyncio.shield(self._complete(job_id, job.attempt, result))
        except asyncio.CancelledError:
            reason = self._stop_reasons.get(job_id, ErrorCode.INTERRUPTED)
            if reason != _NO_WRITE:
                await asyncio.shield(self._finish_by_id(job_id, job.attempt, reason))
            if job_id not in self._stop_reasons:
                raise  # cancelled by someone else (loop shutdown): let it propagate
        except CommitRefused:
            log.info("job stopped at its commit point: cancelled or taken over first job_id=%s", job_id)
            await asyncio.shield(self._finish_by_id(job_id, job.attempt, ErrorCode.INTERNAL))  # refused: not ours
        except JobFailed as failure:
            log.warning("job failed job_id=%s code=%s", job_id, failure.code)
            await asyncio.shield(self._finish_by_id(job_id, job.attempt, failure.code, failure.message))
        except Exception:
            log.exception("job crashed job_id=%s", job_id)
            await asyncio.shield(self._finish_by_id(job_id, job.attempt, ErrorCode.INTERNAL))
        finally:
            deadline.cancel()
            await self._after_run(job_id, job.job_type, time.monotonic() - started)

    async def _after_run(self, job_id: str, job_type: str, duration: float) -> None:
        if self._tasks.pop(job_id, None) is None:
            return  # already done
        self._stop_reasons.pop(job_id, None)
        self._attempts.pop(job_id, None)
        self._types[job_type].running -= 1
        try:
            job = await self._store.get(job_id)
        except StoreUnavailable:
            job = None
        if job is not None:
            log.info("job finished job_id=%s job_type=%s user_id=%s outcome=%s duration=%.3fs", job_id,
                     job.job_type, job.owner_id, job.error_code or job.status.value, duration)
        if self._accepting:
            await self._pump(job_type)  # a store outage is logged there; the ticker tries again

    def _on_deadline(self, job_id: str) -> None:
        task = self._tasks.get(job_id)
        if task is not None and job_id not in self._stop_reasons:
            self._stop_reasons[job_id] = ErrorCode.TIMEOUT
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
            if reason != _NO_WRITE:
                await self._finish_by_id(job_id, self._attempts.get(job_id), reason)
            job = await self._current(job_id)
            await self._after_run(job_id, job.job_type, 0.0)

    async def _complete(self, job_id: str, attempt: int, result: dict[str, Any]) -> None:
        try:
            result_json = encode_result(result)
        except (TypeError, ValueError):
            log.exception("job result is not JSON-serialisable job_id=%s", job_id)
            await self._finish_by_id(job_id, attempt, ErrorCode.INTERNAL)
            return
        completed_at = utcnow()
        try:
            await self._retrying(job_id, lambda: self._store.update(
                job_id, expect_attempt=attempt, status=JobStatus.COMPLETED, result_json=result_json,
                completed_at=completed_at, progress=100, progress_message="Completed"))
        except InvalidTransition:
            log.info("job result dropped: cancelled or taken over meanwhile job_id=%s", job_id)

    async def _retrying(self, job_id: str, write: Callable[[], Awaitable[Job]]) -> Job | None:
        """Run a job's final write, retried with backoff for ``WRITE_RETRY_SECONDS`` while the
        store is unreachable (the job's work is done: losing its state would waste it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WRITE_RETRY_SECONDS
        delay = 0.2
        while True:
            try:
                return await write()
            except StoreUnavailable:
                if loop.time() + delay > deadline:
                    log.error("job state not written: the store stayed unreachable job_id=%s", job_id)
                    return None
                log.warning("job store unreachable; retrying the job's final write job_id=%s", job_id)
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)

    async def _finish_by_id(self, job_id: str, attempt: int | None, code: str, message: str | None = None) -> None:
        try:
            job = await self._retrying(job_id, lambda: self._current(job_id))
        except KeyError:  # the store lost the job (a Redis restarted without its data): nothing to finish
            log.warning("job vanished from the store before its final state job_id=%s", job_id)
            return
        if job is not None:
            await self._finish(job, attempt, code, message)

    async def _finish(self, job: Job, attempt: int | None, code: str, message: str | None = None) -> None:
        """Fail ``job`` with ``code``. ``attempt``: the attempt this process ran (the write lands only
        while that attempt still holds the job, so a job taken over or handed back meanwhile is not
        ours to end), or None for a job this process does not run (queued jobs at shutdown). It is
        passed in, not looked up, because the run's bookkeeping may be gone when the write happens."""
        if job.is_terminal:
            return
        completed_at = utcnow()
        try:
            await self._retrying(job.job_id, lambda: self._store.update(
                job.job_id, expect_attempt=attempt, status=JobStatus.FAILED, error_code=code,
                error=message or _runner_message(code), completed_at=completed_at))
        except InvalidTransition:
            pass  # finished or taken over meanwhile: that state stands

    async def _enter_commit(self, job_id: str, attempt: int) -> None:
        """``JobContext.commit``: mark attempt ``attempt`` committing, or raise ``CommitRefused``."""
        try:
            job = await self._retrying(job_id, lambda: self._store.update(job_id, expect_attempt=attempt,
                                                                          committing=True))
        except (InvalidTransition, KeyError):
            job = None
        if job is None:
            raise CommitRefused(job_id)

    async def _report_progress(self, job_id: str, attempt: int, percent: int, message: str, code: str | None = None,
                               params: dict[str, Any] | None = None) -> None:
        try:
            job = await self._current(job_id)
            if job.status is not JobStatus.RUNNING or (job.progress == percent and job.progress_message == message
                                                       and job.progress_code == code and job.progress_params == params):
                return
            await self._store.update(job_id, expect_attempt=attempt, progress=percent, progress_message=message,
                                     progress_code=code, progress_params=params)
        except (InvalidTransition, KeyError):
            pass  # finished meanwhile (cancel, deadline, takeover) or gone: progress no longer matters
        except StoreUnavailable:
            log.warning("progress not recorded: the job store is unreachable job_id=%s", job_id)

    async def _current(self, job_id: str) -> Job:
        job = await self._store.get(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    # -- leases --------------------------------------------------------------------------------

    async def _tick_forever(self) -> None:
        last_renewal = time.monotonic()
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                if time.monotonic() - last_renewal >= self._lease / 3:
                    await self._store.renew(self.worker_id, list(self._tasks), time.time() + self._lease)
                    last_renewal = time.monotonic()
                await self.take_over_lost()
                for job_type in self._types if self._accepting else ():
                    await self._pump(job_type)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # store unreachable: try again next tick
                log.warning("lease tick failed error=%s", type(error).__name__)

    async def take_over_lost(self) -> int:
        """Queue again (``attempt`` + 1) the running jobs whose lease ran out, or fail them
        ``interrupted`` after ``MAX_ATTEMPTS`` runs; returns how many were handled."""
        lost = await self._store.expired_leases(self.worker_id, time.time(), time.time() + self._lease)
        for job_id in lost:
            job = await self._store.get(job_id)
            if job is None or job.is_terminal:
                continue
            try:
                if job.attempt < MAX_ATTEMPTS:
                    await self._store.requeue(job_id, from_attempt=job.attempt, attempt=job.attempt + 1,
                                              message=TAKEN_OVER)
                    log.warning("job taken over from a lost worker job_id=%s attempt=%d", job_id, job.attempt + 1)
                else:
                    await self._store.update(job_id, status=JobStatus.FAILED, error_code=ErrorCode.INTERRUPTED,
                                             error=ErrorCode.INTERRUPTED.job_error(), completed_at=utcnow())
                    log.warning("job lost twice; failed job_id=%s", job_id)
            except CommitInProgress:
                await self._fail_lost_while_saving(job_id, job.attempt)
            except InvalidTransition:
                pass
        return len(lost)

    async def _fail_lost_while_saving(self, job_id: str, attempt: int) -> None:
        """A job lost after its commit point is not run again (its side effect may have happened):
        it ends ``failed``/``interrupted``, written as its attempt (the lease passed to this worker).
        Its old holder, if it was only stalled, finds the job finished and writes nothing more."""
        try:
            await self._store.update(job_id, expect_attempt=attempt, status=JobStatus.FAILED,
                                     error_code=ErrorCode.INTERRUPTED,
                                     error=ErrorCode.INTERRUPTED.job_error("while_saving"), completed_at=utcnow())
            log.warning("job lost while saving its result; failed, not run again job_id=%s", job_id)
        except InvalidTransition:
            pass  # its holder finished it meanwhile
