"""Retention, eviction, tombstones and the change feed of the in-memory store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from server.errors import InvalidInput, Unavailable
from server.jobs.models import Job, JobStatus
from server.jobs.retention import Sweeper
from server.jobs.store import CursorExpired, JobQuery, MemoryJobStore

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def new_job(job_id: str, owner: str = "alice") -> Job:
    return Job(job_id=job_id, job_type="echo", owner_id=owner, metadata={}, created_at=T0, updated_at=T0)


async def finish(store: MemoryJobStore, job_id: str, at: datetime) -> None:
    await store.update(job_id, status=JobStatus.RUNNING, started_at=at)
    await store.update(job_id, status=JobStatus.COMPLETED, completed_at=at, result_json="{}")


@pytest.mark.gen_test(timeout=10)
async def test_expire_removes_only_jobs_past_ttl_and_leaves_tombstones():
    store = MemoryJobStore(ttl_seconds=60, max_jobs=100)
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


@pytest.mark.gen_test(timeout=10)
async def test_full_store_evicts_oldest_finished_then_refuses():
    store = MemoryJobStore(ttl_seconds=3600, max_jobs=2)
    await store.create(new_job("a"))
    await store.create(new_job("b"))
    await finish(store, "b", T0)
    await store.create(new_job("c"))  # evicts b, the only finished job
    assert await store.get("b") is None and await store.removed_owner("b") == "alice"
    with pytest.raises(Unavailable) as full:
        await store.create(new_job("d"))
    assert full.value.code == "store_full" and full.value.retry_after


@pytest.mark.gen_test(timeout=10)
async def test_update_of_finished_job_is_refused():
    store = MemoryJobStore(ttl_seconds=60, max_jobs=10)
    await store.create(new_job("a"))
    await finish(store, "a", T0)
    with pytest.raises(Exception) as refused:
        await store.update("a", progress=5)
    assert type(refused.value).__name__ == "InvalidTransition"
    assert (await store.get("a")).version == 3


@pytest.mark.gen_test(timeout=10)
async def test_list_costs_owner_jobs_and_filters():
    store = MemoryJobStore(ttl_seconds=60, max_jobs=100)
    for n in range(6):
        await store.create(new_job(f"j{n}", owner="alice" if n % 2 else "bob"))
    page = await store.list_jobs(JobQuery(owner_id="alice", limit=2))
    assert [j.job_id for j in page.jobs] == ["j5", "j3"]
    rest = await store.list_jobs(JobQuery(owner_id="alice", before=page.next_before, limit=2))
    assert [j.job_id for j in rest.jobs] == ["j1"] and rest.next_before is None
    assert len((await store.list_jobs(JobQuery(owner_id=None, status=JobStatus.PENDING))).jobs) == 6


@pytest.mark.gen_test(timeout=10)
async def test_change_feed_returns_changes_after_cursor_and_410_after_removal():
    store = MemoryJobStore(ttl_seconds=1, max_jobs=100)
    await store.create(new_job("a"))
    cursor = store.cursor()
    await store.create(new_job("b"))
    await store.update("a", progress=5)
    changed, new_cursor = await store.changes_since("alice", cursor)
    assert [j.job_id for j in changed] == ["b", "a"]
    assert (await store.changes_since("alice", new_cursor))[0] == []
    await finish(store, "a", T0)
    await store.expire(T0 + timedelta(seconds=5))
    with pytest.raises(CursorExpired):
        await store.changes_since("alice", new_cursor)
    run_id, _, seq = store.cursor().partition("-")
    with pytest.raises(CursorExpired):
        await store.changes_since("alice", f"{run_id}-{int(seq) + 10}")  # ahead of this run
    with pytest.raises(CursorExpired):
        await store.changes_since("alice", f"other-{seq}")  # from another run of the server
    with pytest.raises(InvalidInput):
        await store.changes_since("alice", "\u00b2")


@pytest.mark.gen_test(timeout=10)
async def test_subscribers_of_other_jobs_are_not_called():
    store = MemoryJobStore(ttl_seconds=60, max_jobs=100)
    calls: list[str] = []
    await store.create(new_job("a"))
    await store.create(new_job("b"))
    unsubscribe = store.subscribe("a", lambda job: calls.append(job.job_id))
    await store.update("b", progress=1)
    await store.update("a", progress=1)
    unsubscribe()
    await store.update("a", progress=2)
    assert calls == ["a"] and store.subscriber_count() == 0


@pytest.mark.gen_test(timeout=10)
async def test_sweeper_expires_in_batches():
    store = MemoryJobStore(ttl_seconds=1, max_jobs=5000)
    for n in range(500):
        await store.create(new_job(f"j{n}"))
        await finish(store, f"j{n}", T0)
    assert await Sweeper(store, 60).sweep() == 500
    assert len(store) == 0


@pytest.mark.gen_test(timeout=10)
async def test_expired_job_answers_404_expired_to_its_owner_only(api, services):
    async def quick(ctx):
        return {}

    services.runner.register("quick", quick)
    job = await services.runner.submit("quick", "alice", {})
    from tests.waiting import settle

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
    sweeper = services.extras["sweeper"]
    assert sweeper._callback.is_running()
    await shutdown(services)
    assert not sweeper._callback.is_running()
