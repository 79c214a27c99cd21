"""Graceful shutdown in process: 503 for new jobs, waits answered at once, grace, closers."""

from __future__ import annotations

import asyncio

import pytest

import server.app
from server.app import close_services, shutdown, stop_jobs
from tests.waiting import settle


async def held_job(api, services) -> str:
    job_id = (await api.post("/test/jobs", body={"job_type": "held"})).json["job_id"]
    await settle(lambda: services.store._jobs[job_id].progress == 10)
    return job_id


@pytest.mark.gen_test(timeout=15)
async def test_shutdown_answers_waits_refuses_jobs_and_interrupts_after_the_grace(api, services):
    job_id = await held_job(api, services)
    poll = asyncio.ensure_future(api.get(f"/jobs/{job_id}?wait=20"))
    events = asyncio.ensure_future(api.get(f"/jobs/{job_id}/events"))
    await settle(lambda: services.waiters.open_count == 2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    stopping = asyncio.ensure_future(stop_jobs(services, grace_seconds=1.0))
    answered = await poll
    assert answered.status == 200 and answered.json["status"] == "running"
    assert loop.time() - started < 0.5  # at once, not at the grace's end
    refused = await api.post("/test/jobs", body={"job_type": "quick"})
    assert refused.status == 503 and refused.json["code"] == "shutting_down" and refused.headers["Retry-After"]
    assert (await api.get(f"/jobs/{job_id}")).status == 200  # polling still works during the grace
    await stopping
    assert loop.time() - started >= 0.9
    final = (await api.get(f"/jobs/{job_id}")).json
    assert final["status"] == "failed" and final["error_code"] == "interrupted"
    assert "restarted" in final["error"]
    stream = await events
    assert stream.status == 200 and b"event: job" in stream.body


@pytest.mark.gen_test(timeout=15)
async def test_job_finishing_within_the_grace_completes(api, services, release_held):
    job_id = await held_job(api, services)
    stopping = asyncio.ensure_future(stop_jobs(services, grace_seconds=5))
    await asyncio.sleep(0.1)
    release_held.set()
    await asyncio.wait_for(stopping, 2)  # returns as soon as the job is done, not after 5 s
    assert services.store._jobs[job_id].status.value == "completed"


@pytest.mark.gen_test(timeout=15)
async def test_closers_run_newest_first_and_one_failure_or_hang_stops_none(services, monkeypatch):
    monkeypatch.setattr(server.app, "CLOSER_TIMEOUT_SECONDS", 0.2)
    calls: list[str] = []

    def closer(name: str, *, fail: bool = False, hang: bool = False):
        async def close() -> None:
            calls.append(name)
            if hang:
                await asyncio.sleep(30)
            if fail:
                raise OSError("boom")
        return close

    services.closers.extend([closer("database"), closer("providers", fail=True), closer("cache", hang=True)])
    await shutdown(services, 0)
    assert calls == ["cache", "providers", "database"]
    assert services.closers == []
    await close_services(services)  # a second call is harmless
    assert calls == ["cache", "providers", "database"]


@pytest.mark.gen_test(timeout=20)
async def test_draining_answers_carry_retry_after_and_new_waits_are_refused(api, services, release_held):
    # Issue 16, item 1: nothing answered during the grace invites the client straight back.
    job_id = await held_job(api, services)
    etag = (await api.get(f"/jobs/{job_id}")).headers["ETag"]
    cursor = (await api.get("/jobs")).json["cursor"]
    conditional = asyncio.ensure_future(api.get(f"/jobs/{job_id}?wait=20", headers={"If-None-Match": etag}))
    feed = asyncio.ensure_future(api.get(f"/jobs?since={cursor}&wait=20"))
    await settle(lambda: services.waiters.open_count == 2)
    stopping = asyncio.ensure_future(stop_jobs(services, grace_seconds=4.0))
    not_modified, changes = await conditional, await feed
    assert not_modified.status == 304 and 4 <= int(not_modified.headers["Retry-After"]) <= 6
    assert not_modified.headers["Connection"] == "close"
    assert changes.status == 200 and int(changes.headers["Retry-After"]) >= 4
    assert changes.headers["Connection"] == "close"
    for path in (f"/jobs/{job_id}?wait=20", f"/jobs/{job_id}/events", f"/jobs?since={cursor}&wait=20"):
        refused = await api.get(path)
        assert refused.status == 503 and refused.json["code"] == "shutting_down", path
        assert int(refused.headers["Retry-After"]) >= 1 and refused.headers["Connection"] == "close", path
    plain = await api.get(f"/jobs/{job_id}")
    assert plain.status == 200 and plain.headers["Retry-After"] == "2"  # plain polling is unchanged
    release_held.set()
    await stopping
    assert services.waiters.open_count == 0
