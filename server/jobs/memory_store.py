"""The default job store: jobs in process memory, lost on restart (as the seed says).

Costs: ``get`` O(1) plus O(log queued) for a pending job's position; listing an owner's jobs
O(that owner's jobs); ``expire`` O(expired jobs), because finished jobs wait in completion order
and retention is one fixed TTL; a change O(1) plus its subscribers; ``claim`` O(1) plus the
``NOTIFIED_POSITIONS`` queued jobs whose position it changes; eviction when full O(owners); a
``dedupe_key`` check and the key/value calls O(1) (expired values are dropped oldest first).
"""

from __future__ import annotations

import bisect
import logging
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from server.clock import utcnow
from server.error_codes import ErrorCode
from server.errors import InvalidInput, Unavailable
from server.jobs import frozen
from server.jobs.errors import InvalidTransition, TooManyActiveJobs
from server.jobs.models import Job, JobStatus
from server.jobs.store import (
    ALL,
    NOTIFIED_POSITIONS,
    CommitInProgress,
    CursorExpired,
    JobPage,
    JobQuery,
    LocalSubscribers,
    check_update,
    fair_share,
)

log = logging.getLogger(__name__)

NO_GENERATION = "0"  # the generation of an owner with no jobs: a cursor "<run>.0-0" has seen nothing


@dataclass
class _Owner:
    """One owner's jobs, change feed and counters; dropped when the owner has no job left."""

    generation: str = field(default_factory=lambda: secrets.token_hex(3))
    jobs: dict[str, None] = field(default_factory=dict)  # creation order
    # Completion order. A job leaves it oldest first (the sweep and eviction both take an owner's oldest
    # finished job), so a deque does: the collector walks it item by item, an OrderedDict node by node.
    finished: deque[str] = field(default_factory=deque)
    # job id -> seq, change order. A plain dict of strings and ints, which the garbage collector does not
    # track (an OrderedDict it walks entry by entry at every full collection: issue 19).
    changes: dict[str, int] = field(default_factory=dict)
    seq: int = 0  # this owner's change counter: their cursor reveals nothing about others
    removed_at: int = 0
    active: int = 0


class _Tombstones:
    """The owners of removed jobs by job id, the newest ``limit`` kept (to answer "expired").

    Spread over ``SHARDS`` plain dicts with a deque for their order, so no single table ever grows
    large: growing one dict rehashes it in a single step, and at 87,381 entries that step took 9 ms
    as an OrderedDict (4 ms as a dict), the longest slice of a sweep of 100,000 jobs (issue 19).
    """

    SHARDS = 64

    def __init__(self, limit: int):
        self._limit = limit
        self._shards: list[dict[str, str]] = [{} for _ in range(self.SHARDS)]
        self._order: deque[str] = deque()

    def add(self, job_id: str, owner_id: str) -> None:
        """Remember that ``owner_id``'s job ``job_id`` was removed; forget the oldest beyond ``limit``."""
        shard = self._shards[hash(job_id) % self.SHARDS]
        if job_id not in shard:
            self._order.append(job_id)
        shard[job_id] = owner_id
        while len(self._order) > self._limit:
            oldest = self._order.popleft()
            del self._shards[hash(oldest) % self.SHARDS][oldest]

    def get(self, job_id: str) -> str | None:
        """The owner of removed job ``job_id``, or None when it is not remembered."""
        return self._shards[hash(job_id) % self.SHARDS].get(job_id)


@dataclass
class _Queue:
    """One job type's FIFO queue: tickets sorted ascending, so a rank is one bisection."""

    tickets: list[int] = field(default_factory=list)
    by_ticket: dict[int, str] = field(default_factory=dict)
    ticket_of: dict[str, int] = field(default_factory=dict)
    next_ticket: int = 0

    def push_back(self, job_id: str) -> None:
        self.next_ticket += 1
        self._add(job_id, self.next_ticket)

    def push_front(self, job_id: str) -> None:
        self._add(job_id, (self.tickets[0] if self.tickets else self.next_ticket + 1) - 1)

    def _add(self, job_id: str, ticket: int) -> None:
        bisect.insort(self.tickets, ticket)
        self.by_ticket[ticket] = job_id
        self.ticket_of[job_id] = ticket

    def rank(self, job_id: str) -> int | None:
        """0-based rank, None when not queued."""
        ticket = self.ticket_of.get(job_id)
        return None if ticket is None else bisect.bisect_left(self.tickets, ticket)

    def remove(self, job_id: str) -> int | None:
        """Take ``job_id`` out; returns the rank it had."""
        rank = self.rank(job_id)
        if rank is not None:
            ticket = self.tickets.pop(rank)
            del self.by_ticket[ticket], self.ticket_of[job_id]
        return rank

    def ids(self, start: int, stop: int) -> list[str]:
        return [self.by_ticket[ticket] for ticket in self.tickets[start:stop]]


class _JobsView(Mapping[str, Job]):
    """Stored records read as ``Job`` (finished ones thawed)."""

    def __init__(self, records: dict[str, Job | frozen.Frozen]):
        self._records = records

    def __getitem__(self, job_id: str) -> Job:
        stored = self._records[job_id]
        return frozen.thaw(stored) if type(stored) is tuple else stored  # type: ignore[arg-type,return-value]

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)


class MemoryJobStore(LocalSubscribers):
    """Jobs in this process's memory (see the module docstring for costs).

    Args:
        ttl_seconds: how long a finished job is kept after it finished (``JOB_TTL_SECONDS``).
        max_jobs: bound on stored jobs (``MAX_STORED_JOBS``); when full, finished jobs are evicted
            early, each owner keeping a fair share first (``fair_share``); if none may go,
            ``create`` raises ``Unavailable``.
        max_tombstones: how many removed ids are remembered to answer "expired".
        clock: returns the current aware UTC datetime (tests pass a fake one).
        max_values: bound on the key/value entries (``put_value``); the oldest go first beyond it.
    """

    shared = False

    def __init__(self, ttl_seconds: float, max_jobs: int, *, max_tombstones: int | None = None,
                 clock: Callable[[], datetime] = utcnow, max_values: int = 100_000):
        self._ttl = timedelta(seconds=ttl_seconds)
        self._max_jobs = max_jobs
        self._clock = clock
        # Unfinished jobs as ``Job`` (queue_position: the last one notified, see _with_position); finished ones
        # frozen (``server.jobs.frozen``: untracked by the garbage collector, answer pre-rendered).
        self._records: dict[str, Job | frozen.Frozen] = {}
        self._owners: dict[str, _Owner] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()  # completion order
        self._tombstones = _Tombstones(max_tombstones if max_tombstones is not None else max_jobs)
        self._changes: dict[str, int] = {}  # every job, change order (admin feed); untracked, as _Owner.changes
        self._queues: dict[str, _Queue] = {}
        self._leases: dict[str, tuple[str, float]] = {}  # job id -> (worker, until)
        self._dedupe: dict[str, str] = {}  # dedupe key -> the active job holding it
        self._dedupe_of: dict[str, str] = {}  # job id -> its dedupe key, while active
        self._values: OrderedDict[str, tuple[str, float]] = OrderedDict()  # key -> (value, expires at, Unix s)
        self._max_values = max_values
        self._seq = 0
        self._removed_at = 0
        self._number = 0
        self._run_id = secrets.token_hex(4)
        LocalSubscribers.__init__(self)

    @property
    def _jobs(self) -> Mapping[str, Job]:
        """The stored jobs as ``Job`` by id: a read-only view (tests read the latest state here)."""
        return _JobsView(self._records)

    async def start(self) -> None:
        """Nothing to connect."""

    async def aclose(self) -> None:
        """Nothing to close."""

    # -- reads ---------------------------------------------------------------------------------

    async def get(self, job_id: str) -> Job | None:
        stored = self._records.get(job_id)
        if stored is None:
            return None
        return frozen.thaw(stored) if type(stored) is tuple else self._with_position(stored)  # type: ignore[arg-type]

    def _job(self, job_id: str) -> Job:
        """The stored job ``job_id`` as a ``Job`` (KeyError when unknown), position not filled in."""
        stored = self._records[job_id]
        return frozen.thaw(stored) if type(stored) is tuple else stored  # type: ignore[arg-type,return-value]

    def _with_position(self, job: Job) -> Job:
        """``job`` with its current ``queue_position``. A stored pending job carries the position it
        was last notified with (``_bump_positions``), None otherwise: when still right it is the answer
        as it is, so a position notification or a poll of a queued job makes no second copy (issue 19)."""
        if job.status is not JobStatus.PENDING:
            return job  # stored with None: every write that leaves "pending" clears it
        queue = self._queues.get(job.job_type)
        rank = queue.rank(job.job_id) if queue is not None else None
        position = None if rank is None else rank + 1
        return job if job.queue_position == position else replace(job, queue_position=position)

    async def removed_owner(self, job_id: str) -> str | None:
        return self._tombstones.get(job_id)

    async def list_jobs(self, query: JobQuery) -> JobPage:
        if query.owner_id is None:
            ids: Iterable[str] = self._records
        else:
            owner = self._owners.get(query.owner_id)
            ids = owner.jobs if owner is not None else {}
        page: list[Job] = []
        for job_id, stored in self._newest_first(ids, query.before):
            if self._matches(query, stored):
                if len(page) == query.limit:
                    return JobPage(page, page[-1].number)
                page.append(self._with_position(self._job(job_id)))
        return JobPage(page, None)

    @staticmethod
    def _matches(query: JobQuery, stored: Job | frozen.Frozen) -> bool:
        if type(stored) is tuple:
            return frozen.passes(stored, query.status, query.job_type, query.metadata)
        return query.matches(stored)  # type: ignore[arg-type]

    def _newest_first(self, ids: Iterable[str], before: int | None) -> Iterator[tuple[str, Job | frozen.Frozen]]:
        for job_id in reversed(ids):  # type: ignore[call-overload]  # dicts keep insertion order
            stored = self._records[job_id]
            number = frozen.number_of(stored) if type(stored) is tuple else stored.number  # type: ignore[union-attr]
            if before is None or number < before:
                yield job_id, stored

    async def changes_since(self, owner_id: str | None, cursor: str) -> tuple[list[Job], str]:
        owner = self._owners.get(owner_id) if owner_id is not None else None
        after = self._parse_cursor(owner_id, owner, cursor)
        if owner_id is None:
            order, removed_at = self._changes, self._removed_at
        elif owner is None:
            return [], await self.cursor(owner_id)
        else:
            order, removed_at = owner.changes, owner.removed_at
        if after < removed_at:
            raise CursorExpired("The change feed cursor is too old; list the jobs again")
        changed: list[Job] = []
        for job_id, seq in reversed(order.items()):
            if seq <= after:
                break
            changed.append(self._with_position(self._job(job_id)))
        changed.reverse()
        return changed, await self.cursor(owner_id)

    async def cursor(self, owner_id: str | None) -> str:
        # The run id keeps a cursor from before a restart from matching a new run's sequence; the
        # owner's generation does the same when the owner's jobs were all removed and counting restarted.
        if owner_id is None:
            return f"{self._run_id}-{self._seq}"
        owner = self._owners.get(owner_id)
        if owner is None:
            return f"{self._run_id}.{NO_GENERATION}-0"
        return f"{self._run_id}.{owner.generation}-{owner.seq}"

    def _parse_cursor(self, owner_id: str | None, owner: _Owner | None, cursor: str) -> int:
        prefix, dash, seq = cursor.rpartition("-")
        if not (dash and seq.isascii() and seq.isdigit() and len(seq) <= 20):
            raise InvalidInput("'since' is not a change-feed cursor this server issued", code=ErrorCode.INVALID_SINCE)
        after = int(seq)
        if owner_id is None:
            current, expected = self._seq, self._run_id
        elif after == 0 and prefix == f"{self._run_id}.{NO_GENERATION}":
            return 0  # taken when the owner had no jobs: everything since is new
        else:
            current = owner.seq if owner is not None else 0
            expected = f"{self._run_id}.{owner.generation if owner is not None else NO_GENERATION}"
        if prefix != expected or after > current:
            raise CursorExpired("The change feed cursor was not issued by this run of the server; list the jobs again")
        return after

    async def active_count(self, owner_id: str) -> int:
        owner = self._owners.get(owner_id)
        return owner.active if owner is not None else 0

    async def ping(self) -> bool:
        return True

    def __len__(self) -> int:
        return len(self._records)

    # -- writes --------------------------------------------------------------------------------

    async def create(self, job: Job, *, max_active: int | None = None, dedupe_key: str | None = None) -> Job:
        holder = self._dedupe.get(dedupe_key) if dedupe_key is not None else None
        if holder is not None:
            return await self._current(holder)
        owner = self._owners.get(job.owner_id)
        if max_active is not None and owner is not None and owner.active >= max_active:
            raise TooManyActiveJobs(max_active)
        if len(self._records) >= self._max_jobs:
            victim = self._eviction_victim(job.owner_id)
            if victim is None:
                raise Unavailable("The server holds too many unfinished jobs; try again shortly",
                                  code=ErrorCode.STORE_FULL, retry_after=30)
            log.warning("job store full: evicting finished job early job_id=%s", victim)
            self._remove(victim)
            owner = self._owners.get(job.owner_id)
        if owner is None:
            owner = self._owners[job.owner_id] = _Owner()
        self._number += 1
        job = replace(job, number=self._number, version=1, status=JobStatus.PENDING, queue_position=None)
        self._records[job.job_id] = job
        owner.jobs[job.job_id] = None
        owner.active += 1
        self._queues.setdefault(job.job_type, _Queue()).push_back(job.job_id)
        if dedupe_key is not None:
            self._dedupe[dedupe_key] = job.job_id
            self._dedupe_of[job.job_id] = dedupe_key
        shown = self._with_position(job)
        self._record_change(job, owner, shown)
        self._queue_subscribers.notify(ALL, job.job_type)
        # Subscribers are synchronous and the store's writes are coroutines, so nothing changed the
        # job since: the snapshot the subscribers saw is the answer (one copy per create, not two).
        return shown

    def _eviction_victim(self, creator: str) -> str | None:
        """The finished job to evict so ``creator`` can store one more (issue 11, item 7).

        An owner at or over their fair share evicts their own oldest finished job first; otherwise
        the oldest finished job of the owner furthest over the share goes.
        """
        share = fair_share(self._max_jobs, len(self._owners) + (creator not in self._owners))
        mine = self._owners.get(creator)
        if mine is not None and len(mine.jobs) >= share and mine.finished:
            return mine.finished[0]
        heavy = sorted((owner for owner in self._owners.values() if len(owner.jobs) > share and owner.finished),
                       key=lambda owner: len(owner.jobs), reverse=True)
        return heavy[0].finished[0] if heavy else None

    async def update(self, job_id: str, *, expect_attempt: int | None = None, **changes: Any) -> Job:
        current = self._job(job_id)
        check_update(current, changes, expect_attempt)
        changes.pop("queue_position", None)
        job = replace(current, **changes, version=current.version + 1, updated_at=self._clock(), queue_position=None)
        return self._apply(current, job)

    def _apply(self, current: Job, job: Job) -> Job:
        """Store ``job`` (the next state of ``current``): queue, lease, retention and feed follow."""
        owner = self._owners[job.owner_id]
        self._records[job.job_id] = frozen.freeze(job) if job.is_terminal else job
        if current.status is JobStatus.PENDING and job.status is not JobStatus.PENDING:
            self._dequeue(current)
        if job.is_terminal:
            self._leases.pop(job.job_id, None)
            self._release_dedupe(job.job_id)
            owner.active -= 1
            owner.finished.append(job.job_id)
            self._finished[job.job_id] = None
        shown = self._with_position(job)
        self._record_change(job, owner, shown)
        return shown

    def _dequeue(self, job: Job) -> None:
        """Take a job out of its queue; the jobs behind it that are now among the first
        ``NOTIFIED_POSITIONS`` get a new version so their waiters see the new position."""
        queue = self._queues[job.job_type]
        rank = queue.remove(job.job_id)
        if rank is not None:
            self._bump_positions(queue, rank)

    def _bump_positions(self, queue: _Queue, start: int) -> None:
        for rank, job_id in enumerate(queue.ids(start, NOTIFIED_POSITIONS), start):
            moved = self._job(job_id)
            moved = replace(moved, version=moved.version + 1, queue_position=rank + 1)  # stored with it: one copy
            self._records[job_id] = moved
            self._record_change(moved, self._owners[moved.owner_id], moved)

    async def claim(self, job_type: str, *, worker: str, lease_until: float) -> Job | None:
        queue = self._queues.get(job_type)
        if queue is None or not queue.tickets:
            return None
        current = self._job(queue.by_ticket[queue.tickets[0]])
        self._leases[current.job_id] = (worker, lease_until)
        now = self._clock()
        job = replace(current, status=JobStatus.RUNNING, started_at=now, updated_at=now, progress_message="Started",
                      progress_code=None, progress_params=None, queue_position=None,
                      version=current.version + 1)
        return self._apply(current, job)

    async def renew(self, worker: str, job_ids: list[str], lease_until: float) -> None:
        for job_id in job_ids:
            lease = self._leases.get(job_id)
            if lease is not None and lease[0] == worker:
                self._leases[job_id] = (worker, lease_until)

    async def expired_leases(self, worker: str, now: float, lease_until: float) -> list[str]:
        expired = [job_id for job_id, (_, until) in self._leases.items() if until < now]
        for job_id in expired:
            self._leases[job_id] = (worker, lease_until)
        return expired

    async def requeue(self, job_id: str, *, from_attempt: int, attempt: int, message: str) -> Job:
        current = self._job(job_id)
        if current.status is not JobStatus.RUNNING or current.attempt != from_attempt:
            raise InvalidTransition(f"Job is {current.status.value} in attempt {current.attempt}; not queued again")
        if current.committing:
            raise CommitInProgress("The job is saving its result; it is not run again")
        self._leases.pop(job_id, None)
        job = replace(current, status=JobStatus.PENDING, started_at=None, progress=0, progress_message=message,
                      attempt=attempt, version=current.version + 1, updated_at=self._clock(), committing=False,
                      queue_position=None)
        self._records[job_id] = job
        queue = self._queues.setdefault(job.job_type, _Queue())
        queue.push_front(job_id)
        self._record_change(job, self._owners[job.owner_id])
        self._bump_positions(queue, 1)
        self._queue_subscribers.notify(ALL, job.job_type)
        return self._with_position(job)

    async def expire(self, now: datetime, limit: int | None = None) -> int:
        removed = 0
        while self._finished and (limit is None or removed < limit):
            job_id = next(iter(self._finished))
            completed_at = frozen.completed_at(self._records[job_id])  # type: ignore[arg-type]  # finished: frozen
            if completed_at is not None and completed_at + self._ttl > now:
                break
            self._remove(job_id)
            removed += 1
        return removed

    def _release_dedupe(self, job_id: str) -> None:
        key = self._dedupe_of.pop(job_id, None)
        if key is not None and self._dedupe.get(key) == job_id:
            del self._dedupe[key]

    def _remove(self, job_id: str) -> None:
        stored = self._records.pop(job_id)
        owner_id = frozen.owner_of(stored) if type(stored) is tuple else stored.owner_id  # type: ignore[union-attr]
        self._release_dedupe(job_id)
        self._finished.pop(job_id, None)
        self._changes.pop(job_id, None)
        self._seq += 1
        self._removed_at = self._seq
        owner = self._owners[owner_id]
        del owner.jobs[job_id]
        if owner.finished and owner.finished[0] == job_id:
            owner.finished.popleft()
        elif job_id in owner.finished:  # not expected (see _Owner.finished), but never leave a stale id
            owner.finished.remove(job_id)
        owner.changes.pop(job_id, None)
        owner.seq += 1
        owner.removed_at = owner.seq
        if not owner.jobs:
            del self._owners[owner_id]  # a new generation starts if the owner comes back
        self._tombstones.add(job_id, owner_id)

    def _record_change(self, job: Job, owner: _Owner, shown: Job | None = None) -> None:
        """Put ``job`` last in the change feeds and tell its subscribers (``shown``: ``job`` with its
        queue position, when the caller has it already)."""
        self._seq += 1
        owner.seq += 1
        self._changes.pop(job.job_id, None)  # re-inserted last: change order
        self._changes[job.job_id] = self._seq
        owner.changes.pop(job.job_id, None)
        owner.changes[job.job_id] = owner.seq
        if self._job_subscribers.has(job.job_id) or self._owner_subscribers.has(job.owner_id) \
                or self._owner_subscribers.has(ALL):
            if shown is None:
                shown = self._with_position(job)
            self._job_subscribers.notify(job.job_id, shown)
            self._owner_subscribers.notify(job.owner_id, shown)
            self._owner_subscribers.notify(ALL, shown)

    async def _current(self, job_id: str) -> Job:
        return self._with_position(self._job(job_id))

    # -- key/value with expiry ------------------------------------------------------------------

    async def put_value(self, key: str, value: str, ttl_seconds: float, *, only_if_absent: bool = False) -> str | None:
        current = await self.get_value(key)
        if only_if_absent and current is not None:
            return current
        self._values[key] = (value, self._now() + ttl_seconds)
        self._values.move_to_end(key)
        while self._values:  # drop expired entries from the oldest, and any beyond the bound
            oldest = next(iter(self._values.values()))
            if oldest[1] > self._now() and len(self._values) <= self._max_values:
                break
            self._values.popitem(last=False)
        return None

    async def get_value(self, key: str) -> str | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        if entry[1] <= self._now():
            del self._values[key]
            return None
        return entry[0]

    async def delete_value(self, key: str, *, only_if: str | None = None) -> None:
        if only_if is None or await self.get_value(key) == only_if:
            self._values.pop(key, None)

    def _now(self) -> float:
        return self._clock().timestamp()

    # -- notifications -------------------------------------------------------------------------

