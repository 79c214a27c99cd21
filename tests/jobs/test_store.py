"""The store contract: every test runs on the memory store and on Redis (a throwaway redis-server).

Retention, eviction with a fair share per user, tombstones, the change feed and its per-user
cursors, queue positions computed on read, leases, and notifications.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest

from server.errors import InvalidInput, TooManyRequests, Unavailable
from server.jobs.errors import InvalidTransition
from server.jobs.memory_store import MemoryJobStore
from server.jobs.models import Job, JobStatus
from server.jobs.retention import Sweeper
from server.jobs.store import NOTIFIED_POSITIONS, CursorExpired, JobQuery
from tests.waiting import settle

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(params=["memory", "redis"])
def make_store(request, io_loop):
    """Builds stores of the parametrized kind; Redis ones share one prefix (like two processes)."""
    made = []

    async def make(ttl_seconds: float = 60, max_jobs: int = 100):
        if request.param == "memory":
            store = MemoryJobStore(ttl_seconds=ttl_seconds, max_jobs=max_jobs)
        else:
            from server.jobs.redis_store import RedisJobStore

            server = request.getfixturevalue("redis_server")
            prefix = request.getfixturevalue("redis_prefix")
            store = RedisJobStore(server.url, prefix=prefix, ttl_seconds=ttl_seconds, max_jobs=max_jobs)
            await store.start()
        made.append(store)
        return store

    yield make
    for store in made:
        io_loop.run_sync(store.aclose)


def new_job(job_id: str, owner: str = "alice", job_type: str = "echo") -> Job:
    return Job(job_id=job_id, job_type=job_type, owner_id=owner, metadata={}, created_at=T0, updated_at=T0)


async def finish(store, job_id: str, at: datetime) -> None:
    await store.update(job_id, status=JobStatus.RUNNING, started_at=at)
    await store.update(job_id, status=JobStatus.COMPLETED, completed_at=at, result_json="{}")


@pytest.mark.gen_test(timeout=20)
async def test_store_expire_removes_only_jobs_past_ttl_and_leaves_tombstones(make_store):
    store = await make_store(ttl_seconds=60)
    for n in range(5):
        await store.create(new_job(f"j{n}"))
        await finish(store, f"j{n}", T0 + timedelta(seconds=n * 30))
    await store.create(new_job("running"))
    removed = await store.expire(T0 + timedelta(seconds=91))  # j0 (0s), j1 (30s) expired; j2 at 60s+60=120 not
    assert removed == 2
    assert await store.get("j0") is None and await store.get("j2") is not None
    assert await store.removed_owner("j0") == "alice"
    assert await store.removed_owner("never") is None
    assert await store.get("running") is not None


@pytest.mark.gen_test(timeout=20)
async def test_memory_store_remembers_the_newest_removed_ids_up_to_its_bound():
    store = MemoryJobStore(ttl_seconds=60, max_jobs=1000, max_tombstones=150)
    for n in range(200):
        await store.create(new_job(f"j{n:03}", owner=f"user-{n % 7}"))
        await finish(store, f"j{n:03}", T0)
    assert await Sweeper(store, 60).sweep() == 200  # finished at T0: retention is long over
    assert [await store.removed_owner(f"j{n:03}") for n in (0, 49)] == [None, None]  # the oldest forgotten
    assert [await store.removed_owner(f"j{n:03}") for n in (50, 199)] == ["user-1", "user-3"]


@pytest.mark.gen_test(timeout=20)
async def test_store_full_evicts_own_oldest_finished_then_refuses(make_store):
    store = await make_store(ttl_seconds=3600, max_jobs=2)
    await store.create(new_job("a"))
    await store.create(new_job("b"))
    await finish(store, "b", T0)
    await store.create(new_job("c"))  # evicts b, the only finished job
    assert await store.get("b") is None and await store.removed_owner("b") == "alice"
    with pytest.raises(Unavailable) as full:
        await store.create(new_job("d"))
    assert full.value.code == "store_full" and full.value.retry_after


@pytest.mark.gen_test(timeout=20)
async def test_store_full_gives_each_user_a_fair_share_before_evicting_theirs(make_store):
    store = await make_store(ttl_seconds=3600, max_jobs=4)
    for name in ("a1", "a2", "a3"):
        await store.create(new_job(name, owner="alice"))
        await finish(store, name, T0 + timedelta(seconds=int(name[1])))
    await store.create(new_job("b1", owner="bob"))
    await store.create(new_job("c1", owner="carol"))  # carol is under her share: alice (over it) loses a1
    assert await store.get("a1") is None and await store.get("b1") is not None
    await store.create(new_job("a4", owner="alice"))  # alice over her share: her own oldest goes, not others'
    assert await store.get("a2") is None
    assert {j.job_id for j in (await store.list_jobs(JobQuery(owner_id=None))).jobs} == {"a3", "a4", "b1", "c1"}


@pytest.mark.gen_test(timeout=20)
async def test_store_update_of_finished_job_is_refused(make_store):
    store = await make_store()
    await store.create(new_job("a"))
    await finish(store, "a", T0)
    with pytest.raises(InvalidTransition):
        await store.update("a", progress=5)
    assert (await store.get("a")).version == 3


@pytest.mark.gen_test(timeout=20)
async def test_store_list_pages_newest_first_with_filters(make_store):
    store = await make_store()
    for n in range(6):
        await store.create(new_job(f"j{n}", owner="alice" if n % 2 else "bob"))
    page = await store.list_jobs(JobQuery(owner_id="alice", limit=2))
    assert [j.job_id for j in page.jobs] == ["j5", "j3"]
    rest = await store.list_jobs(JobQuery(owner_id="alice", before=page.next_before, limit=2))
    assert [j.job_id for j in rest.jobs] == ["j1"] and rest.next_before is None
    assert len((await store.list_jobs(JobQuery(owner_id=None, status=JobStatus.PENDING))).jobs) == 6
    assert (await store.list_jobs(JobQuery(owner_id="nobody"))).jobs == []


@pytest.mark.gen_test(timeout=20)
async def test_store_change_feed_returns_changes_after_cursor_and_410_after_removal(make_store):
    store = await make_store(ttl_seconds=1)
    await store.create(new_job("a"))
    cursor = await store.cursor("alice")
    await store.create(new_job("b"))
    await store.update("a", progress=5)
    changed, new_cursor = await store.changes_since("alice", cursor)
    assert [j.job_id for j in changed] == ["b", "a"]
    assert (await store.changes_since("alice", new_cursor))[0] == []
    await finish(store, "a", T0)
    await store.expire(T0 + timedelta(seconds=5))
    with pytest.raises(CursorExpired):
        await store.changes_since("alice", new_cursor)
    prefix, _, seq = (await store.cursor("alice")).rpartition("-")
    with pytest.raises(CursorExpired):
        await store.changes_since("alice", f"{prefix}-{int(seq) + 10}")  # ahead of this store
    with pytest.raises(CursorExpired):
        await store.changes_since("alice", f"other-{seq}")  # from another run or store
    with pytest.raises(InvalidInput):
        await store.changes_since("alice", "\u00b2")
    with pytest.raises(InvalidInput):
        await store.changes_since("alice", "1" * 5000)


@pytest.mark.gen_test(timeout=20)
async def test_store_cursor_reveals_nothing_about_other_users(make_store):
    store = await make_store()
    empty = await store.cursor("alice")
    await store.create(new_job("a", owner="alice"))
    mine = await store.cursor("alice")
    for n in range(5):
        await store.create(new_job(f"b{n}", owner="bob"))
        await store.update(f"b{n}", progress=1)
    assert await store.cursor("alice") == mine  # bob's ten changes left no trace in alice's cursor
    assert [j.job_id for j in (await store.changes_since("alice", empty))[0]] == ["a"]
    assert "bob" not in mine and len(mine) < 40


@pytest.mark.gen_test(timeout=20)
async def test_store_queue_position_is_computed_on_read_and_only_the_first_ten_are_bumped(make_store):
    store = await make_store()
    for n in range(30):
        await store.create(new_job(f"q{n:02}", owner=f"user{n}"))
    assert [(await store.get(f"q{n:02}")).queue_position for n in (0, 1, 29)] == [1, 2, 30]
    started = await store.claim("echo", worker="w1", lease_until=time.time() + 30)
    assert started.job_id == "q00" and started.status is JobStatus.RUNNING and started.queue_position is None
    jobs = [await store.get(f"q{n:02}") for n in range(1, 30)]
    assert [job.queue_position for job in jobs] == list(range(1, 30))  # exact for everyone
    assert [job.version for job in jobs] == [2] * NOTIFIED_POSITIONS + [1] * (29 - NOTIFIED_POSITIONS)
    await store.update("q05", status=JobStatus.FAILED, error_code="cancelled", completed_at=T0)
    assert (await store.get("q06")).queue_position == 5 and (await store.get("q29")).queue_position == 28


@pytest.mark.gen_test(timeout=20)
async def test_store_expired_lease_is_taken_over_with_a_new_attempt(make_store):
    store = await make_store()
    await store.create(new_job("x"))
    await store.create(new_job("y"))
    claimed = await store.claim("echo", worker="lost", lease_until=time.time() - 1)
    assert claimed.attempt == 1
    assert await store.expired_leases("w2", time.time(), time.time() + 30) == ["x"]
    assert await store.expired_leases("w3", time.time(), time.time() + 30) == []  # w2 handles it alone
    with pytest.raises(InvalidTransition):
        await store.update("x", expect_attempt=2, progress=5)
    requeued = await store.requeue("x", from_attempt=1, attempt=2, message="Queued again")
    assert (requeued.status, requeued.queue_position, requeued.attempt) == (JobStatus.PENDING, 1, 2)
    assert (await store.get("y")).queue_position == 2
    again = await store.claim("echo", worker="w2", lease_until=time.time() + 30)
    assert (again.job_id, again.attempt) == ("x", 2)
    with pytest.raises(InvalidTransition):
        await store.update("x", expect_attempt=1, status=JobStatus.COMPLETED, completed_at=T0)  # the lost worker


@pytest.mark.gen_test(timeout=20)
async def test_store_counts_active_jobs_and_refuses_over_the_limit(make_store):
    store = await make_store()
    await store.create(new_job("a"), max_active=2)
    await store.create(new_job("b"), max_active=2)
    with pytest.raises(TooManyRequests) as refused:
        await store.create(new_job("c"), max_active=2)
    assert refused.value.code == "too_many_active_jobs"
    await store.update("a", status=JobStatus.FAILED, error_code="cancelled", completed_at=T0)
    assert await store.active_count("alice") == 1
    await store.create(new_job("c"), max_active=2)


@pytest.mark.gen_test(timeout=20)
async def test_store_dedupe_key_returns_the_active_holder_until_it_ends(make_store):
    store = await make_store()
    first = await store.create(new_job("a"), dedupe_key="case-1:call")
    again = await store.create(new_job("b"), max_active=1, dedupe_key="case-1:call")  # dedupe before the limit
    assert again.job_id == "a" and again.version == first.version and await store.get("b") is None
    other = await store.create(new_job("c"), dedupe_key="case-2:call")
    assert other.job_id == "c" and await store.active_count("alice") == 2
    await store.update("a", status=JobStatus.RUNNING, started_at=T0)
    assert (await store.create(new_job("d"), dedupe_key="case-1:call")).job_id == "a"  # running still holds it
    await store.update("a", status=JobStatus.FAILED, error_code="cancelled", completed_at=T0)
    fresh = await store.create(new_job("e"), dedupe_key="case-1:call")
    assert fresh.job_id == "e" and fresh.status is JobStatus.PENDING
    assert (await store.create(new_job("f"))).job_id == "f"  # no key: never deduplicated


@pytest.mark.gen_test(timeout=20)
async def test_store_concurrent_creates_with_one_dedupe_key_make_one_job(make_store):
    first = await make_store()
    # On Redis, two clients of one store (like two processes); a memory store is its process's own.
    stores = [first] if isinstance(first, MemoryJobStore) else [first, await make_store()]
    created = await asyncio.gather(*(stores[n % len(stores)].create(new_job(f"j{n}"), dedupe_key="same")
                                     for n in range(12)))
    assert len({job.job_id for job in created}) == 1
    assert await first.active_count("alice") == 1
    assert len((await first.list_jobs(JobQuery(owner_id="alice"))).jobs) == 1


@pytest.mark.gen_test(timeout=20)
async def test_store_dedupe_key_is_released_when_its_job_is_removed(make_store):
    store = await make_store(ttl_seconds=1)
    await store.create(new_job("a"), dedupe_key="k")
    await finish(store, "a", T0)
    assert await store.expire(T0 + timedelta(seconds=5)) == 1
    assert (await store.create(new_job("b"), dedupe_key="k")).job_id == "b"


@pytest.mark.gen_test(timeout=20)
async def test_store_values_put_if_absent_compare_delete_and_expire(make_store):
    store = await make_store()
    assert await store.get_value("idem:alice:k") is None
    assert await store.put_value("idem:alice:k", "pending-1", 60, only_if_absent=True) is None
    assert await store.put_value("idem:alice:k", "pending-2", 60, only_if_absent=True) == "pending-1"
    await store.delete_value("idem:alice:k", only_if="pending-2")  # not its value: kept
    assert await store.get_value("idem:alice:k") == "pending-1"
    await store.put_value("idem:alice:k", "answer", 60)
    assert await store.get_value("idem:alice:k") == "answer"
    await store.delete_value("idem:alice:k", only_if="answer")
    assert await store.get_value("idem:alice:k") is None
    await store.put_value("short", "x", 0.05)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while await store.get_value("short") is not None:  # expiry is time-based: wait for it, bounded
        assert loop.time() < deadline, "value did not expire"
        await asyncio.sleep(0.02)
    assert await store.put_value("short", "y", 60, only_if_absent=True) is None


@pytest.mark.gen_test(timeout=20)
async def test_store_subscribers_of_other_jobs_are_not_called(make_store):
    store = await make_store()
    calls: list[str] = []
    everything: list[tuple[str, int]] = []
    store.subscribe_owner(None, lambda job: everything.append((job.job_id, job.version)))
    await store.create(new_job("a"))
    await store.create(new_job("b"))
    unsubscribe = store.subscribe("a", lambda job: calls.append(job.job_id))
    await store.update("b", progress=1)
    await store.update("a", progress=1)
    await settle(lambda: ("a", 2) in everything)
    unsubscribe()
    await store.update("a", progress=2)
    await settle(lambda: ("a", 3) in everything)
    assert calls == ["a"] and store.subscriber_count() == 1


@pytest.mark.gen_test(timeout=30)
async def test_store_sweeper_expires_in_batches(make_store):
    store = await make_store(ttl_seconds=1, max_jobs=5000)
    for n in range(300):
        await store.create(new_job(f"j{n}"))
        await finish(store, f"j{n}", T0)
    assert await Sweeper(store, 60).sweep() == 300
    assert (await store.list_jobs(JobQuery(owner_id=None))).jobs == []


@pytest.mark.gen_test(timeout=10)
async def test_expired_job_answers_404_expired_to_its_owner_only(api, services):
    async def quick(ctx):
        return {}

    services.runner.register("quick", quick)
    job = await services.runner.submit("quick", "alice", {})
    await settle(lambda: services.store._jobs[job.job_id].is_terminal)
    await services.store.expire(datetime.now(timezone.utc) + timedelta(days=2))
    mine = await api.get(f"/jobs/{job.job_id}")
    assert mine.status == 404 and mine.json["code"] == "expired"
    theirs = await api.get(f"/jobs/{job.job_id}", user="mallory")
    assert theirs.status == 404 and theirs.json["code"] == "not_found"


@pytest.mark.gen_test(timeout=10)
async def test_server_schedules_the_sweep(services):
    from server.app import shutdown, start_background

    start_background(services)
    sweeper = services.sweeper
    assert sweeper._callback.is_running()
    await shutdown(services)
    assert not sweeper._callback.is_running()
    await asyncio.sleep(0)
