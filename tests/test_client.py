"""The Python client against a real server (in a thread, since the client is synchronous)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import tornado.web

from server.client import JobsClient, JobsClientError, JobWaitTimeout, parse_retry_after, parse_timestamp
from server.draining import Drain
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


class FlakyHandler(tornado.web.RequestHandler):
    """Answers every request 502 without ``Retry-After`` and notes when it came."""

    def initialize(self, arrivals: list[float]) -> None:
        self.arrivals = arrivals

    def get(self, _path: str) -> None:
        self.arrivals.append(time.monotonic())
        self.set_status(502)
        self.finish({"detail": "bad gateway", "code": "bad_gateway"})


@pytest.fixture
def arrivals() -> list[float]:
    return []


@pytest.fixture
def app(app, arrivals):
    app.add_handlers(r".*", [(r"/flaky/(.*)", FlakyHandler, {"arrivals": arrivals})])
    return app


def requests_counted(services, status: str) -> float:
    value = services.metrics.registry.get_sample_value(
        "http_requests_total", {"route": "/jobs/{id}", "method": "GET", "status": status})
    return value or 0.0


@pytest.mark.gen_test(timeout=30)
async def test_client_long_poll_seconds_above_the_server_cap_still_long_polls(api, services):
    # Issue 16, item 6: ?wait=60 was a 400 and the client fell back to plain polling.
    job = await services.runner.submit("slow", "alice", {}, {"seconds": 0.6})
    client = JobsClient(api.base_url, api.token(), long_poll_seconds=60)
    final = await in_thread(client.wait, job.job_id, timeout=20)
    assert final["status"] == "completed"
    assert requests_counted(services, "200") == 1  # one long-poll, answered when the job finished
    assert requests_counted(services, "400") == 0


@pytest.mark.gen_test(timeout=30)
async def test_client_honours_retry_after_of_a_draining_server(api, services):
    job = await services.runner.submit("slow", "alice", {}, {"seconds": 30})
    services.drain = Drain(5)  # what SIGTERM does first: long-polls now get 503 + Retry-After
    client = JobsClient(api.base_url, api.token(), poll_interval=0.1)
    with pytest.raises(JobWaitTimeout):
        await in_thread(client.wait, job.job_id, timeout=3)
    assert requests_counted(services, "503") == 1  # then it slept Retry-After (6 s) past its own timeout
    services.drain = None


@pytest.mark.gen_test(timeout=30)
async def test_client_backs_off_on_repeated_errors(api, arrivals):
    client = JobsClient(f"{api.base_url}/flaky", api.token())
    with pytest.raises(JobWaitTimeout):
        await in_thread(client.wait, "0190b5d2-0000-7000-8000-000000000000", timeout=3.5)
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    assert 2 <= len(arrivals) <= 4, gaps  # 0.5-1 s, then 1-2 s, then 2-4 s between tries
    assert gaps[0] >= 0.5 and (len(gaps) < 2 or gaps[1] >= 1.0), gaps


@pytest.mark.gen_test(timeout=20)
async def test_client_parse_timestamp_reads_the_servers_z_timestamps(api, services):
    # Issue 16, item 13: datetime.fromisoformat cannot read "...Z" before Python 3.11.
    job = await services.runner.submit("slow", "alice", {}, {"seconds": 0.05})
    final = await in_thread(JobsClient(api.base_url, api.token()).wait, job.job_id, timeout=10)
    assert final["created_at"].endswith("Z")
    created, completed = parse_timestamp(final["created_at"]), parse_timestamp(final["completed_at"])
    assert created is not None and completed is not None
    assert created.tzinfo is not None and created.utcoffset() == timedelta(0)
    assert created <= completed <= datetime.now(timezone.utc)
    assert parse_timestamp(final["started_at"].replace("Z", "+00:00")) == parse_timestamp(final["started_at"])
    assert parse_timestamp(None) is None
    with pytest.raises(ValueError):
        parse_timestamp("yesterday")


def test_client_parse_retry_after_reads_seconds_and_http_dates():
    assert parse_retry_after("7") == 7.0
    in_a_minute = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=60), usegmt=True)
    assert 55 <= (parse_retry_after(in_a_minute) or 0) <= 60
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: no wait
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
