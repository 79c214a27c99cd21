"""The job store: the ``JobStore`` protocol and the default in-memory store.

Every change of a job goes through ``update`` and bumps its ``version``; subscribers of that job,
of its owner and of all jobs are told synchronously. The change sequence ``seq`` orders changes
store-wide and is the list change feed's cursor.
"""

from __future__ import annotations

import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from server.clock import utcnow
from server.errors import Gone, InvalidInput, Unavailable
from server.jobs.errors import InvalidTransition
from server.jobs.models import ALLOWED_TRANSITIONS, Job, JobStatus

log = logging.getLogger(__name__)

ChangeCallback = Callable[[Job], None]
Unsubscribe = Callable[[], None]


@dataclass(frozen=True)
class JobQuery:
    """A page request for ``JobStore.list``.

    ``owner_id`` None means every owner (admins). ``before`` is the creation ``number`` of the
    last job of the previous page (newest first). ``limit`` is at most 200 (checked by the caller).
    """

    owner_id: str | None
    status: JobStatus | None = None
    job_type: str | None = None
    case_id: str | None = None
    before: int | None = None
    limit: int = 50

    def matches(self, job: Job) -> bool:
        """True when ``job`` passes every filter of the query."""
        return (
            (self.status is None or job.status is self.status)
            and (self.job_type is None or job.job_type == self.job_type)
            and (self.case_id is None or job.case_id == self.case_id)
        )


@dataclass(frozen=True)
class JobPage:
    """One page of jobs, newest first; ``next_before`` is None on the last page."""

    jobs: list[Job]
    next_before: int | None


class CursorExpired(Gone):
    """A change-feed cursor older than the store can answer exactly (Kubernetes' 410 contract)."""

    default_code = "cursor_expired"


class JobStore(Protocol):
    """What the runner and the handlers need of a job store.

    An implementation shared by several processes must call subscribers in every process.
    """

    async def create(self, job: Job) -> Job:
        """Store a new job; raises ``Unavailable`` when full and nothing can be evicted."""

    async def get(self, job_id: str) -> Job | None:
        """Return the job, or None if unknown or removed."""

    async def removed_owner(self, job_id: str) -> str | None:
        """Owner of a job removed by retention, while its tombstone lasts; else None."""

    async def list_jobs(self, query: JobQuery) -> JobPage:
        """Return one page of jobs matching ``query``, newest first."""

    async def update(self, job_id: str, **changes: Any) -> Job:
        """Apply ``changes``, bump ``version`` and notify; raises ``InvalidTransition`` or ``KeyError``."""

    async def expire(self, now: datetime, limit: int | None = None) -> int:
        """Remove finished jobs whose retention ended before ``now`` (at most ``limit``); return how many."""

    async def changes_since(self, owner_id: str | None, cursor: str) -> tuple[list[Job], str]:
        """Jobs of ``owner_id`` (None: all) changed after ``cursor``, oldest change first, and the new cursor.

        Raises ``CursorExpired`` when the cursor cannot be answered exactly (a job of that owner was
        removed after it, or it comes from another run of the server), ``InvalidInput`` when it is
        not a cursor at all.
        """

    def cursor(self) -> str:
        """The current change-feed position (opaque text)."""

    def subscribe(self, job_id: str, callback: ChangeCallback) -> Unsubscribe:
        """Call ``callback(job)`` on every change of one job; returns the unsubscribe function."""

    def subscribe_owner(self, owner_id: str | None, callback: ChangeCallback) -> Unsubscribe:
        """Call ``callback(job)`` on every change of an owner's jobs (None: of all jobs)."""

    async def ping(self) -> bool:
        """True when the store answers (readiness)."""


class _Subscribers:
    """Callbacks by key; a change wakes only the callbacks registered under its key."""

    def __init__(self) -> None:
        self._by_key: dict[Any, set[ChangeCallback]] = {}

    def add(self, key: Any, callback: ChangeCallback) -> Unsubscribe:
        self._by_key.setdefault(key, set()).add(callback)

        def unsubscribe() -> None:
            callbacks = self._by_key.get(key)
            if callbacks is not None:
                callbacks.discard(callback)
                if not callbacks:
                    del self._by_key[key]

        return unsubscribe

    def notify(self, key: Any, job: Job) -> None:
        for callback in tuple(self._by_key.get(key, ())):
            try:
                callback(job)
            except Exception:  # one broken subscriber must not stop the others or the change
                log.exception("job change subscriber failed job_id=%s", job.job_id)

    def count(self) -> int:
        return sum(len(callbacks) for callbacks in self._by_key.values())


_ALL = object()  # subscriber key and change-order key for "every owner"


class MemoryJobStore:
    """The default store: jobs in process memory, lost on restart (as the seed says).

    Costs: ``get`` O(1); listing an owner's jobs O(that owner's jobs); ``expire`` O(expired jobs),
    because finished jobs wait in completion order and retention is one fixed TTL; a change O(1)
    plus its subscribers.

    Args:
        ttl_seconds: how long a finished job is kept after it finished (``JOB_TTL_SECONDS``).
        max_jobs: bound on stored jobs (``MAX_STORED_JOBS``); when full the oldest finished jobs
            are evicted early, and if none is finished ``create`` raises ``Unavailable``.
        max_tombstones: how many removed ids are remembered to answer "expired".
        clock: returns the current aware UTC datetime (tests pass a fake one).
    """

    def __init__(self, ttl_seconds: float, max_jobs: int, *, max_tombstones: int | None = None,
                 clock: Callable[[], datetime] = utcnow):
        self._ttl = timedelta(seconds=ttl_seconds)
        self._max_jobs = max_jobs
        self._max_tombstones = max_tombstones if max_tombstones is not None else max_jobs
        self._clock = clock
        self._jobs: dict[str, Job] = {}
        self._by_owner: dict[str, dict[str, None]] = {}  # creation order per owner
        self._finished: OrderedDict[str, None] = OrderedDict()  # completion order
        self._tombstones: OrderedDict[str, str] = OrderedDict()  # job id -> owner id
        self._change_order: dict[Any, OrderedDict[str, None]] = {_ALL: OrderedDict()}
        self._removed_at_seq: dict[Any, int] = {}
        self._seq = 0
        self._number = 0
        self._run_id = secrets.token_hex(4)
        self._job_subscribers = _Subscribers()
        self._owner_subscribers = _Subscribers()

    # -- reads ---------------------------------------------------------------------------------

    async def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    async def removed_owner(self, job_id: str) -> str | None:
        return self._tombstones.get(job_id)

    async def list_jobs(self, query: JobQuery) -> JobPage:
        ids: Iterable[str] = self._jobs if query.owner_id is None else self._by_owner.get(query.owner_id, {})
        page: list[Job] = []
        for job in self._newest_first(ids, query.before):
            if query.matches(job):
                if len(page) == query.limit:
                    return JobPage(page, page[-1].number)
                page.append(job)
        return JobPage(page, None)

    def _newest_first(self, ids: Iterable[str], before: int | None) -> Iterator[Job]:
        for job_id in reversed(ids):  # type: ignore[call-overload]  # dicts keep insertion order
            job = self._jobs[job_id]
            if before is None or job.number < before:
                yield job

    async def changes_since(self, owner_id: str | None, cursor: str) -> tuple[list[Job], str]:
        key = _ALL if owner_id is None else owner_id
        after = self._parse_cursor(cursor)
        if after < self._removed_at_seq.get(key, 0):
            raise CursorExpired("The change feed cursor is too old; list the jobs again")
        changed: list[Job] = []
        for job_id in reversed(self._change_order.get(key, {})):
            job = self._jobs[job_id]
            if job.seq <= after:
                break
            changed.append(job)
        changed.reverse()
        return changed, self.cursor()

    def cursor(self) -> str:
        # The run id keeps a cursor from before a restart from matching a new run's sequence.
        return f"{self._run_id}-{self._seq}"

    def _parse_cursor(self, cursor: str) -> int:
        run_id, _, seq = cursor.partition("-")
        if not (seq.isascii() and seq.isdigit()):
            raise InvalidInput("'since' is not a change-feed cursor this server issued", code="invalid_since")
        if run_id != self._run_id or int(seq) > self._seq:
            raise CursorExpired("The change feed cursor was not issued by this run of the server; list the jobs again")
        return int(seq)

    async def ping(self) -> bool:
        return True

    def __len__(self) -> int:
        return len(self._jobs)

    # -- writes --------------------------------------------------------------------------------

    async def create(self, job: Job) -> Job:
        if len(self._jobs) >= self._max_jobs and not self._evict_oldest_finished():
            raise Unavailable("The server holds too many unfinished jobs; try again shortly",
                              code="store_full", retry_after=30)
        self._seq += 1
        self._number += 1
        job = replace(job, seq=self._seq, number=self._number, version=1)
        self._jobs[job.job_id] = job
        self._by_owner.setdefault(job.owner_id, {})[job.job_id] = None
        self._record_change(job)
        return job

    async def update(self, job_id: str, **changes: Any) -> Job:
        current = self._jobs[job_id]
        new_status = changes.get("status", current.status)
        if new_status not in ALLOWED_TRANSITIONS[current.status]:
            raise InvalidTransition(f"Job is {current.status.value}; cannot become {JobStatus(new_status).value}")
        self._seq += 1
        job = replace(current, **changes, version=current.version + 1, seq=self._seq, updated_at=self._clock())
        self._jobs[job_id] = job
        if job.is_terminal:
            self._finished[job_id] = None
        self._record_change(job)
        return job

    async def expire(self, now: datetime, limit: int | None = None) -> int:
        removed = 0
        while self._finished and (limit is None or removed < limit):
            job_id = next(iter(self._finished))
            completed_at = self._jobs[job_id].completed_at
            if completed_at is not None and completed_at + self._ttl > now:
                break
            self._remove(job_id)
            removed += 1
        return removed

    def _evict_oldest_finished(self) -> bool:
        if not self._finished:
            return False
        job_id = next(iter(self._finished))
        log.warning("job store full: evicting finished job early job_id=%s", job_id)
        self._remove(job_id)
        return True

    def _remove(self, job_id: str) -> None:
        job = self._jobs.pop(job_id)
        self._finished.pop(job_id, None)
        owner_jobs = self._by_owner[job.owner_id]
        del owner_jobs[job_id]
        if not owner_jobs:
            del self._by_owner[job.owner_id]
        self._seq += 1
        for key in (_ALL, job.owner_id):
            order = self._change_order.get(key)
            if order is not None:
                order.pop(job_id, None)
                if not order and key is not _ALL:
                    del self._change_order[key]
            self._removed_at_seq[key] = self._seq
        self._tombstones[job_id] = job.owner_id
        if len(self._tombstones) > self._max_tombstones:
            self._tombstones.popitem(last=False)

    def _record_change(self, job: Job) -> None:
        for key in (_ALL, job.owner_id):
            order = self._change_order.setdefault(key, OrderedDict())
            order[job.job_id] = None
            order.move_to_end(job.job_id)
        self._job_subscribers.notify(job.job_id, job)
        self._owner_subscribers.notify(job.owner_id, job)
        self._owner_subscribers.notify(_ALL, job)

    # -- notifications -------------------------------------------------------------------------

    def subscribe(self, job_id: str, callback: ChangeCallback) -> Unsubscribe:
        return self._job_subscribers.add(job_id, callback)

    def subscribe_owner(self, owner_id: str | None, callback: ChangeCallback) -> Unsubscribe:
        return self._owner_subscribers.add(_ALL if owner_id is None else owner_id, callback)

    def subscriber_count(self) -> int:
        """Open subscriptions (job and owner), for tests and metrics."""
        return self._job_subscribers.count() + self._owner_subscribers.count()
