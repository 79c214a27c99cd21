"""What only the shared Redis store does: several processes (here: several store instances, each
with its own connections and subscription) see one set of jobs; nothing leaks when jobs expire; a
lost Redis connection is survived without missing a change."""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
import redis.asyncio as aioredis

from server.errors import Unavailable
from server.jobs.ids import new_job_id
from server.jobs.models import Job, JobStatus
from server.jobs.redis_store import RedisJobStore, host_port, masked_url
from server.jobs.store import CursorExpired, JobQuery
from tests.jobs.redis_server import RedisServer, require_redis_server
from tests.waiting import settle

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
COUNTERS = {"epoch", "seq", "number", "removed"}  # O(1) per deployment, not per job


def new_job(job_id: str, owner: str = "alice", job_type: str = "echo") -> Job:
    return Job(job_id=job_id, job_type=job_type, owner_id=owner, metadata={"n": job_id}, created_at=T0,
               updated_at=T0)


@pytest.fixture
def two_stores(redis_server, redis_prefix, io_loop):
    stores = [RedisJobStore(redis_server.url, prefix=redis_prefix, ttl_seconds=1, max_jobs=10_000) for _ in range(2)]
    yield stores
    for store in stores:
        io_loop.run_sync(store.aclose)


@pytest.mark.gen_test(timeout=30)
async def test_redis_store_change_in_one_process_wakes_subscribers_of_another(two_stores):
    a, b = two_stores
    await a.start()
    await b.start()
    heard: list[tuple[str, int, int | None]] = []
    b.subscribe_owner("alice", lambda job: heard.append((job.job_id, job.version, job.queue_position)))
    created = await a.create(new_job("j1"))
    await settle(lambda: ("j1", 1, 1) in heard, timeout=5)
    assert (await b.get("j1")) == created
    await a.update("j1", status=JobStatus.FAILED, error_code="cancelled", completed_at=T0)
    await settle(lambda: ("j1", 2, None) in heard, timeout=5)
    assert b.fanout >= 2


@pytest.mark.gen_test(timeout=30)
async def test_redis_store_expiry_leaves_no_key_or_index_entry_behind(two_stores, redis_server, redis_prefix):
    store = two_stores[0]
    await store.start()
    for n in range(60):  # ids the server mints (UUIDs: stored compact) and others (stored as they are)
        job_id = new_job_id() if n % 3 else f"j{n}"
        await store.create(new_job(job_id, owner=f"user{n % 7}", job_type=f"type{n % 2}"), dedupe_key=f"k{n}")
    while (job := await store.claim("type0", worker="w", lease_until=time.time() + 30)) is not None:
        result = json.dumps({"x": "yy" * (job.number % 2 * 400)})  # every other one compressed
        await store.update(job.job_id, status=JobStatus.COMPLETED, completed_at=T0, result_json=result)
        assert (await store.get(job.job_id)).result_json == result
    for job in (await store.list_jobs(JobQuery(owner_id=None, status=JobStatus.PENDING, limit=200))).jobs:
        await store.update(job.job_id, status=JobStatus.FAILED, error_code="cancelled", completed_at=T0)
    assert await store.expire(T0 + timedelta(seconds=5)) == 60
    client = aioredis.from_url(redis_server.url, decode_responses=True)
    try:
        keys = [key.removeprefix(redis_prefix) async for key in client.scan_iter(f"{redis_prefix}*")]
        left = {key for key in keys if not key.startswith(("tomb:", "ticket:"))} - COUNTERS
        assert left == set(), left
        assert sum(key.startswith("tomb:") for key in keys) == 60  # expire on their own after JOB_TTL_SECONDS
        ttls = [await client.ttl(f"{redis_prefix}{key}") for key in keys if key.startswith("tomb:")]
        assert min(ttls) > 0
    finally:
        await client.aclose()


@pytest.mark.gen_test(timeout=30)
async def test_redis_store_two_processes_create_at_once_respect_the_active_limit(two_stores):
    a, b = two_stores
    await a.start()
    await b.start()
    results = await asyncio.gather(*(store.create(new_job(f"j{n}"), max_active=3) for n in range(10)
                                     for store in (a, b)), return_exceptions=True)
    assert sum(isinstance(result, Job) for result in results) == 3
    assert await a.active_count("alice") == 3


@pytest.mark.gen_test(timeout=30)
async def test_redis_store_unreachable_at_start_names_the_setting_and_host_masked(io_loop):
    from tests.jobs.redis_server import free_port

    port = free_port()
    store = RedisJobStore(f"redis://user:s3cret@127.0.0.1:{port}/0", ttl_seconds=60, max_jobs=10)
    with pytest.raises(Unavailable) as refused:
        await store.start()
    message = str(refused.value)
    assert "JOB_STORE_URL" in message and f"127.0.0.1:{port}" in message and "s3cret" not in message
    assert masked_url("rediss://:pw@h:1/0?ssl_cert_reqs=none") == "rediss://:***@h:1/0?ssl_cert_reqs=none"
    assert host_port("redis://h") == "h:6379"
    await store.aclose()


@pytest.mark.gen_test(timeout=60)
async def test_redis_store_survives_a_redis_restart_and_replays_missed_changes(redis_prefix):
    server = RedisServer(require_redis_server()).start()
    writer = RedisJobStore(server.url, prefix=redis_prefix, ttl_seconds=60, max_jobs=100)
    reader = RedisJobStore(server.url, prefix=redis_prefix, ttl_seconds=60, max_jobs=100)
    try:
        await writer.start()
        await reader.start()
        await writer.create(new_job("j1"))
        heard: list[int] = []
        reader.subscribe("j1", lambda job: heard.append(job.version))
        server.stop()
        with pytest.raises(Unavailable) as lost:
            await writer.get("j1")
        assert lost.value.code == "store_unavailable" and lost.value.retry_after
        await settle(lambda: not reader.subscribed, timeout=10)
        server.start()  # an empty Redis on the same port (no persistence in this test)
        await writer.create(new_job("j1"))
        await writer.update("j1", progress=5)
        # The update may fall in the reader's reconnection gap: it hears it live or from the replay.
        await settle(lambda: reader.subscribed and 2 in heard, timeout=15)
    finally:
        await writer.aclose()
        await reader.aclose()
        server.cleanup()


@pytest.mark.gen_test(timeout=30)
async def test_redis_store_cached_finished_job_is_gone_once_another_process_removes_it(redis_server, redis_prefix):
    stores = [RedisJobStore(redis_server.url, prefix=redis_prefix, ttl_seconds=3600, max_jobs=100) for _ in range(2)]
    a, b = stores
    try:
        for store in stores:
            await store.start()
        now = datetime.now(timezone.utc)
        await b.create(new_job("done-1"))
        await b.update("done-1", status=JobStatus.FAILED, error_code="cancelled", completed_at=now)
        cached = await a.get("done-1")
        assert cached is not None and a.finished.get("done-1") == cached  # finished: cached in A
        async def no_round_trip(*_args):
            raise AssertionError("a cached finished job was read from Redis")

        a._run = no_round_trip
        again = await a.get("done-1")
        del a._run
        assert again == cached and again.rendered is not None  # answered from the cache, already rendered
        assert await b.expire(now + timedelta(hours=2)) == 1  # B removes it (retention over)
        await settle(lambda: a.finished.get("done-1") is None, timeout=5)
        assert await a.get("done-1") is None and await a.removed_owner("done-1") == "alice"
    finally:
        for store in stores:
            await store.aclose()


@pytest.mark.gen_test(timeout=30)
async def test_redis_store_change_feed_keeps_one_entry_per_job_and_answers_410_below_its_floor(
        two_stores, redis_server, redis_prefix):
    store = two_stores[0]
    store.feed_caps = (4, 3)  # jobs in the all-jobs feed, in one owner's feed
    await store.start()
    start = await store.cursor("alice")
    for n in range(3):
        await store.create(new_job(f"f{n}"))
        await store.update(f"f{n}", status=JobStatus.FAILED, error_code="cancelled", completed_at=T0)
    jobs, after_three = await store.changes_since("alice", start)
    assert [job.job_id for job in jobs] == ["f0", "f1", "f2"]  # each job once, at its latest change
    client = aioredis.from_url(redis_server.url)
    try:
        assert await client.zcard(f"{redis_prefix}feed:alice") == 3  # 6 changes, one entry per job
    finally:
        await client.aclose()
    await store.create(new_job("f3"))  # a 4th job: f0's change leaves the owner's feed
    with pytest.raises(CursorExpired):
        await store.changes_since("alice", start)
    jobs, _ = await store.changes_since("alice", after_three)
    assert [job.job_id for job in jobs] == ["f3"]


def previous_release_record(job: Job) -> bytes:
    """A job record as the previous release wrote it in its job hash (field ``j``)."""
    def iso(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    text = json.dumps({
        "id": job.job_id, "type": job.job_type, "owner": job.owner_id, "metadata": job.metadata,
        "params": job.params, "status": job.status.value, "result": job.result_json, "error": job.error,
        "error_code": job.error_code, "created_at": iso(job.created_at), "updated_at": iso(job.updated_at),
        "started_at": iso(job.started_at), "completed_at": iso(job.completed_at), "progress": job.progress,
        "progress_message": job.progress_message, "progress_code": job.progress_code,
        "progress_params": job.progress_params, "attempt": job.attempt,
    }, ensure_ascii=False, separators=(",", ":"))
    return text.encode() if len(text) <= 512 else zlib.compress(text.encode(), 6)


async def store_as_previous_release(client: aioredis.Redis, prefix: str, job: Job, number: int) -> None:
    """``job`` (finished or queued) written in the previous release's layout: a hash per job, ids as
    text in every index, finished jobs in the store-wide ``done`` set."""
    await client.hset(f"{prefix}job:{job.job_id}", mapping={
        "j": previous_release_record(job), "v": job.version, "n": number, "s": job.status.value,
        "t": job.job_type, "o": job.owner_id})
    await client.zadd(f"{prefix}all", {job.job_id: number})
    await client.zadd(f"{prefix}owner:{job.owner_id}", {job.job_id: number})
    await client.zincrby(f"{prefix}owners", 1, job.owner_id)
    seq = await client.incr(f"{prefix}seq")
    await client.zadd(f"{prefix}feed", {job.job_id: seq})
    await client.zadd(f"{prefix}feed:{job.owner_id}", {job.job_id: await client.hincrby(
        f"{prefix}meta:{job.owner_id}", "seq", 1)})
    await client.hsetnx(f"{prefix}meta:{job.owner_id}", "gen", "abc")
    if job.is_terminal:
        completed = int(job.completed_at.timestamp() * 1000)  # type: ignore[union-attr]
        await client.zadd(f"{prefix}done", {job.job_id: completed})
        await client.zadd(f"{prefix}done:{job.owner_id}", {job.job_id: completed})
    else:
        await client.hincrby(f"{prefix}meta:{job.owner_id}", "active", 1)
        await client.zadd(f"{prefix}queue:{job.job_type}", {job.job_id: await client.incr(
            f"{prefix}ticket:{job.job_type}")})
    await client.set(f"{prefix}number", number)


@pytest.mark.gen_test(timeout=30)
async def test_redis_store_reads_updates_and_expires_jobs_stored_by_the_previous_release(
        two_stores, redis_server, redis_prefix):
    """A deploy keeps the Redis data of the previous release: its job hashes read as they were, a
    queued one moves to the new layout at its next write (one feed entry, no hash left), and the
    retention sweep removes them all, leaving no key behind."""
    finished = Job(job_id=new_job_id(), job_type="echo", owner_id="alice", metadata={"case_id": "c1"},
                   created_at=T0, updated_at=T0, status=JobStatus.COMPLETED, started_at=T0, completed_at=T0,
                   progress=100, progress_message="Completed", result_json=json.dumps({"summary": "words " * 200}),
                   version=3, number=1)
    queued = Job(job_id=new_job_id(), job_type="echo", owner_id="alice", metadata={}, created_at=T0,
                 updated_at=T0, number=2)
    client = aioredis.from_url(redis_server.url)
    try:
        for job in (finished, queued):
            await store_as_previous_release(client, redis_prefix, job, job.number)
        store = two_stores[0]
        await store.start()
        assert await store.get(finished.job_id) == finished
        assert await store.get(queued.job_id) == replace(queued, queue_position=1)
        listed = await store.list_jobs(JobQuery(owner_id="alice", limit=10))
        assert [job.job_id for job in listed.jobs] == [queued.job_id, finished.job_id]
        cursor = await store.cursor("alice")
        updated = await store.update(queued.job_id, status=JobStatus.FAILED, error_code="cancelled", completed_at=T0)
        assert await store.get(queued.job_id) == updated and updated.version == 2
        assert not await client.exists(f"{redis_prefix}job:{queued.job_id}")  # moved to the new layout
        assert await client.zcard(f"{redis_prefix}feed:alice") == 2  # one entry per job, not two
        jobs, _ = await store.changes_since("alice", cursor)
        assert jobs == [updated]
        assert await store.expire(T0 + timedelta(seconds=5)) == 2
        keys = [key.decode().removeprefix(redis_prefix) async for key in client.scan_iter(f"{redis_prefix}*")]
        assert {key for key in keys if not key.startswith(("tomb:", "ticket:"))} - COUNTERS == set(), keys
        assert await store.get(finished.job_id) is None and await store.removed_owner(finished.job_id) == "alice"
    finally:
        await client.aclose()
