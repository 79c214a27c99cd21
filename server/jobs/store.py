"""The job store: the ``JobStore`` protocol, the query types both stores share, and ``open_store``.

Two implementations pass one contract suite (``tests/jobs/test_store_contract.py``):
``server.jobs.memory_store.MemoryJobStore`` (the default: one process, lost on restart) and
``server.jobs.redis_store.RedisJobStore`` (shared by every process and host, survives restarts).

Every change of a job bumps its ``version`` and reaches the subscribers of that job, of its owner
and of all jobs, in every process that shares the store. The store also holds the per-type FIFO
work queue: ``create`` queues a job, ``claim`` hands the oldest queued job of a type to a worker
under a lease, and ``queue_position`` is computed when a job is read (its rank in the queue), never
written into every queued job when one starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from server.error_codes import ErrorCode
from server.errors import Gone, Unavailable
from server.jobs.errors import InvalidTransition
from server.jobs.models import ALLOWED_TRANSITIONS, Job, JobStatus

log = logging.getLogger(__name__)

ChangeCallback = Callable[[Job], None]
QueueCallback = Callable[[str], None]
Unsubscribe = Callable[[], None]

NOTIFIED_POSITIONS = 10
"""Queued jobs whose position changes get a new version (and wake their waiters) only while they are
among the first ``NOTIFIED_POSITIONS`` of their queue (issue 19): a start costs O(10) writes, not
O(queued jobs). Positions further back are exact whenever read, but change without a notification."""

MAX_ATTEMPTS = 2
"""Runs of one job: the first, and one more after its process was lost (issue 13). A hand-back at
shutdown is not a lost run and does not count."""

FEED_PAGE = 1000
"""Most changes one change-feed read returns; the cursor it answers continues from there."""


class StoreLocation(Protocol):
    """Where the job store lives (``server.config.StoreSettings`` is one): the store needs these four
    values, not the settings module (which knows every feature)."""

    @property
    def url(self) -> str:
        """``memory://``, ``redis://`` or ``rediss://`` URL."""

    @property
    def prefix(self) -> str:
        """Key prefix in Redis."""

    @property
    def source(self) -> str:
        """The setting ``url`` came from, for messages."""

    @property
    def is_redis(self) -> bool:
        """True for a Redis URL."""


@dataclass(frozen=True)
class JobQuery:
    """A page request for ``JobStore.list_jobs``.

    ``owner_id`` None means every owner (admins). ``metadata``: (key, value) pairs a job's metadata
    must all hold (string equality), the generic filter features use for what they attach to their
    jobs (``GET /jobs?case_id=``). ``before`` is the creation ``number`` of the last job of the
    previous page (newest first). ``limit`` is at most 200 (checked by the caller).
    """

    owner_id: str | None
    status: JobStatus | None = None
    job_type: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    before: int | None = None
    limit: int = 50

    def matches(self, job: Job) -> bool:
        """True when ``job`` passes every filter of the query."""
        return (
            (self.status is None or job.status is self.status)
            and (self.job_type is None or job.job_type == self.job_type)
            and all(job.metadata.get(key) == value for key, value in self.metadata)
        )


@dataclass(frozen=True)
class JobPage:
    """One page of jobs, newest first; ``next_before`` is None on the last page."""

    jobs: list[Job]
    next_before: int | None


class CursorExpired(Gone):
    """A change-feed cursor older than the store can answer exactly (Kubernetes' 410 contract)."""

    default_code = ErrorCode.CURSOR_EXPIRED


def fair_share(max_jobs: int, owners: int) -> int:
    """Stored jobs each owner may keep before another owner may evict their finished jobs (issue 11).

    ``owners`` counts the owners holding jobs, including the one creating a job. At least 1.
    """
    return max(1, max_jobs // max(1, owners))


class JobStore(Protocol):
    """What the runner and the handlers need of a job store.

    ``shared`` is True when several processes use the store (their runners then hand jobs back to
    the queue at shutdown instead of failing them). An implementation shared by several processes
    calls subscribers in every process.
    """

    shared: bool

    async def start(self) -> None:
        """Connect and start delivering notifications (called once, before serving)."""

    async def aclose(self) -> None:
        """Stop notifications and close connections."""

    async def create(self, job: Job, *, max_active: int | None = None, dedupe_key: str | None = None) -> Job:
        """Store a new ``pending`` job and queue it at the back of its type's queue.

        ``dedupe_key``: at most one pending or running job holds a key. When another active job holds
        it, that job is returned instead and nothing is created (the caller tells by its ``job_id``);
        checked before ``max_active``. The key is released when its job ends or is removed. The check
        and the create are one atomic step, so concurrent creates in several processes make one job.

        Raises ``TooManyActiveJobs`` when the owner already has ``max_active`` pending or running
        jobs, ``Unavailable`` (``store_full``) when full and no finished job may be evicted (each
        owner keeps a fair share first, see ``fair_share``).
        """

    async def get(self, job_id: str) -> Job | None:
        """Return the job (``queue_position`` computed now), or None if unknown or removed."""

    async def removed_owner(self, job_id: str) -> str | None:
        """Owner of a job removed by retention, while its tombstone lasts; else None."""

    async def list_jobs(self, query: JobQuery) -> JobPage:
        """Return one page of jobs matching ``query``, newest first."""

    async def update(self, job_id: str, *, expect_attempt: int | None = None, **changes: Any) -> Job:
        """Apply ``changes``, bump ``version`` and notify, under the guard of ``check_update``.

        ``expect_attempt``: refuse unless the job is ``running`` in this attempt (a worker whose
        lease was taken over must not write). A job leaving ``pending`` leaves its queue; a job
        ending leaves its lease and starts its retention.

        Raises ``CommitInProgress`` (a write without ``expect_attempt`` to a committing job),
        ``InvalidTransition`` (not allowed from the current status, or the attempt moved on)
        or ``KeyError`` (unknown job).
        """

    async def claim(self, job_type: str, *, worker: str, lease_until: float) -> Job | None:
        """Take the oldest queued job of ``job_type``: it becomes ``running`` under a lease held by
        ``worker`` until ``lease_until`` (Unix seconds). None when the queue is empty."""

    async def renew(self, worker: str, job_ids: list[str], lease_until: float) -> None:
        """Extend the leases ``worker`` holds on ``job_ids`` to ``lease_until`` (Unix seconds)."""

    async def expired_leases(self, worker: str, now: float, lease_until: float) -> list[str]:
        """Ids of running jobs whose lease ended before ``now``; their leases pass to ``worker``
        until ``lease_until`` so only one process handles each."""

    async def requeue(self, job_id: str, *, from_attempt: int, attempt: int, message: str) -> Job:
        """Put a job still in attempt ``from_attempt`` back at the front of its queue as ``pending``
        with ``attempt`` (a hand-back at shutdown keeps it; a takeover raises it). Raises
        ``InvalidTransition`` when the job finished or moved to another attempt, ``CommitInProgress``
        when its attempt passed the commit point (running it again could repeat the side effect)."""

    async def expire(self, now: datetime, limit: int | None = None) -> int:
        """Remove finished jobs whose retention ended before ``now`` (at most ``limit``); return how many."""

    async def changes_since(self, owner_id: str | None, cursor: str) -> tuple[list[Job], str]:
        """Jobs of ``owner_id`` (None: all) changed after ``cursor``, oldest change first, and the new cursor.

        An owner's cursor counts that owner's changes only, so it tells nothing about other users.
        Raises ``CursorExpired`` when the cursor cannot be answered exactly (a job of that owner was
        removed after it, or it comes from another store or run), ``InvalidInput`` when it is not a
        cursor at all.
        """

    async def cursor(self, owner_id: str | None) -> str:
        """The current change-feed position of ``owner_id`` (None: of all jobs), as opaque text."""

    async def active_count(self, owner_id: str) -> int:
        """Pending plus running jobs of one owner."""

    def subscribe(self, job_id: str, callback: ChangeCallback) -> Unsubscribe:
        """Call ``callback(job)`` on every change of one job; returns the unsubscribe function."""

    def subscribe_owner(self, owner_id: str | None, callback: ChangeCallback) -> Unsubscribe:
        """Call ``callback(job)`` on every change of an owner's jobs (None: of all jobs)."""

    def subscribe_queue(self, callback: QueueCallback) -> Unsubscribe:
        """Call ``callback(job_type)`` whenever a job of that type is queued (in any process)."""

    async def ping(self) -> bool:
        """True when the store answers (readiness)."""

    async def put_value(self, key: str, value: str, ttl_seconds: float, *, only_if_absent: bool = False) -> str | None:
        """Keep ``value`` under ``key`` for ``ttl_seconds`` (a small generic key/value with expiry,
        shared like the jobs; e.g. ``Idempotency-Key`` answers).

        ``only_if_absent``: store only when no live value exists (atomic across processes). Returns
        None when stored, else the live value that was kept.
        """

    async def get_value(self, key: str) -> str | None:
        """The live value under ``key``, or None (absent or expired)."""

    async def delete_value(self, key: str, *, only_if: str | None = None) -> None:
        """Remove ``key``; with ``only_if``, only while its value still equals it (atomic)."""


class Subscribers:
    """Callbacks by key; a change wakes only the callbacks registered under its key."""

    def __init__(self) -> None:
        self._by_key: dict[Any, set[Callable[[Any], None]]] = {}

    def add(self, key: Any, callback: Callable[[Any], None]) -> Unsubscribe:
        """Register ``callback`` under ``key``; returns the function that removes it."""
        self._by_key.setdefault(key, set()).add(callback)

        def unsubscribe() -> None:
            callbacks = self._by_key.get(key)
            if callbacks is not None:
                callbacks.discard(callback)
                if not callbacks:
                    del self._by_key[key]

        return unsubscribe

    def notify(self, key: Any, value: Any) -> None:
        """Call every callback of ``key`` with ``value``; one that raises is logged and skipped."""
        for callback in tuple(self._by_key.get(key, ())):
            try:
                callback(value)
            except Exception:  # one broken subscriber must not stop the others or the change
                log.exception("store subscriber failed key=%s", key if isinstance(key, str) else "*")

    def has(self, key: Any) -> bool:
        """True when ``key`` has a callback."""
        return key in self._by_key

    def keys(self) -> list[Any]:
        """The keys with callbacks (a copy)."""
        return list(self._by_key)

    def count(self) -> int:
        """Registered callbacks."""
        return sum(len(callbacks) for callbacks in self._by_key.values())


ALL: Any = object()  # subscriber key for "every owner": never equal to a user id


class CommitInProgress(InvalidTransition):
    """The job passed its commit point: only its running attempt may end it now (a cancel is too late)."""


def check_update(current: Job, changes: dict[str, Any], expect_attempt: int | None) -> None:
    """The guard of every ``JobStore.update``: the status change must be allowed
    (``ALLOWED_TRANSITIONS``); a write of attempt ``expect_attempt`` only lands while that attempt
    is the one running (a worker that was taken over cannot overwrite the new run); and a job whose
    attempt entered its commit point (``committing``) is written only by a holder of that attempt
    (``expect_attempt`` given), so a cancel cannot end a job whose side effect is under way.

    The stores apply it atomically with the write (the memory store in one step of the loop, the
    Redis store as a compare-and-set on the version the guard read), so a commit and a cancel racing
    from two processes cannot both win.

    Raises:
        CommitInProgress: a write without ``expect_attempt`` to a committing job.
        InvalidTransition: another rule is broken.
    """
    new_status = JobStatus(changes.get("status", current.status))
    if new_status not in ALLOWED_TRANSITIONS[current.status]:
        raise InvalidTransition(f"Job is {current.status.value}; cannot become {new_status.value}")
    if expect_attempt is not None and (current.attempt != expect_attempt or current.status is not JobStatus.RUNNING):
        raise InvalidTransition("The job was taken over by another worker")
    if current.committing and expect_attempt is None and current.status is JobStatus.RUNNING:
        raise CommitInProgress("The job is saving its result")


class LocalSubscribers:
    """This process's subscribers of job, owner and queue changes, and the ``JobStore`` methods that
    register them: the same in every store (a shared store fans its change messages out to these)."""

    def __init__(self) -> None:
        self._job_subscribers = Subscribers()
        self._owner_subscribers = Subscribers()
        self._queue_subscribers = Subscribers()

    def subscribe(self, job_id: str, callback: ChangeCallback) -> Unsubscribe:
        return self._job_subscribers.add(job_id, callback)

    def subscribe_owner(self, owner_id: str | None, callback: ChangeCallback) -> Unsubscribe:
        return self._owner_subscribers.add(ALL if owner_id is None else owner_id, callback)

    def subscribe_queue(self, callback: QueueCallback) -> Unsubscribe:
        return self._queue_subscribers.add(ALL, callback)

    def subscriber_count(self) -> int:
        """Open subscriptions (job and owner), for tests and metrics."""
        return self._job_subscribers.count() + self._owner_subscribers.count()


class StoreUnavailable(Unavailable):
    """The shared store cannot be reached (503 ``store_unavailable`` with ``Retry-After``)."""

    default_code = ErrorCode.STORE_UNAVAILABLE

    def __init__(self, message: str = "The job store is unreachable; try again shortly"):
        super().__init__(message, code=ErrorCode.STORE_UNAVAILABLE, retry_after=5)


def open_store(settings: StoreLocation, *, ttl_seconds: float, max_jobs: int) -> JobStore:
    """The store ``settings.url`` names (no I/O: ``start()`` connects).

    Args:
        settings: ``JOB_STORE_URL`` / ``JOB_STORE_PREFIX``.
        ttl_seconds: ``JOB_TTL_SECONDS``; max_jobs: ``MAX_STORED_JOBS``.
    """
    if settings.is_redis:
        from server.jobs.redis_store import RedisJobStore

        return RedisJobStore(settings.url, prefix=settings.prefix, ttl_seconds=ttl_seconds, max_jobs=max_jobs,
                             source=settings.source)
    from server.jobs.memory_store import MemoryJobStore

    return MemoryJobStore(ttl_seconds=ttl_seconds, max_jobs=max_jobs)
