"""The job store on Redis (>= 6.2) or Valkey (>= 7.2): jobs shared by every process and host, kept
across restarts and deploys (issue 13). Key layout, what expires and memory per job: ``docs/redis.md``.

A job is one string key ``j:{id}`` (UUID ids compact: 17 bytes): a header the Lua script reads and
rewrites (version, number, status, type, owner, dedupe key) and the record this module encodes
(``_encode``: short-keyed JSON, raw deflate with a preset dictionary when over ``COMPRESS_ABOVE``).
Jobs stored by the previous release (a hash ``job:{id}``) are still read, and move at their next write.

Every change is one Lua script (``redis_store.lua``): the transition guard (a compare-and-set on
the job's version, checked against the state this process read), the version bump, the queue and
index changes, the change-feed ``ZADD`` and the wake-up ``PUBLISH`` happen together, so two
processes can never both move one job out of ``running`` and no reader sees a version without its
change-feed entry.

Commands and costs per operation (n = jobs in the structure touched; "a change" below is ``INCR
seq``, ``ZADD feed`` and ``ZADD feed:{owner}`` (each trimmed by ``ZPOPMIN`` past its cap),
``HINCRBY meta:{owner} seq`` and ``PUBLISH changes``):

- ``get``: one script, ``GET j:{id}`` (+ ``ZRANK`` of the type's queue for a pending job): O(1), or
  O(log n) when pending. A finished job is then kept in this process's cache
  (``FINISHED_CACHE_BYTES``, oldest dropped first): finished jobs never change, so its next reads
  cost no round trip. A removal (expiry or eviction, in any process) is published on ``removed`` and
  drops it from every process's cache; a read that crossed a removal is not cached; a job past its
  retention is not answered from the cache; a lost or re-made subscription connection clears it.
- ``create``: ``HGET meta:{owner} active``, ``ZCARD all``, ``INCR number``, ``SET j:{id}``, ``ZADD``
  of ``all``, ``owner:{owner}`` and the type's queue (``INCR ticket:{type}``), ``ZINCRBY owners``,
  ``HINCRBY`` of ``meta:{owner}``, a change, ``PUBLISH queued``: O(log n). When full, the eviction
  reads ``ZREVRANGEBYSCORE owners`` (owners over their fair share) and ``ZRANGE done:{owner}`` first.
  With a ``dedupe_key``, ``GET dedupe:<key>`` + ``GET`` of its holder first (an active holder is
  returned) and ``SET`` of the key after; the job's end or removal ``DEL``s it. Same script: atomic.
- ``put_value`` / ``delete_value``: one script, ``GET`` + ``SET PX`` / ``DEL`` of ``kv:<key>``;
  ``get_value``: ``GET``. O(1); the values expire by Redis TTL.
- ``update``: read, then one script: ``GET`` + ``SET j:{id}`` and a change, plus ``ZREM`` of the
  queue on leaving ``pending``, and on the job's end ``ZREM leases``, ``HDEL lease_owner``,
  ``HINCRBY meta:{owner} active -1``, ``ZADD done:{owner}`` and ``ZADD expiry LT``: O(log n).
  Retried on a version conflict.
- ``claim``: ``TIME``, ``ZPOPMIN`` of the type's queue, ``ZADD leases``, ``HSET lease_owner``, then the
  ``update`` to ``running``; the first ``NOTIFIED_POSITIONS`` queued jobs get a version bump
  (``GET`` + ``SET`` + a change each): O(log n + 10).
- ``requeue``: ``GET`` + ``SET j:{id}``, ``ZREM leases``, ``HDEL lease_owner``, ``ZADD`` at the front
  of the queue, a change, the position bumps, ``PUBLISH queued``: O(log n + 10).
- ``list_jobs``: ``ZREVRANGEBYSCORE`` on the owner's (or every) job index and a ``GET`` per job, in
  batches of ``_PAGE_BATCH``: O(jobs read).
- ``changes_since``: ``ZRANGEBYSCORE`` of the owner's (or the store's) change feed after the cursor
  and a ``GET`` per job: O(changes returned), at most ``FEED_PAGE`` per read.
- ``expire``: ``ZRANGEBYSCORE expiry`` (owners with a job due, oldest first), ``ZRANGEBYSCORE
  done:{owner}`` of each, then per job ``DEL``, ``ZREM`` from its five indexes, ``SET
  tomb:{id} EX``, ``ZADD``/``ZREM expiry`` (the owner's next oldest), ``PUBLISH removed``: O(expired
  x log n).

The work queue is a sorted set per job type scored by an enqueue ticket, with leases in a sorted
set scored by expiry (rather than a Stream consumer group or ``BLMOVE`` lists): ``ZRANK`` gives the
exact ``queue_position`` on read in O(log n), a cancelled queued job leaves in O(log n) (``LREM`` is
O(n) and a Stream entry cannot be ranked), and a job handed back at shutdown goes to the front.
Idle workers learn of new work from one ``PUBLISH`` per queued job and poll once a second as a
fallback. Notifications come from one pub/sub subscription per process, fanned out to local
subscribers; after a reconnection the changes of the gap are replayed from the change feed.

A Redis that refuses connections fails a call at once (two retries on a fresh connection); one that
stops answering fails it after ``SOCKET_TIMEOUT`` (never retried), and then every call at once until
it answers a PING again; the subscription notices the silence by its heartbeat (``docs/redis.md``,
*When Redis stops answering*). Lease ends are on Redis's clock (``TIME`` in the scripts).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
import sys
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from importlib import resources
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.clock import utcnow
from server.error_codes import ErrorCode
from server.errors import InvalidInput, Unavailable
from server.jobs import frozen
from server.jobs.errors import InvalidTransition, TooManyActiveJobs
from server.jobs.models import Job, JobStatus
from server.jobs.store import (
    ALL,
    FEED_PAGE,
    CommitInProgress,
    CursorExpired,
    JobPage,
    JobQuery,
    LocalSubscribers,
    StoreLocation,
    StoreUnavailable,
    check_update,
)

log = logging.getLogger(__name__)

_SCRIPT = resources.files("server.jobs").joinpath("redis_store.lua").read_text(encoding="utf-8")
_CAS_RETRIES = 20
_PAGE_BATCH = 200
_RECONNECT_MAX_SECONDS = 5.0
FEED_MAX = 100_000  # jobs in the all-jobs change feed; a cursor older than the oldest change left answers 410
OWNER_FEED_MAX = 10_000  # jobs in one owner's change feed
COMPRESS_ABOVE = 512  # record length (characters) above which it is stored compressed
# Bytes of finished jobs cached per process (estimated by ``_held_bytes``): ~4,900 jobs with 2 KB
# results (the 5,000-job bound of before), ~400 with 20,000-character Hebrew results. 16 MB x
# WEB_CONCURRENCY stays a small share of a 512 MB dyno; a job read again after being pushed out
# costs one round trip more, not an error.
FINISHED_CACHE_BYTES = 16 * 1024 * 1024
# Bytes of a cached job besides its texts: tracemalloc measured 1,130 per decoded finished job with a
# two-key metadata and no result (the dataclass, its datetimes and dicts), + the cache's entry.
_JOB_OVERHEAD = 1_300
POOL_SIZE = 32  # connections per process; each store call holds one for one round trip
SOCKET_TIMEOUT = 4.0  # seconds a command may go unanswered before Redis counts as stalled
CALL_SECONDS = 5.0  # seconds a store call may take in all (waiting for a pooled connection included)
_PROBE_SECONDS = 0.5  # while stalled: how often Redis is pinged to learn it answers again
HEARTBEAT_SECONDS = 5.0  # a silent subscription is pinged after this long, and lost if still silent after as long
_NOT_REACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
_T = TypeVar("_T")


def masked_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    netloc = f"{user}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def host_port(url: str) -> str:
    """The ``host:port`` a Redis URL points at (port 6379 when absent)."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


# How the record after a stored job's header is encoded (its first character; see pack_job):
_LEGACY = "1"  # the previous release's record (``_decode_legacy``): all fields, zlib when not JSON
_PLAIN = "2"  # the short-keyed JSON of ``_record``
_DEFLATED = "3"  # the same, raw deflate with ``_ZDICT`` (a new dictionary needs a new character)
# Preset dictionary for raw deflate: what every record repeats (keys, time stamps, JSON inside a
# JSON string), so a record's first occurrences cost a back-reference instead of literals.
_ZDICT = (b'"Queued","Started","Completed",{"m":{"case_id":"","kind":""},"p":{},"e":"","ec":"cancelled",'
          b'"ca":"2026-01-01T00:00:00.000000+00:00","ua":"2026-","sa":"2026-","xa":"2026-","pr":100,'
          b'"pm":"","pc":"","pp":{},"a":1,"c":true,"r":"{\\"\\": \\"\\", \\"\\": [\\"')
# Fields left out of a record when they hold their default (None for those not named).
_DEFAULTS: dict[str, Any] = {"p": {}, "pr": 0, "pm": "", "a": 1, "c": False}


def _record(job: Job) -> dict[str, Any]:
    """The job's fields that are not in the header, under short keys, defaults left out."""
    fields = {"m": job.metadata, "p": job.params, "e": job.error, "ec": job.error_code,
              "ca": _iso(job.created_at), "ua": _iso(job.updated_at), "sa": _iso(job.started_at),
              "xa": _iso(job.completed_at), "pr": job.progress, "pm": job.progress_message,
              "pc": job.progress_code, "pp": job.progress_params, "a": job.attempt, "c": job.committing,
              "r": job.result_json}
    return {key: value for key, value in fields.items() if key == "m" or value != _DEFAULTS.get(key)}


def _encode(job: Job) -> str:
    """The record the scripts store after ``job``'s header (which holds its version, number,
    status, type, owner and dedupe key): a format character, then ``_record`` as JSON, raw-deflated
    with ``_ZDICT`` when longer than ``COMPRESS_ABOVE`` (a record with a result). Returned as text
    that holds the compressed bytes through ``surrogateescape`` (the client's encoding error handler)."""
    text = json.dumps(_record(job), ensure_ascii=False, separators=(",", ":"))
    if len(text) <= COMPRESS_ABOVE:
        return _PLAIN + text
    packer = zlib.compressobj(6, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _ZDICT)
    packed = packer.compress(text.encode()) + packer.flush()
    return _DEFLATED + packed.decode("utf-8", "surrogateescape")


def unpack_job(job_id: str, stored: str, rank: Any) -> Job:
    """The job from its stored string (``P j:{id}``, as ``redis_store.lua`` packs it):
    ``"{version} {number} {status} {len}:{type}{len}:{owner}{len}:{dedupe key}{format}{record}"``,
    lengths in bytes. ``rank`` is its queue position ('' or None when it has none)."""
    raw = stored.encode("utf-8", "surrogateescape")
    version, number, status, rest = raw.split(b" ", 3)
    texts = []
    for _ in range(3):  # type, owner, dedupe key
        length, _, rest = rest.partition(b":")
        texts.append(rest[:int(length)].decode())
        rest = rest[int(length):]
    position = int(rank) if rank not in ("", None) else None
    form, body = rest[:1].decode(), rest[1:]
    if form == _LEGACY:
        return _decode_legacy(body, int(version), int(number), position)
    if form == _DEFLATED:
        unpacker = zlib.decompressobj(-15, _ZDICT)
        body = unpacker.decompress(body) + unpacker.flush()
    fields = json.loads(body)
    return Job(
        job_id=job_id, job_type=texts[0], owner_id=texts[1], metadata=fields["m"], params=fields.get("p", {}),
        status=JobStatus(status.decode()), result_json=fields.get("r"), error=fields.get("e"),
        error_code=fields.get("ec"), created_at=_dt(fields["ca"]),  # type: ignore[arg-type]
        updated_at=_dt(fields["ua"]),  # type: ignore[arg-type]
        started_at=_dt(fields.get("sa")), completed_at=_dt(fields.get("xa")), progress=fields.get("pr", 0),
        progress_message=fields.get("pm", ""), progress_code=fields.get("pc"), progress_params=fields.get("pp"),
        attempt=fields.get("a", 1), version=int(version), number=int(number), queue_position=position,
        committing=fields.get("c", False),
    )


def _decode_legacy(raw: bytes, version: int, number: int, position: int | None) -> Job:
    """A record written by the previous release (the ``j`` field of its job hash): JSON with every
    field, zlib-compressed when it does not start with ``{``."""
    if not raw.startswith(b"{"):
        raw = zlib.decompress(raw)
    data = json.loads(raw)
    return Job(
        job_id=data["id"], job_type=data["type"], owner_id=data["owner"], metadata=data["metadata"],
        params=data["params"], status=JobStatus(data["status"]), result_json=data["result"], error=data["error"],
        error_code=data["error_code"], created_at=_dt(data["created_at"]),  # type: ignore[arg-type]
        updated_at=_dt(data["updated_at"]),  # type: ignore[arg-type]
        started_at=_dt(data["started_at"]), completed_at=_dt(data["completed_at"]), progress=data["progress"],
        progress_message=data["progress_message"], progress_code=data.get("progress_code"),
        progress_params=data.get("progress_params"), attempt=data["attempt"], version=version,
        number=number, queue_position=position, committing="c" in data,
    )


def _row_job(row: list[Any]) -> Job | None:
    job_id, stored, rank = row[:3]
    return None if not stored else unpack_job(job_id, stored, rank)


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


async def cancel_and_wait(task: asyncio.Task[Any], *, every: float = 0.1) -> None:
    """Cancel ``task`` and return once it has ended, cancelling it again every ``every`` seconds.

    One cancel is not always enough: on Python 3.10 redis-py times its reads with ``async_timeout``,
    which turns a cancel that lands as its timeout fires into a plain ``TimeoutError`` (both arrive as
    one ``CancelledError``), so a loop around ``get_message(timeout=...)`` goes on. ``aclose`` once
    waited on such a subscription forever (a CI teardown hung 120 s). The task's own exception, if
    any, is retrieved and dropped: the task logs what matters itself. (Also when this wait is itself
    cancelled before the task ends: asyncio would log it as never retrieved.)"""
    try:
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=every)
    finally:
        task.add_done_callback(_drop_exception)


def _drop_exception(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _lease_ms(lease_until: float, now: float) -> int:
    """The lease the runner asked for as a duration (ms): the scripts add it to Redis's ``TIME``, so
    a lease is written and judged on one clock, whatever the hosts' clocks say. A lease that already
    ran out stays negative (it ended in the past): clamped to 0 it would end *now*, and a takeover
    judged in the same millisecond would not see it as expired. Rounded down, not toward zero: one that
    ran out less than 1 ms ago is -1 ms, not 0 (``int()`` made it end *now* again)."""
    return math.floor((lease_until - now) * 1000)


def _held_bytes(job: Job) -> int:
    """Estimated bytes a cached ``job`` holds: ``_JOB_OVERHEAD``, its texts as Python strings
    (``sys.getsizeof``: 1, 2 or 4 bytes a character, so a Hebrew result costs twice its length), and
    its metadata and parameters as their JSON text (a lower bound of the dicts' size). Computed once,
    when the job enters the cache."""
    texts = (job.result_json, job.error, job.progress_message)
    size = _JOB_OVERHEAD + sum(sys.getsizeof(text) for text in texts if text)
    return size + len(json.dumps([job.metadata, job.params, job.progress_params], default=str))


class _CallExpired(Exception):
    """A store call ran past its deadline, or was ended because Redis stopped answering."""


class _Deadlines:
    """Deadlines of the calls in flight, each of which can be ended at once (``expire_all``).

    (``asyncio.timeout`` with ``reschedule`` does this from Python 3.11; the server runs on 3.10.)
    """

    def __init__(self) -> None:
        self._timers: dict[asyncio.Task[Any], asyncio.TimerHandle] = {}
        self._expired: set[asyncio.Task[Any]] = set()

    def _expire(self, task: asyncio.Task[Any]) -> None:
        self._expired.add(task)
        task.cancel()

    def expire_all(self) -> None:
        """End every call in flight now: each raises ``_CallExpired``."""
        for task, timer in list(self._timers.items()):
            timer.cancel()
            self._expire(task)

    async def run(self, seconds: float, awaitable: Awaitable[_T]) -> _T:
        """``awaitable``'s result within ``seconds``; past them (or on ``expire_all``) it raises
        ``_CallExpired``. A cancellation from elsewhere stays a cancellation. (No context manager
        and no task of its own: this is on every round trip.)"""
        task = asyncio.current_task()
        assert task is not None  # noqa: S101  (always inside a task under Tornado/asyncio)
        self._timers[task] = asyncio.get_running_loop().call_later(seconds, self._expire, task)
        try:
            return await awaitable
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            if hasattr(task, "uncancel"):  # Python >= 3.11 counts cancellations
                task.uncancel()
            raise _CallExpired() from None
        finally:
            self._timers.pop(task).cancel()
            self._expired.discard(task)


class FinishedCache:
    """Finished jobs by id within a byte budget (``_held_bytes`` each), oldest dropped first.

    Finished jobs never change, so a cached copy answers a read without a round trip; the store
    drops a copy when the job's removal is heard. A job larger than the whole budget is not kept.
    Jobs are held as the memory store holds its finished ones (``server.jobs.frozen``: answer
    rendered once, untracked by the garbage collector), so a poll of a cached job encodes nothing.
    """

    def __init__(self, budget: int = FINISHED_CACHE_BYTES):
        self.budget = budget
        self.size = 0  # estimated bytes held
        self._jobs: dict[str, tuple[frozen.Frozen, int]] = {}  # insertion order: oldest first

    def __len__(self) -> int:
        return len(self._jobs)

    def get(self, job_id: str) -> Job | None:
        """The cached job (``rendered`` set), or None."""
        held = self._jobs.get(job_id)
        return frozen.thaw(held[0]) if held is not None else None

    def put(self, job: Job) -> None:
        """Keep ``job``, dropping the oldest jobs until the budget holds it."""
        size = _held_bytes(job)
        if size > self.budget:
            return
        self.pop(job.job_id)
        while self.size + size > self.budget:
            self.pop(next(iter(self._jobs)))
        self._jobs[job.job_id] = (frozen.freeze(job), size)
        self.size += size

    def pop(self, job_id: str) -> None:
        """Forget ``job_id`` (no error when it is not held)."""
        held = self._jobs.pop(job_id, None)
        if held is not None:
            self.size -= held[1]

    def clear(self) -> None:
        """Forget every job."""
        self._jobs.clear()
        self.size = 0


class RedisJobStore(LocalSubscribers):
    """Jobs in Redis, shared by every process using the same URL and prefix.

    Args:
        url: ``redis://`` or ``rediss://`` URL (``JOB_STORE_URL`` / ``REDIS_URL``); redis-py reads
            ``ssl_cert_reqs=none`` and the other options in its query.
        prefix: key prefix (``JOB_STORE_PREFIX``).
        ttl_seconds: retention of a finished job, and then of its tombstone (``JOB_TTL_SECONDS``).
        max_jobs: bound on stored jobs (``MAX_STORED_JOBS``), with the memory store's fair share.
        source: the setting ``url`` came from, named in error messages.
        clock: returns the current aware UTC datetime.
    """

    shared = True

    def __init__(self, url: str, *, prefix: str = "jobs:", ttl_seconds: float, max_jobs: int,
                 source: str = "JOB_STORE_URL", clock: Callable[[], datetime] = utcnow):
        self.url = url
        self.source = source
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._max_jobs = max_jobs
        self._clock = clock
        # A blocking pool: a burst of requests waits for one of POOL_SIZE connections instead of
        # failing with "too many connections" (``_call`` bounds the wait with the call).
        # A pooled connection that died with a Redis restart fails its next command: retry it twice on a
        # fresh connection (every script is guarded by the job's version, so a repeated write is refused,
        # never applied twice) instead of answering 503 while Redis is in fact back. A timeout is not
        # retried: a Redis that stopped answering would cost each call three timeouts (15 s and more).
        pool = aioredis.BlockingConnectionPool.from_url(
            url, decode_responses=True, encoding_errors="surrogateescape",  # compressed records: see _encode
            socket_connect_timeout=3, socket_timeout=SOCKET_TIMEOUT, health_check_interval=15,
            max_connections=POOL_SIZE, timeout=CALL_SECONDS,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2, supported_errors=(RedisConnectionError,)))
        self._redis: aioredis.Redis = aioredis.Redis(connection_pool=pool)
        self._script = self._redis.register_script(_SCRIPT)
        LocalSubscribers.__init__(self)
        self._listener: asyncio.Task[None] | None = None
        self.finished = FinishedCache()
        self._removals = 0  # removals heard (and subscription losses): a read spanning one caches nothing
        self.feed_caps = (FEED_MAX, OWNER_FEED_MAX)  # (all jobs, one owner): tests lower them
        self._last_seq = 0
        self._connected = asyncio.Event()
        self._replay_due = False  # the subscription's connection came back on its own: replay the gap
        self.heartbeat = HEARTBEAT_SECONDS  # tests lower it
        self._heartbeat_channel = self._key(f"heartbeat:{secrets.token_hex(8)}")  # this process's own
        self._stalled = False  # a command went unanswered: calls fail at once until a PING is answered
        self._deadlines = _Deadlines()  # of the calls in flight
        self._probe: asyncio.Task[None] | None = None
        self._closed = False  # aclose() ran: a call that times out later starts no probe
        self.errors = 0  # store calls that failed for want of Redis (metrics)
        self.fanout = 0  # local subscriber calls made for changes heard on the subscription (metrics)

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, read (or set) the store's epoch and start the subscription.

        Raises ``StoreUnavailable`` naming the setting and ``host:port`` when Redis cannot be reached.
        """
        try:
            await self._redis.set(self._key("epoch"), secrets.token_hex(4), nx=True)  # names this data
            self._last_seq = int(await self._redis.get(self._key("seq")) or 0)
        except (*_NOT_REACHABLE, RedisError) as error:
            raise StoreUnavailable(f"{self.source} ({masked_url(self.url)}): cannot reach Redis at "
                                   f"{host_port(self.url)}: {type(error).__name__}") from None
        self._closed = self._stalled = False  # (a stall after an earlier aclose() started no probe to end it)
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen_forever())
            try:  # changes made once start() returns must reach this process's subscribers
                await asyncio.wait_for(self._connected.wait(), 5)
            except asyncio.TimeoutError:
                raise StoreUnavailable(f"{self.source} ({masked_url(self.url)}): no subscription to Redis at "
                                       f"{host_port(self.url)}") from None

    async def aclose(self) -> None:
        """Stop the subscription and close the connection pool.

        The probe is read after the subscription has ended, not before: a call that times out while
        it ends (a request in flight at shutdown, Redis stalled) starts a probe, which would otherwise
        be left pinging a closed pool forever. A call that times out once the store is closed starts
        none."""
        self._closed = True
        while (task := self._listener or self._probe) is not None:
            await cancel_and_wait(task)
            if task is self._listener:
                self._listener = None
            if task is self._probe:
                self._probe = None
        await self._redis.aclose()
        await self._redis.connection_pool.disconnect()

    def _key(self, name: str) -> str:
        return f"{self._prefix}{name}"

    async def _run(self, *args: Any) -> Any:
        return await self._call(lambda: self._script(keys=[], args=[args[0], self._prefix, *self.feed_caps, *args[1:]]))

    @property
    def stalled(self) -> bool:
        """True from a command Redis left unanswered (``SOCKET_TIMEOUT``) until it answers a PING."""
        return self._stalled

    async def _call(self, command: Callable[[], Awaitable[_T]]) -> _T:
        """``command()`` within ``CALL_SECONDS`` (the wait for a connection included); raises
        ``StoreUnavailable`` when Redis cannot be reached or does not answer, and at once while it is
        stalled, so a burst of requests is answered 503 together instead of each waiting its timeout."""
        if self._stalled:
            self.errors += 1
            raise StoreUnavailable()
        try:
            return await self._deadlines.run(CALL_SECONDS, command())
        except RedisTimeoutError:
            self._stall()
            self.errors += 1
            raise StoreUnavailable() from None
        except (*_NOT_REACHABLE, _CallExpired):  # refused, reset, or past the call's deadline
            self.errors += 1
            raise StoreUnavailable() from None

    def _stall(self) -> None:
        """Redis stopped answering: end the calls waiting on it now and probe it until it answers."""
        if self._stalled:
            return
        self._stalled = True
        log.warning("job store: Redis does not answer; failing calls until it does")
        self._deadlines.expire_all()
        if not self._closed:  # closed: nothing would ever end the probe
            self._probe = asyncio.get_running_loop().create_task(self._probe_until_answered())

    async def _probe_until_answered(self) -> None:
        while True:
            await asyncio.sleep(_PROBE_SECONDS)
            try:
                await self._deadlines.run(1.0, self._redis.ping())
            except (*_NOT_REACHABLE, RedisError, _CallExpired):
                continue
            self._stalled = False
            log.info("job store: Redis answers again")
            return

    # -- reads ---------------------------------------------------------------------------------

    async def get(self, job_id: str) -> Job | None:
        cached = self.finished.get(job_id)
        if cached is not None:
            if self._retained(cached):
                return cached
            self.finished.pop(job_id)
        removals = self._removals
        rows = await self._run("get", job_id)
        job = _row_job(rows[0])
        # A removal heard while the reply was on its way may be this job's (evicted meanwhile): the
        # reply is answered, not cached, so no process serves a removed job from its cache.
        if (job is not None and job.is_terminal and self._connected.is_set() and removals == self._removals
                and self._retained(job)):
            self.finished.put(job)
        return job

    def _retained(self, job: Job) -> bool:
        """True while a finished job is within its retention (``JOB_TTL_SECONDS`` after it ended)."""
        return job.completed_at is not None and (self._clock() - job.completed_at).total_seconds() < self._ttl

    async def _get_many(self, job_ids: list[str]) -> list[Job]:
        if not job_ids:
            return []
        rows = await self._run("get", *job_ids)
        return [job for job in map(_row_job, rows) if job is not None]

    async def removed_owner(self, job_id: str) -> str | None:
        return await self._get_string(f"tomb:{job_id}")

    async def _get_string(self, name: str) -> str | None:
        """``GET`` of the prefixed key ``name``; raises ``StoreUnavailable`` when Redis cannot answer."""
        value = await self._call(lambda: self._redis.get(self._key(name)))
        return str(value) if value is not None else None

    async def list_jobs(self, query: JobQuery) -> JobPage:
        key = self._key("all" if query.owner_id is None else f"owner:{query.owner_id}")
        before = f"({query.before}" if query.before is not None else "+inf"
        page: list[Job] = []
        while True:
            rows = await self._run("page", key, before, _PAGE_BATCH)
            for row in rows:
                job = _row_job(row)
                if job is None or not query.matches(job):
                    continue
                if len(page) == query.limit:
                    return JobPage(page, page[-1].number)
                page.append(job)
            if len(rows) < _PAGE_BATCH:
                return JobPage(page, None)
            before = f"({int(rows[-1][3])}"

    async def changes_since(self, owner_id: str | None, cursor: str) -> tuple[list[Job], str]:
        prefix, dash, seq = cursor.rpartition("-")
        if not (dash and seq.isascii() and seq.isdigit() and len(seq) <= 20):
            raise InvalidInput("'since' is not a change-feed cursor this server issued", code=ErrorCode.INVALID_SINCE)
        after = int(seq)
        head = await self._run("changes", owner_id or "", after, FEED_PAGE)
        current, removed, generation, floor, epoch, reached, *rows = head
        current, removed, floor = int(current), int(removed), int(floor)
        # The epoch is read with the feed: a Redis that lost its data (restart without persistence)
        # has another epoch, so no cursor of the old data is answered from the new.
        expected = epoch if owner_id is None else f"{epoch}.{generation}"
        fresh = owner_id is not None and after == 0 and prefix == f"{epoch}.0"
        if not epoch or (not fresh and (prefix != expected or after > current)):
            raise CursorExpired("The change feed cursor was not issued by this store; list the jobs again")
        if after < removed or after < floor:
            raise CursorExpired("The change feed cursor is too old; list the jobs again")
        jobs = [job for job in map(_row_job, rows) if job is not None]
        return jobs, f"{expected}-{int(reached)}"

    async def cursor(self, owner_id: str | None) -> str:
        _, epoch, position = await self._call(lambda: self._read_cursor(owner_id))
        if owner_id is None:
            return f"{epoch}-{int(position or 0)}"
        seq, generation = position
        return f"{epoch}.{generation or '0'}-{int(seq or 0)}"

    async def _read_cursor(self, owner_id: str | None) -> list[Any]:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key("epoch"), secrets.token_hex(4), nx=True)  # a Redis that lost its data
            pipe.get(self._key("epoch"))
            if owner_id is None:
                pipe.get(self._key("seq"))
            else:
                pipe.hmget(self._key(f"meta:{owner_id}"), ["seq", "gen"])
            return list(await pipe.execute())

    async def active_count(self, owner_id: str) -> int:
        return int(await self._call(lambda: self._redis.hget(self._key(f"meta:{owner_id}"), "active")) or 0)

    async def ping(self) -> bool:
        """True when Redis answers a PING; raises ``StoreUnavailable`` when it does not (at once while
        it is stalled)."""
        return bool(await self._call(self._redis.ping))

    # -- writes --------------------------------------------------------------------------------

    async def create(self, job: Job, *, max_active: int | None = None, dedupe_key: str | None = None) -> Job:
        job = replace(job, status=JobStatus.PENDING, version=1, queue_position=None)
        for _ in range(_CAS_RETRIES):
            result = await self._run("create", job.job_id, job.owner_id, job.job_type, _encode(job),
                                     -1 if max_active is None else max_active, self._max_jobs, self._tomb_ttl(),
                                     secrets.token_hex(3), dedupe_key or "")
            if result[0] != "exists":
                break
            # The holder, read just after (it may have ended meanwhile: it is still the answer).
            holder = await self.get(result[1])
            if holder is not None:
                return holder
        else:
            raise StoreUnavailable("The job store is changing too fast to create the job; try again")
        if result[0] == "too_many_active":
            raise TooManyActiveJobs(max_active or 0)
        if result[0] == "store_full":
            raise Unavailable("The server holds too many unfinished jobs; try again shortly",
                              code=ErrorCode.STORE_FULL, retry_after=30)
        if result[2]:
            log.warning("job store full: evicting finished job early job_id=%s", result[2])
        created = await self.get(job.job_id)
        return created if created is not None else replace(job, number=int(result[1]))

    def _tomb_ttl(self) -> int:
        return max(1, int(self._ttl))

    async def update(self, job_id: str, *, expect_attempt: int | None = None, **changes: Any) -> Job:
        changes.pop("queue_position", None)
        for _ in range(_CAS_RETRIES):
            current = await self.get(job_id)
            if current is None:
                raise KeyError(job_id)
            check_update(current, changes, expect_attempt)
            job = replace(current, **changes, version=current.version + 1, updated_at=self._clock(),
                          queue_position=None)
            completed = _ms(job.completed_at) if job.completed_at is not None else _ms(self._clock())
            result = await self._run("write", job_id, current.version, _encode(job), job.status.value, completed)
            if result[0] == "ok":
                job = replace(job, version=int(result[1]))
                return job if job.status is not JobStatus.PENDING else (await self.get(job_id) or job)
            if result[0] == "gone":
                raise KeyError(job_id)
        raise StoreUnavailable("The job is changing too often to update; try again")

    async def claim(self, job_type: str, *, worker: str, lease_until: float) -> Job | None:
        while True:
            job_id = await self._run("claim", job_type, worker, _lease_ms(lease_until, time.time()))
            if not job_id:
                return None
            try:
                return await self.update(job_id, status=JobStatus.RUNNING, started_at=self._clock(),
                                         progress_message="Started",
                                         progress_code=None, progress_params=None)
            except (InvalidTransition, KeyError):
                continue  # cancelled between the pop and the start: take the next one

    async def renew(self, worker: str, job_ids: list[str], lease_until: float) -> None:
        if job_ids:
            await self._run("renew", worker, _lease_ms(lease_until, time.time()), *job_ids)

    async def expired_leases(self, worker: str, now: float, lease_until: float) -> list[str]:
        # Expiry is decided by Redis's clock (TIME in the script), never by this host's ``now``.
        return list(await self._run("expired", worker, _lease_ms(lease_until, now)))

    async def requeue(self, job_id: str, *, from_attempt: int, attempt: int, message: str) -> Job:
        for _ in range(_CAS_RETRIES):
            current = await self.get(job_id)
            if current is None:
                raise KeyError(job_id)
            if current.is_terminal or current.attempt != from_attempt or current.queue_position is not None:
                raise InvalidTransition(f"Job is {current.status.value} in attempt {current.attempt}; not queued again")
            if current.committing:
                raise CommitInProgress("The job is saving its result; it is not run again")
            job = replace(current, status=JobStatus.PENDING, started_at=None, progress=0, progress_message=message,
                          attempt=attempt, updated_at=self._clock(), queue_position=None, committing=False)
            result = await self._run("requeue", job_id, current.version, _encode(job))
            if result[0] == "ok":
                return await self.get(job_id) or job
            if result[0] == "terminal":
                raise InvalidTransition("The job finished meanwhile")
            if result[0] == "gone":
                raise KeyError(job_id)
        raise StoreUnavailable("The job is changing too often to queue again; try again")

    async def expire(self, now: datetime, limit: int | None = None) -> int:
        cutoff = _ms(now) - int(self._ttl * 1000)
        removed = 0
        while limit is None or removed < limit:
            batch = 500 if limit is None else min(500, limit - removed)
            count = int(await self._run("expire", cutoff, batch, self._tomb_ttl()))
            removed += count
            if count < batch:
                break
        return removed

    # -- key/value with expiry ------------------------------------------------------------------

    async def put_value(self, key: str, value: str, ttl_seconds: float, *, only_if_absent: bool = False) -> str | None:
        current = await self._run("kv_put", key, value, max(1, int(ttl_seconds * 1000)), "1" if only_if_absent else "0")
        return str(current) if current else None

    async def get_value(self, key: str) -> str | None:
        return await self._get_string(f"kv:{key}")

    async def delete_value(self, key: str, *, only_if: str | None = None) -> None:
        await self._run("kv_del", key, only_if or "")

    # -- notifications -------------------------------------------------------------------------


    @property
    def subscribed(self) -> bool:
        """True while the pub/sub subscription is up (tests wait for it)."""
        return self._connected.is_set()

    async def _listen_forever(self) -> None:
        """The one subscription of this process; reconnects with backoff and replays the gap."""
        delay = 0.1
        first = True
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            connection = None
            try:
                await pubsub.subscribe(self._key("changes"), self._key("queued"), self._key("removed"),
                                       self._heartbeat_channel)
                # redis-py reconnects and re-subscribes this connection by itself (the pool's Retry):
                # a gap this loop would not see, unless told (the callback runs after the re-subscribe).
                connection = pubsub.connection
                if connection is not None:  # (always, once subscribed)
                    connection.register_connect_callback(self._on_reconnect)
                self._connected.set()
                delay = 0.1
                if not first:
                    await self._replay_gap()
                first = False
                await self._receive(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # connection lost: wake everything that waits once it is back
                if self._connected.is_set():
                    log.warning("job store subscription lost error=%s", type(error).__name__)
                self._connected.clear()
                self._forget_finished()
                self.errors += 1
                await asyncio.sleep(delay)
                delay = min(_RECONNECT_MAX_SECONDS, delay * 2)
            finally:
                if connection is not None:  # it goes back to the pool: its next reconnect is no news
                    connection.deregister_connect_callback(self._on_reconnect)
                try:
                    await pubsub.aclose()
                except Exception:  # noqa: S110  (closing a broken connection may fail again)
                    pass

    async def _receive(self, pubsub: Any) -> None:
        """Deliver the subscription's messages until it fails. Silent for ``heartbeat`` seconds, the
        process publishes on its own heartbeat channel; not heard back within as long again, the
        subscription is lost (a Redis that stopped answering sends no error). (A PING on the
        subscription is no use: redis-py 8 drops or fails on its answer with ``decode_responses``.)"""
        clock = asyncio.get_running_loop().time
        heard, pinged = clock(), False
        while True:
            message = await pubsub.get_message(timeout=min(1.0, self.heartbeat))
            if message is not None:
                heard, pinged = clock(), False
                if message["type"] == "message" and message["channel"] != self._heartbeat_channel:
                    self._on_message(message["channel"], message["data"])
            if self._replay_due:
                self._replay_due = False
                await self._replay_gap()
            silent = clock() - heard
            if silent > 2 * self.heartbeat:
                raise RedisTimeoutError("the subscription did not hear its heartbeat")
            if silent > self.heartbeat and not pinged:
                await self._call(lambda: self._redis.publish(self._heartbeat_channel, "1"))
                pinged = True

    def _on_reconnect(self, connection: Any) -> None:
        """The subscription's connection came back (its channels subscribed again): what was
        published meanwhile was not heard."""
        log.warning("job store subscription reconnected")
        self._forget_finished()
        self._replay_due = True

    def _forget_finished(self) -> None:
        """Removals may have gone unheard: empty the cache, and cache no read that was in flight."""
        self.finished.clear()
        self._removals += 1

    def _on_message(self, channel: str, data: str) -> None:
        if channel.endswith("queued"):
            self._queue_subscribers.notify(ALL, data)
            return
        if channel.endswith("removed"):
            self._removals += 1
            self.finished.pop(data)
            return
        seq, rank, job_id, stored = data.split("\n", 3)
        self._last_seq = max(self._last_seq, int(seq))
        self._dispatch(unpack_job(job_id, stored, rank))

    def _dispatch(self, job: Job) -> None:
        for key, subscribers in ((job.job_id, self._job_subscribers), (job.owner_id, self._owner_subscribers),
                                 (ALL, self._owner_subscribers)):
            if subscribers.has(key):
                self.fanout += 1
                subscribers.notify(key, job)

    async def _replay_gap(self) -> None:
        """After a reconnection: every job changed while the subscription was down is re-read and
        delivered, so no waiter misses a change. A gap longer than the feed re-reads every job a
        local waiter watches."""
        head = await self._run("changes", "", self._last_seq, FEED_PAGE)
        current, _, _, floor, _, reached, *rows = head
        if self._last_seq < int(floor) or self._last_seq > int(current) or int(reached) < int(current):
            jobs = await self._get_many([key for key in self._job_subscribers.keys() if isinstance(key, str)])
        else:
            jobs = [job for job in map(_row_job, rows) if job is not None]
        self._last_seq = int(current)
        for index, job in enumerate(jobs):
            self._dispatch(job)
            if index % 100 == 99:
                await asyncio.sleep(0)
        self._queue_subscribers.notify(ALL, "")  # and look for queued work
        log.info("job store subscription back; replayed changes=%d", len(jobs))



async def reachability_problem(settings: StoreLocation) -> str | None:
    """None when the Redis of ``settings`` answers a ``PING`` within 3 s, else a one-line message
    naming the setting and the ``host:port`` tried (credentials masked)."""
    client: aioredis.Redis = aioredis.from_url(settings.url, socket_connect_timeout=3, socket_timeout=3)
    try:
        await client.ping()
    except Exception as error:  # any failure is reported the same way, without its text (it may hold the URL)
        return (f"{settings.source} ({masked_url(settings.url)}): cannot reach Redis at {host_port(settings.url)} "
                f"({type(error).__name__})")
    finally:
        await client.aclose()
    return None
