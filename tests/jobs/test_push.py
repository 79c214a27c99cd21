"""Push-enhanced polling through real HTTP: conditional GET, long-poll, change feed, event stream."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from server.app import shutdown
from tests.jobs.conftest import Gates
from tests.waiting import settle


async def running_gated(services, gate: str, owner: str = "alice"):
    job = await services.runner.submit("gated", owner, {}, {"gate": gate})
    await settle(lambda: services.store._jobs[job.job_id].progress == 10)
    return services.store._jobs[job.job_id]


def later(seconds: float, action) -> None:
    asyncio.get_running_loop().call_later(seconds, action)


@pytest.mark.gen_test(timeout=15)
async def test_long_poll_wakes_at_the_change_not_the_deadline(api, services, gates: Gates):
    job = await running_gated(services, "g")
    later(1.0, lambda: gates.open("g"))
    started = time.monotonic()
    reply = await api.get(f"/jobs/{job.job_id}?wait=20")
    elapsed = time.monotonic() - started
    assert reply.status == 200 and 0.9 < elapsed < 10  # at the change (1 s), far from the deadline (20 s)
    assert reply.json["version"] > job.version


@pytest.mark.gen_test(timeout=15)
async def test_long_poll_answers_at_once_when_baseline_is_old_or_job_finished(api, services):
    job = await services.runner.submit("echo", "alice", {})
    await settle(lambda: services.store._jobs[job.job_id].is_terminal)
    started = time.monotonic()
    finished = await api.get(f"/jobs/{job.job_id}?wait=20")
    assert finished.status == 200 and finished.json["status"] == "completed"
    stale = await api.get(f"/jobs/{job.job_id}?wait=20&since=1")
    assert stale.status == 200
    assert time.monotonic() - started < 10  # at once, not at the 20 s deadline


@pytest.mark.gen_test(timeout=15)
async def test_long_poll_deadline_is_304_with_if_none_match_else_200(api, services, gates: Gates):
    job = await running_gated(services, "slow")
    tagged = await api.get(f"/jobs/{job.job_id}?wait=0.3", headers={"If-None-Match": job.etag})
    assert tagged.status == 304 and tagged.body == b"" and tagged.headers["ETag"] == job.etag
    untagged = await api.get(f"/jobs/{job.job_id}?wait=0.3")
    assert untagged.status == 200 and untagged.json["version"] == job.version
    gates.open("slow")


@pytest.mark.gen_test(timeout=15)
async def test_prefer_wait_header_is_applied(api, services, gates: Gates):
    job = await running_gated(services, "p")
    later(0.2, lambda: gates.open("p"))
    reply = await api.get(f"/jobs/{job.job_id}", headers={"Prefer": "wait=5"})
    assert reply.status == 200 and reply.headers["Preference-Applied"] == "wait=5"
    assert reply.json["version"] > job.version


@pytest.mark.gen_test(timeout=15)
async def test_prefer_wait_is_a_preference_capped_or_ignored_never_an_error(api, services, gates: Gates):
    job = await running_gated(services, "q")
    later(0.3, lambda: gates.open("q"))
    capped = await api.get(f"/jobs/{job.job_id}", headers={"Prefer": "wait=100"})  # RFC 7240 §2: not required
    assert capped.status == 200 and capped.headers["Preference-Applied"] == "wait=25"
    assert capped.json["version"] > job.version  # it did wait, for the change
    other = await running_gated(services, "r")
    started = time.monotonic()
    for value in ("soon", "0", "-1", "nan", "inf"):
        ignored = await api.get(f"/jobs/{other.job_id}", headers={"Prefer": f"wait={value}"})
        assert ignored.status == 200 and "Preference-Applied" not in ignored.headers, value
    assert time.monotonic() - started < 10  # answered at once: a wait would last until the 25 s cap
    gates.open("r")


@pytest.mark.gen_test(timeout=15)
async def test_until_finished_ignores_progress_changes(api, services):
    async def stepwise(ctx):
        for step in range(1, 4):
            await asyncio.sleep(0.1)
            await ctx.progress(step * 25, f"Step {step}")
        return {"done": True}

    services.runner.register("stepwise", stepwise)
    job = await services.runner.submit("stepwise", "alice", {})
    reply = await api.get(f"/jobs/{job.job_id}?wait=10&until=finished")
    assert reply.json["status"] == "completed" and reply.json["result"] == {"done": True}


@pytest.mark.parametrize("wait", ["0", "-1", "26", "soon", "nan", "inf"])
@pytest.mark.gen_test(timeout=10)
async def test_bad_wait_is_400(api, services, wait):
    job = await services.runner.submit("echo", "alice", {})
    reply = await api.get(f"/jobs/{job.job_id}?wait={wait}")
    assert reply.status == 400 and reply.json["code"] == "invalid_wait"
    listing = await api.get(f"/jobs?wait={wait}&since=0")
    assert listing.status == 400


@pytest.mark.gen_test(timeout=15)
async def test_list_feed_wakes_on_change_and_never_misses_one(api, services):
    async def chatty(ctx):
        for step in range(5):
            await asyncio.sleep(0.01)
            await ctx.progress(step * 20, f"Step {step}")
        return {}

    services.runner.register("chatty", chatty)
    start = await api.get("/jobs")
    cursor = start.json["cursor"]
    jobs = [(await services.runner.submit("chatty", "alice", {})).job_id for _ in range(8)]
    await services.runner.submit("chatty", "bob", {})  # someone else's: never in alice's feed
    latest: dict[str, int] = {}
    while len(latest) < len(jobs) or any(
            latest[j] != services.store._jobs[j].version or not services.store._jobs[j].is_terminal for j in jobs):
        reply = await api.get(f"/jobs?since={cursor}&wait=5")
        assert reply.status == 200
        for item in reply.json["jobs"]:
            assert item["job_id"] in jobs
            assert item["version"] > latest.get(item["job_id"], 0)
            latest[item["job_id"]] = item["version"]
        cursor = reply.json["cursor"]
    assert all(services.store._jobs[j].status.value == "completed" for j in jobs)


@pytest.mark.gen_test(timeout=15)
async def test_list_feed_empty_at_deadline(api, services):
    cursor = (await api.get("/jobs")).json["cursor"]
    await services.runner.submit("echo", "bob", {})
    reply = await api.get(f"/jobs?since={cursor}&wait=0.3")
    assert reply.status == 200 and reply.json["jobs"] == [] and reply.json["count"] == 0


@pytest.mark.gen_test(timeout=15)
async def test_list_feed_old_cursor_is_410(api, services):
    from datetime import datetime, timedelta, timezone

    job = await services.runner.submit("echo", "alice", {})
    await settle(lambda: services.store._jobs[job.job_id].is_terminal)
    cursor = (await api.get("/jobs")).json["cursor"]
    await services.store.expire(datetime.now(timezone.utc) + timedelta(days=2))
    reply = await api.get(f"/jobs?since={cursor}")
    assert reply.status == 410 and reply.json["code"] == "cursor_expired"
    run_id, _, seq = cursor.partition("-")
    restarted = await api.get(f"/jobs?since=another{run_id}-{seq}")  # a cursor from an earlier run
    assert restarted.status == 410 and restarted.json["code"] == "cursor_expired"
    assert (await api.get("/jobs?since=12")).status == 400


async def read_events(base_url: str, token: str, job_id: str, last_event_id: str | None = None) -> list[dict]:
    chunks: list[bytes] = []
    headers = {"Authorization": f"Bearer {token}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    request = HTTPRequest(f"{base_url}/jobs/{job_id}/events", headers=headers, streaming_callback=chunks.append,
                          request_timeout=20)
    response = await AsyncHTTPClient().fetch(request)
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["X-Accel-Buffering"] == "no"
    events = []
    for block in b"".join(chunks).decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":"))
        if "event" in fields:  # a block with only ``retry:`` (on open, on shutdown) is not an event
            events.append({"id": int(fields["id"]), "event": fields["event"], "data": json.loads(fields["data"])})
    return events


@pytest.mark.gen_test(timeout=15)
async def test_event_stream_sends_each_change_and_ends_after_terminal(api, base_url, services, gates: Gates):
    job = await running_gated(services, "sse")
    later(0.3, lambda: gates.open("sse"))
    events = await read_events(base_url, api.token(), job.job_id)
    assert [e["event"] for e in events] == ["job"] * len(events)
    assert events[0]["id"] == job.version and events[-1]["data"]["status"] == "completed"
    assert [e["id"] for e in events] == sorted({e["id"] for e in events})
    assert events[-1]["id"] == services.store._jobs[job.job_id].version
    assert services.waiters.open_count == 0


@pytest.mark.gen_test(timeout=15)
async def test_event_stream_resume_with_last_event_id(api, base_url, services):
    job = await services.runner.submit("echo", "alice", {})
    await settle(lambda: services.store._jobs[job.job_id].is_terminal)
    final = services.store._jobs[job.job_id]
    resumed = await read_events(base_url, api.token(), job.job_id, last_event_id=str(final.version - 1))
    assert [e["id"] for e in resumed] == [final.version]


@pytest.mark.gen_test(timeout=15)
async def test_event_stream_sends_keepalive_comments(api, base_url, services, settings, gates: Gates):
    from dataclasses import replace

    services.settings = replace(settings, push=replace(settings.push, keepalive_seconds=0.1))
    job = await running_gated(services, "ka")
    chunks: list[bytes] = []
    later(0.5, lambda: gates.open("ka"))
    await AsyncHTTPClient().fetch(HTTPRequest(f"{base_url}/jobs/{job.job_id}/events", streaming_callback=chunks.append,
                                              headers={"Authorization": f"Bearer {api.token()}"}))
    assert b": keep-alive\n\n" in b"".join(chunks)


@pytest.mark.gen_test(timeout=30)
@pytest.mark.memory_only("hundreds of abandoned connections: independent of the store")
async def test_abandoned_long_polls_leave_no_waiters(api, base_url, services):
    job = await running_gated(services, "never")
    permanent = services.store.subscriber_count()  # the metrics observer stays subscribed
    services.waiters._max_per_user = 500
    client = AsyncHTTPClient(force_instance=True, max_clients=200)
    token = api.token()
    fetches = [client.fetch(f"{base_url}/jobs/{job.job_id}?wait=20", headers={"Authorization": f"Bearer {token}"},
                            request_timeout=4) for _ in range(200)]
    await settle(lambda: services.waiters.open_count == 200)
    results = await asyncio.gather(*fetches, return_exceptions=True)
    assert all(isinstance(r, HTTPClientError) and r.code == 599 for r in results)  # the client gave up
    client.close()
    await settle(lambda: services.waiters.open_count == 0)
    assert services.store.subscriber_count() == permanent
    assert services.requests.count == 0  # none left counted in flight (shutdown would wait for them)


@pytest.mark.gen_test(timeout=15)
async def test_per_user_cap_is_429_with_retry_after(api, services):
    job = await running_gated(services, "cap")
    services.waiters._max_per_user = 3
    waits = [asyncio.ensure_future(api.get(f"/jobs/{job.job_id}?wait=2")) for _ in range(3)]
    await settle(lambda: services.waiters.open_count == 3)
    refused = await api.get(f"/jobs/{job.job_id}?wait=2")
    assert refused.status == 429 and refused.json["code"] == "too_many_waits" and refused.headers["Retry-After"]
    assert (await api.get(f"/jobs/{job.job_id}")).status == 200  # plain polling still works
    other = await services.runner.submit("sleeping", "bob", {})
    assert (await api.get(f"/jobs/{other.job_id}?wait=0.1", user="bob")).status == 200
    await asyncio.gather(*waits)


@pytest.mark.gen_test(timeout=15)
@pytest.mark.memory_only("on Redis running jobs are handed back, not interrupted (test_redis_processes)")
async def test_shutdown_answers_open_waits_at_once(api, base_url, services):
    job = await running_gated(services, "forever")
    poll = asyncio.ensure_future(api.get(f"/jobs/{job.job_id}?wait=20"))
    stream = asyncio.ensure_future(read_events(base_url, api.token(), job.job_id))
    await settle(lambda: services.waiters.open_count == 2)
    started = time.monotonic()
    await shutdown(services, grace_seconds=0)
    reply, events = await poll, await stream
    assert time.monotonic() - started < 10  # at once, not at the 20 s deadline
    assert reply.status == 200 and reply.json["job_id"] == job.job_id
    assert events and events[-1]["data"]["job_id"] == job.job_id
    final = services.store._jobs[job.job_id]
    assert final.status.value == "failed" and final.error_code == "interrupted"
    assert services.waiters.open_count == 0


@pytest.mark.gen_test(timeout=15)
async def test_long_poll_from_a_client_that_already_left_logs_no_error(api, services, caplog):
    import logging
    import socket
    from urllib.parse import urlsplit

    job = await running_gated(services, "gone")
    permanent = services.store.subscriber_count()  # the metrics observer stays subscribed
    port = urlsplit(api.base_url).port
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(f"GET /jobs/{job.job_id}?wait=0.3 HTTP/1.1\r\nHost: x\r\n"
                     f"Authorization: Bearer {api.token()}\r\n\r\n".encode())
        sock.close()
    await asyncio.sleep(1.0)
    await settle(lambda: services.waiters.open_count == 0)
    assert services.store.subscriber_count() == permanent
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.gen_test(timeout=15)
async def test_list_feed_waits_despite_other_users_activity(api, services):
    cursor = (await api.get("/jobs")).json["cursor"]
    await services.runner.submit("echo", "bob", {})  # moves the store's sequence, not alice's feed
    started = time.monotonic()
    reply = await api.get(f"/jobs?since={cursor}&wait=0.5")
    assert reply.status == 200 and reply.json["jobs"] == []
    assert time.monotonic() - started >= 0.4  # it waited instead of answering empty at once


@pytest.mark.gen_test(timeout=15)
async def test_event_stream_of_a_finished_job_already_seen_is_204(api, base_url, services):
    # 204 is how the SSE spec tells a client to stop reconnecting (issue 16, item 2).
    job = await services.runner.submit("echo", "alice", {})
    await settle(lambda: services.store._jobs[job.job_id].is_terminal)
    final = services.store._jobs[job.job_id]
    for seen in (final.version, final.version + 5):
        reply = await api.get(f"/jobs/{job.job_id}/events", headers={"Last-Event-ID": str(seen)})
        assert reply.status == 204 and reply.body == b""
    resumed = await read_events(base_url, api.token(), job.job_id, last_event_id=str(final.version - 1))
    assert [e["id"] for e in resumed] == [final.version]  # one version short: the terminal event, then the end
    assert services.waiters.open_count == 0


@pytest.mark.parametrize("query,headers", [
    ("?since=%C2%B2", {}), ("?wait=1&since=%C2%B2", {}), ("", {"If-None-Match": '"{job}.\u00b2"'}),
])
@pytest.mark.gen_test(timeout=15)
async def test_unicode_digits_are_a_400_or_ignored_never_a_500(api, services, query, headers):
    job = await services.runner.submit("echo", "alice", {})
    headers = {k: v.replace("{job}", job.job_id).encode("utf-8").decode("latin-1") for k, v in headers.items()}
    reply = await api.get(f"/jobs/{job.job_id}{query}", headers=headers)
    assert reply.status in (200, 400), reply.body
    feed = await api.get("/jobs?since=%C2%B2")
    assert feed.status == 400 and feed.json["code"] == "invalid_since"


@pytest.mark.gen_test(timeout=15)
async def test_if_none_match_star_is_304(api, services):
    job = await services.runner.submit("echo", "alice", {})
    reply = await api.get(f"/jobs/{job.job_id}", headers={"If-None-Match": "*"})
    assert reply.status == 304
