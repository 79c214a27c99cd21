"""The Redis store when Redis misbehaves without failing outright: it stops answering (SIGSTOP, like a
network black hole), comes back empty at once (its connections re-made without an error anyone
sees), a removal crosses a read, the clocks of two hosts disagree; and its per-process cache of
finished jobs is bounded by bytes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import signal
import time
import tracemalloc
from dataclasses import replace

import pytest
import redis.asyncio as aioredis

from server.config import StoreSettings
from server.jobs.models import Job, JobStatus
from server.jobs.redis_store import FINISHED_CACHE_BYTES, RedisJobStore, _lease_ms, cancel_and_wait
from server.jobs.store import StoreUnavailable
from tests.jobs.redis_server import RedisServer, require_redis_server
from tests.jobs.test_redis_store import T0, new_job
from tests.waiting import settle

FUTURE = T0.replace(year=2100)  # a completion time the cache keeps (within any retention)


@pytest.fixture
def own_redis():
    server = RedisServer(require_redis_server()).start()
    yield server
    server.cleanup()


async def finish(store: RedisJobStore, job_id: str, result: str = "{}", owner: str = "alice") -> Job:
    await store.create(new_job(job_id, owner=owner))
    await store.claim("echo", worker="w", lease_until=time.time() + 60)
    return await store.update(job_id, status=JobStatus.COMPLETED, completed_at=FUTURE, result_json=result)


# -- a Redis that stops answering -------------------------------------------------------------------

@pytest.fixture
def settings(settings, own_redis, redis_prefix):
    return replace(settings, store=StoreSettings(url=own_redis.url, prefix=redis_prefix))


@pytest.mark.gen_test(timeout=90)
async def test_a_silent_redis_answers_503_within_the_socket_timeout_and_is_noticed(api, services, own_redis):
    """SIGSTOP: connections stay open and nothing answers. Each call once waited for three 5 s
    timeouts (its retries), and a burst queued behind the pool: 15-47 s, past Heroku's 30 s."""
    store = services.store
    await store.start()
    store.heartbeat = 0.5
    job = await services.runner.submit("echo", "alice", {}, {"value": 1})
    own_redis.process.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        first = await api.get(f"/jobs/{job.job_id}", timeout=60)
        first_seconds = time.monotonic() - started
        assert first.status == 503 and first.json["code"] == "store_unavailable" and first.headers["Retry-After"]
        assert first_seconds < 12, f"{first_seconds:.1f} s before the 503"  # the socket timeout (4 s), not 15+
        assert store.stalled
        # Redis is known to be silent: a burst is answered 503 at once, not each after its own timeout.
        started = time.monotonic()
        burst = await asyncio.gather(*(api.get("/jobs", timeout=60) for _ in range(30)))
        burst_seconds = time.monotonic() - started
        assert {(reply.status, reply.json["code"]) for reply in burst} == {(503, "store_unavailable")}
        assert burst_seconds < 5, f"{burst_seconds:.1f} s for 30 requests"
        await settle(lambda: not store.subscribed, timeout=10)  # the subscription's ping went unanswered
    finally:
        own_redis.process.send_signal(signal.SIGCONT)
    await settle(lambda: not store.stalled and store.subscribed, timeout=20)
    back = await api.get(f"/jobs/{job.job_id}?wait=10&until=finished", timeout=30)
    assert back.status == 200 and back.json["status"] == "completed"


@pytest.mark.gen_test(timeout=60)
async def test_a_call_waiting_on_a_silent_redis_ends_when_another_call_finds_it_silent(own_redis):
    """Calls already in flight when Redis goes silent end with the first timeout, not each its own."""
    store = RedisJobStore(own_redis.url, prefix="s:", ttl_seconds=3600, max_jobs=100)
    try:
        await store.start()
        await store.create(new_job("j1"))
        own_redis.process.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            results = await asyncio.gather(*(store.get("j1") for _ in range(100)), return_exceptions=True)
            seconds = time.monotonic() - started
            assert all(isinstance(result, StoreUnavailable) for result in results), results[:3]
            assert seconds < 12, f"100 concurrent reads: {seconds:.1f} s before the 503"  # was 46 s
            with pytest.raises(StoreUnavailable):
                await store.get("j1")  # at once, while stalled
        finally:
            own_redis.process.send_signal(signal.SIGCONT)
        await settle(lambda: not store.stalled, timeout=20)
        assert (await store.get("j1")).job_id == "j1"
    finally:
        await store.aclose()


# -- the finished-job cache ---------------------------------------------------------------------------

@pytest.mark.gen_test(timeout=60)
async def test_a_quick_restart_of_an_empty_redis_empties_the_cache(own_redis):
    """redis-py re-makes a dropped subscription connection by itself: the store must hear of it, or
    a job of the lost data set is served from the cache until its retention ends."""
    store = RedisJobStore(own_redis.url, prefix="c:", ttl_seconds=3600, max_jobs=100)
    heard = asyncio.Event()
    try:
        await store.start()
        await finish(store, "j1")
        assert (await store.get("j1")).status is JobStatus.COMPLETED  # cached now
        store.subscribe_owner("bob", lambda job: heard.set())
        own_redis.stop()  # no await between: the connections find Redis back at their next use
        own_redis.start()
        for n in range(100):  # until the subscription is back: it hears a job created after
            await store.create(new_job(f"b{n}", owner="bob"))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(heard.wait(), 0.1)
            if heard.is_set():
                break
        assert heard.is_set()
        assert await store.get("j1") is None, "a job of the lost data set answered from the cache"
    finally:
        await store.aclose()


@pytest.fixture
def two_small_stores(redis_server, redis_prefix, io_loop):
    stores = [RedisJobStore(redis_server.url, prefix=redis_prefix, ttl_seconds=3600, max_jobs=2) for _ in range(2)]
    for store in stores:
        io_loop.run_sync(store.start)
    yield stores
    for store in stores:
        io_loop.run_sync(store.aclose)


@pytest.mark.gen_test(timeout=30)
async def test_a_read_racing_an_eviction_does_not_cache_the_evicted_job(two_small_stores):
    """Process A's read of a finished job is in flight while process B evicts it and A hears the
    removal: A answers what it read, but must not keep serving it afterwards."""
    a, b = two_small_stores
    await finish(b, "j1", '{"x":1}')
    real_run = a._run
    replied, gate = asyncio.Event(), asyncio.Event()

    async def delayed_run(*args):
        result = await real_run(*args)
        if args[0] == "get" and not replied.is_set():
            replied.set()
            await gate.wait()  # the reply is on its way back while the removal happens
        return result

    a._run = delayed_run  # type: ignore[method-assign]
    heard = asyncio.Event()
    a.subscribe_owner("alice", lambda job: heard.set() if job.job_id == "j2" else None)
    reader = asyncio.ensure_future(a.get("j1"))
    await replied.wait()
    await b.create(new_job("j0", owner="bob"))
    await b.create(new_job("j2"))  # full at 2: j1, the only finished job, is evicted
    assert await b.get("j1") is None
    await asyncio.wait_for(heard.wait(), 10)  # A's subscription is past j1's removal (published before j2)
    gate.set()
    assert (await reader).job_id == "j1"  # the read answers what it read
    a._run = real_run  # type: ignore[method-assign]
    assert await a.get("j1") is None, "process A serves a job evicted from Redis"


@pytest.mark.gen_test(timeout=90)
async def test_the_finished_job_cache_is_bounded_by_bytes(redis_server, redis_prefix):
    """Forty finished jobs with 600,000-character Hebrew results (1.2 MB each as Python text): the
    5,000-job cap kept all of them (~48 MB); the cache now holds FINISHED_CACHE_BYTES at most."""
    writer = RedisJobStore(redis_server.url, prefix=redis_prefix, ttl_seconds=3600, max_jobs=1000)
    reader = RedisJobStore(redis_server.url, prefix=redis_prefix, ttl_seconds=3600, max_jobs=1000)
    letters = "אבגדהוזחטיכלמנסעפצקרשת "
    try:
        await writer.start()
        await reader.start()
        for n in range(40):
            text = "".join(letters[(n * 7 + i * i) % len(letters)] for i in range(600_000))
            await finish(writer, f"big{n}", json.dumps({"summary": text}, ensure_ascii=False))
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for n in range(40):
                assert (await reader.get(f"big{n}")).status is JobStatus.COMPLETED
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert held < FINISHED_CACHE_BYTES * 1.25, f"{held / 1e6:.0f} MB held after reading 40 finished jobs"
        assert reader.finished.get("big0") is None and reader.finished.get("big39") is not None  # oldest dropped
        assert reader.finished.size <= FINISHED_CACHE_BYTES
    finally:
        await writer.expire(FUTURE.replace(year=2200))
        await writer.aclose()
        await reader.aclose()


# -- leases -------------------------------------------------------------------------------------------

@pytest.mark.gen_test(timeout=30)
async def test_lease_expiry_is_judged_by_redis_clock_not_the_hosts(two_small_stores):
    """The holder's clock writes the lease, another host's clock judged it: a host 40 s ahead took
    over a healthy job, and one behind never took over a lost one."""
    holder, other = two_small_stores
    await holder.create(new_job("healthy"))
    assert (await holder.claim("echo", worker="holder", lease_until=time.time() + 30)).job_id == "healthy"
    fast = time.time() + 40  # the other host's clock runs 40 s ahead
    assert await other.expired_leases("fast-host", fast, fast + 30) == []
    await holder.create(new_job("lost"))
    assert (await holder.claim("echo", worker="holder", lease_until=time.time() - 1)).job_id == "lost"  # ran out
    slow = time.time() - 40  # and a host 40 s behind
    assert await other.expired_leases("slow-host", slow, slow + 30) == ["lost"]
    assert await other.expired_leases("slow-host", slow, slow + 30) == []  # taken: leased again for 30 s


@pytest.mark.gen_test(timeout=30)
async def test_a_lease_that_already_ran_out_ends_in_the_past_on_redis_clock(two_small_stores, redis_server,
                                                                            redis_prefix):
    """A lease asked for until 1 s ago was stored as ending *now* (clamped to 0 ms), so a takeover in the
    same Redis millisecond did not see it expired (CI failed on exactly that race). It must end ~1 s ago."""
    holder, _ = two_small_stores
    await holder.create(new_job("lapsed"))
    assert (await holder.claim("echo", worker="holder", lease_until=time.time() - 1)).job_id == "lapsed"
    client = aioredis.from_url(redis_server.url)
    try:
        seconds, micros = await client.time()
        ends_ms = await client.zscore(f"{redis_prefix}leases", "lapsed")
    finally:
        await client.aclose()
    assert seconds * 1000 + micros // 1000 - ends_ms >= 900


@pytest.mark.gen_test(timeout=10)
async def test_closing_ends_a_subscription_loop_that_took_its_cancel_for_a_read_timeout():
    """On Python 3.10 redis-py's ``async_timeout`` turns a cancel landing as a read times out into a
    ``TimeoutError``, and the subscription loop reads on: one cancel and a wait hung ``aclose``."""
    cancels = 0

    async def subscription_loop():
        nonlocal cancels
        while True:
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                cancels += 1
                if cancels > 1:
                    raise  # (the first one was taken for a read timeout)

    task = asyncio.ensure_future(subscription_loop())
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert task.cancelled() and cancels == 2


def test_a_lease_that_ran_out_under_a_millisecond_ago_still_ends_in_the_past():
    """``int()`` rounds toward zero: a lease that ran out 0.4 ms ago became 0 ms, ending at the claim's
    Redis millisecond, so a takeover judged in that millisecond did not see it expired, where the
    memory store (``until < now``) does. Rounded down it ends 1 ms in the past; a live one keeps its
    whole milliseconds."""
    assert _lease_ms(100.0 - 0.0004, 100.0) == -1
    assert _lease_ms(100.0 - 1.0, 100.0) == -1000
    assert _lease_ms(100.0, 100.0) == 0
    assert _lease_ms(130.0, 100.0) == 30_000


@pytest.mark.gen_test(timeout=10)
async def test_closing_ends_a_probe_started_while_the_subscription_was_ending(redis_server, redis_prefix):
    """``aclose`` read the probe before cancelling the subscription: a call that timed out meanwhile (a
    request in flight at shutdown, Redis stalled) started a probe that nothing cancelled, pinging the
    closed pool for ever ("Task was destroyed but it is pending")."""
    store = RedisJobStore(redis_server.url, prefix=redis_prefix, ttl_seconds=60, max_jobs=100)
    await store.start()

    async def subscription_ending_as_a_call_times_out():
        try:
            await asyncio.sleep(3600)
        finally:
            store._stall()  # what a RedisTimeoutError in _call does

    await cancel_and_wait(store._listener)
    store._listener = asyncio.ensure_future(subscription_ending_as_a_call_times_out())
    await asyncio.sleep(0)
    await store.aclose()
    assert store.stalled and pending_probes() == []


@pytest.mark.gen_test(timeout=10)
async def test_a_call_that_times_out_after_closing_starts_no_probe(redis_server, redis_prefix):
    """A request still in flight at shutdown whose call times out once the store is closed started a
    probe that nothing would ever cancel; a store started again probes as before."""
    store = RedisJobStore(redis_server.url, prefix=redis_prefix, ttl_seconds=60, max_jobs=100)
    await store.start()
    await store.aclose()
    store._stall()  # what a RedisTimeoutError in _call does
    assert store.stalled and pending_probes() == []
    await store.start()
    try:
        assert not store.stalled
        store._stall()
        assert len(pending_probes()) == 1
        await settle(lambda: not store.stalled)  # Redis answers: the probe ends the stall
    finally:
        await store.aclose()
    assert pending_probes() == []


def pending_probes() -> list[asyncio.Task]:
    return [task for task in asyncio.all_tasks()
            if not task.done() and "_probe_until_answered" in repr(task.get_coro())]


@pytest.mark.gen_test(timeout=10)
async def test_a_task_whose_cancel_and_wait_was_cancelled_leaves_no_unretrieved_exception():
    """Cancelled itself (a shutdown timeout around ``aclose``), ``cancel_and_wait`` left the task's later
    exception unretrieved, and asyncio logged "Task exception was never retrieved"."""
    loop = asyncio.get_running_loop()
    reported = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reported.append(context["message"]))

    async def shielded_cleanup():
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.shield(asyncio.sleep(0.3))
            raise RuntimeError("cleanup failed") from None

    try:
        task = asyncio.ensure_future(shielded_cleanup())
        await asyncio.sleep(0)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(cancel_and_wait(task), 0.05)
        await asyncio.wait({task})
        await asyncio.sleep(0)
        del task
        gc.collect()
        assert not [message for message in reported if "never retrieved" in message], reported
    finally:
        loop.set_exception_handler(previous)
