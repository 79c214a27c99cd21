"""The runner: queues, concurrency, deadlines, cancellation, limits and shutdown, seen through HTTP."""

from __future__ import annotations

import asyncio
import gc
from dataclasses import replace

import pytest

from server.app import build_services
from server.config import JobSettings
from server.jobs.models import JobStatus
from tests.jobs.conftest import Gates
from tests.waiting import settle


def status_of(services, job_id):
    return services.store._jobs[job_id]


@pytest.mark.gen_test(timeout=20)
@pytest.mark.memory_only("asyncio weak task references: independent of the store")
async def test_burst_of_jobs_under_gc_pressure_all_finish(api, services):
    jobs = [await services.runner.submit("echo", f"user-{n}", {}, {"value": n}) for n in range(200)]
    for _ in range(20):
        gc.collect()  # tasks referenced only weakly by asyncio would vanish here
        await asyncio.sleep(0)
    await settle(lambda: all(status_of(services, j.job_id).is_terminal for j in jobs), timeout=30)
    assert {status_of(services, j.job_id).status for j in jobs} == {JobStatus.COMPLETED}
    reply = await api.get(f"/jobs/{jobs[-1].job_id}", user="user-199")
    assert reply.json["result"]["echo"] == 199


@pytest.mark.gen_test(timeout=10)
async def test_fifo_queue_reports_queue_position_and_respects_concurrency(api, services, gates: Gates):
    first = await services.runner.submit("gated", "alice", {}, {"gate": "a"})
    second = await services.runner.submit("gated", "alice", {}, {"gate": "b"})
    third = await services.runner.submit("gated", "alice", {}, {"gate": "c"})
    await settle(lambda: status_of(services, first.job_id).status is JobStatus.RUNNING)
    two = (await api.get(f"/jobs/{second.job_id}")).json
    three = (await api.get(f"/jobs/{third.job_id}")).json
    assert (two["status"], two["queue_position"]) == ("pending", 1)
    assert (three["status"], three["queue_position"]) == ("pending", 2)
    gates.open("b")  # b may finish but must wait its turn: concurrency 1
    gates.open("a")
    await settle(lambda: status_of(services, second.job_id).is_terminal)
    # b's slot passes to c right after b ends (the runner claims it then): wait for that, not for b.
    await settle(lambda: status_of(services, third.job_id).status is JobStatus.RUNNING)
    three = (await api.get(f"/jobs/{third.job_id}")).json
    assert three["status"] == "running" and three["queue_position"] is None
    gates.open("c")
    await settle(lambda: status_of(services, third.job_id).is_terminal)


@pytest.mark.gen_test(timeout=10)
async def test_cancel_pending_job_never_starts(api, services, gates: Gates):
    blocker = await services.runner.submit("gated", "alice", {}, {"gate": "x"})
    queued = await services.runner.submit("gated", "alice", {}, {"gate": "y"})
    reply = await api.post(f"/jobs/{queued.job_id}/cancel")
    assert reply.status == 200
    assert reply.json["status"] == "failed" and reply.json["error_code"] == "cancelled"
    assert reply.json["started_at"] is None and reply.json["completed_at"] is not None
    gates.open("x")
    gates.open("y")
    await settle(lambda: status_of(services, blocker.job_id).is_terminal)
    await asyncio.sleep(0.05)
    assert status_of(services, queued.job_id).started_at is None


@pytest.mark.gen_test(timeout=10)
async def test_cancel_running_job_ends_failed_cancelled_and_repeat_is_409(api, services):
    job = await services.runner.submit("sleeping", "alice", {}, {"seconds": 60})
    await settle(lambda: status_of(services, job.job_id).status is JobStatus.RUNNING)
    reply = await api.post(f"/jobs/{job.job_id}/cancel")
    assert reply.status == 200 and reply.json["error_code"] == "cancelled"
    assert reply.json["error"] == "The job was cancelled."
    again = await api.post(f"/jobs/{job.job_id}/cancel")
    assert again.status == 409 and again.json["code"] == "already_finished"
    assert (await api.get(f"/jobs/{job.job_id}")).json["version"] == reply.json["version"]


@pytest.mark.gen_test(timeout=10)
async def test_cancel_of_another_users_job_is_404_and_admin_may(api, services):
    job = await services.runner.submit("sleeping", "alice", {}, {"seconds": 60})
    assert (await api.post(f"/jobs/{job.job_id}/cancel", user="mallory")).status == 404
    assert (await api.post(f"/jobs/{job.job_id}/cancel", user="root", admin=True)).status == 200


@pytest.mark.gen_test(timeout=10)
async def test_cancel_racing_completion_leaves_one_consistent_terminal_state(api, services, gates: Gates):
    for n in range(20):
        job = await services.runner.submit("gated", "alice", {}, {"gate": f"race-{n}"})
        await settle(lambda j=job: status_of(services, j.job_id).status is JobStatus.RUNNING)
        gates.open(f"race-{n}")
        reply = await api.post(f"/jobs/{job.job_id}/cancel")
        final = await services.store.get(job.job_id)  # the store itself: the Redis mirror hears of it later
        assert final is not None and final.is_terminal and final.completed_at is not None
        if reply.status == 200:
            assert final.error_code == "cancelled" and final.result_json is None
        else:
            assert reply.status == 409 and final.status is JobStatus.COMPLETED


@pytest.mark.gen_test(timeout=10)
async def test_cancel_after_the_commit_point_is_409_and_the_job_completes_with_one_side_effect(api, services,
                                                                                               gates: Gates):
    job = await services.runner.submit("committing", "alice", {}, {"gate": "c"})
    await settle(lambda: status_of(services, job.job_id).status is JobStatus.RUNNING)
    gates.open("c")
    await settle(lambda: gates.committed == [job.job_id])
    reply = await api.post(f"/jobs/{job.job_id}/cancel")
    assert reply.status == 409 and reply.json["code"] == "already_finished"
    assert (await api.get(f"/jobs/{job.job_id}")).json["status"] == "running"  # still saving
    gates.open("c-saved")
    await settle(lambda: status_of(services, job.job_id).is_terminal)
    final = (await api.get(f"/jobs/{job.job_id}")).json
    assert final["status"] == "completed" and final["result"] == {"saved": True} and "committing" not in final


@pytest.mark.gen_test(timeout=10)
async def test_cancel_before_the_commit_point_means_no_side_effect(api, services, gates: Gates):
    job = await services.runner.submit("committing", "alice", {}, {"gate": "c"})
    await settle(lambda: status_of(services, job.job_id).status is JobStatus.RUNNING)
    reply = await api.post(f"/jobs/{job.job_id}/cancel")
    assert reply.status == 200 and reply.json["error_code"] == "cancelled"
    gates.open("c")
    gates.open("c-saved")
    await asyncio.sleep(0.1)
    assert gates.committed == []
    assert (await api.get(f"/jobs/{job.job_id}")).json["error_code"] == "cancelled"


@pytest.mark.gen_test(timeout=10)
@pytest.mark.memory_only("builds its own services; the deadline is the runner's, independent of the store")
async def test_job_over_deadline_fails_with_timeout(settings):
    fast = build_services(replace(settings, jobs=JobSettings(timeout_seconds=0.2)))

    async def slow(ctx):
        await asyncio.sleep(30)
        return {}

    async def raises_its_own_timeout(ctx):
        raise TimeoutError("a library's own timeout is not the job deadline")

    fast.runner.register("slow", slow)
    fast.runner.register("own_timeout", raises_its_own_timeout)
    job = await fast.runner.submit("slow", "alice", {})
    other = await fast.runner.submit("own_timeout", "alice", {})
    await settle(lambda: fast.store._jobs[job.job_id].is_terminal and fast.store._jobs[other.job_id].is_terminal)
    final = fast.store._jobs[job.job_id]
    assert final.status is JobStatus.FAILED and final.error_code == "timeout"
    assert final.error == "The job took longer than its time limit and was stopped."
    assert fast.store._jobs[other.job_id].error_code == "internal"
    fast.cases.close()


@pytest.mark.gen_test(timeout=10)
async def test_active_jobs_per_user_limit_is_429_with_retry_after(services):
    from server.errors import TooManyRequests

    runner = services.runner
    runner._max_active_per_user = 2  # noqa: SLF001
    await runner.submit("sleeping", "alice", {})
    await runner.submit("sleeping", "alice", {})
    with pytest.raises(TooManyRequests) as refused:
        await runner.submit("sleeping", "alice", {})
    assert refused.value.retry_after == 5
    await runner.submit("sleeping", "bob", {})  # another user is not affected
    await runner.shutdown()


@pytest.mark.gen_test(timeout=10)
@pytest.mark.memory_only("on Redis running jobs are handed back, not interrupted (test_redis_processes)")
async def test_shutdown_interrupts_running_and_pending_jobs(services, gates: Gates):
    running = await services.runner.submit("gated", "alice", {}, {"gate": "never"})
    pending = await services.runner.submit("gated", "alice", {}, {"gate": "never2"})
    await settle(lambda: status_of(services, running.job_id).status is JobStatus.RUNNING)
    await services.runner.shutdown(grace_seconds=0.05)
    for job in (running, pending):
        final = status_of(services, job.job_id)
        assert final.status is JobStatus.FAILED and final.error_code == "interrupted"
        assert "restarted" in final.error
    assert services.runner.running_count() == 0
    from server.errors import Unavailable

    with pytest.raises(Unavailable):
        await services.runner.submit("echo", "alice", {})


@pytest.mark.gen_test(timeout=10)
async def test_shutdown_grace_lets_a_quick_job_complete(services, gates: Gates):
    job = await services.runner.submit("gated", "alice", {}, {"gate": "soon"})
    await settle(lambda: status_of(services, job.job_id).status is JobStatus.RUNNING)
    asyncio.get_running_loop().call_later(0.05, gates.open, "soon")
    await services.runner.shutdown(grace_seconds=5)
    assert status_of(services, job.job_id).status is JobStatus.COMPLETED


@pytest.mark.gen_test(timeout=10)
@pytest.mark.memory_only("reads the stored state synchronously inside the job")
async def test_progress_is_clamped_and_monotonic(services):
    seen = []

    async def wobbly(ctx):
        for percent in (30, 10, 150, -5):
            await ctx.progress(percent, f"step {percent}")
            seen.append(services.store._jobs[ctx.job_id].progress)
        return {}

    services.runner.register("wobbly", wobbly)
    job = await services.runner.submit("wobbly", "alice", {})
    await settle(lambda: status_of(services, job.job_id).is_terminal)
    assert seen == [30, 30, 100, 100]


@pytest.mark.gen_test(timeout=10)
async def test_non_json_result_fails_internal(services):
    async def bad(ctx):
        return {"value": float("nan")}

    services.runner.register("bad", bad)
    job = await services.runner.submit("bad", "alice", {})
    await settle(lambda: status_of(services, job.job_id).is_terminal)
    assert status_of(services, job.job_id).error_code == "internal"


@pytest.mark.gen_test(timeout=10)
async def test_cancel_right_after_start_before_first_step_still_terminates(services):
    job = await services.runner.submit("sleeping", "alice", {})
    # The task exists but has not run a single step yet.
    cancelled = await services.runner.cancel(job.job_id)
    assert cancelled.error_code == "cancelled" and cancelled.completed_at is not None
    assert services.runner.running_count() == 0 and await services.store.active_count("alice") == 0
