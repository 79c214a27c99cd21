"""The Python client against a real server (in a thread, since the client is synchronous)."""

from __future__ import annotations

import asyncio

import pytest

from server.client import JobsClient, JobsClientError, JobWaitTimeout
from tests.waiting import settle


async def in_thread(func, *args, **kwargs):
    return await asyncio.get_running_loop().run_in_executor(None, lambda: func(*args, **kwargs))


@pytest.fixture
def services(services):
    async def slow(ctx):
        await asyncio.sleep(ctx.params.get("seconds", 0.5))
        await ctx.progress(50, "Half")
        await asyncio.sleep(ctx.params.get("seconds", 0.5))
        return {"ok": True}

    services.runner.register("slow", slow)
    return services


@pytest.mark.gen_test(timeout=20)
async def test_client_wait_returns_the_finished_job_via_long_poll(api, services):
    job = await services.runner.submit("slow", "alice", {})
    client = JobsClient(api.base_url, api.token())
    final = await in_thread(client.wait, job.job_id, timeout=10)
    assert final["status"] == "completed" and final["result"] == {"ok": True}


@pytest.mark.gen_test(timeout=20)
async def test_client_falls_back_to_polling_when_long_polls_are_refused(api, services):
    services.waiters._max_per_user = 0  # every long-poll answers 429
    job = await services.runner.submit("slow", "alice", {}, {"seconds": 0.2})
    client = JobsClient(api.base_url, api.token(), poll_interval=0.1)
    final = await in_thread(client.wait, job.job_id, timeout=10)
    assert final["status"] == "completed"


@pytest.mark.gen_test(timeout=20)
async def test_client_wait_times_out_and_unknown_job_raises(api, services):
    job = await services.runner.submit("slow", "alice", {}, {"seconds": 30})
    client = JobsClient(api.base_url, api.token())
    with pytest.raises(JobWaitTimeout):
        await in_thread(client.wait, job.job_id, timeout=0.5)
    cancelled = await in_thread(client.cancel, job.job_id)
    assert cancelled["error_code"] == "cancelled"
    with pytest.raises(JobsClientError) as missing:
        await in_thread(client.get, "0190b5d2-0000-7000-8000-000000000000")
    assert missing.value.status == 404
    await settle(lambda: services.waiters.open_count == 0)
