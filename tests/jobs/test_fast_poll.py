"""The plain-poll fast path (``server.jobs.fast_poll``): a plain ``GET /jobs/{id}`` gets the answer
``JobHandler`` gives (status, headers, body), is logged, counted and tracked in flight like any
request, keeps the connection alive, and every other request goes to the route table."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import replace
from typing import Any

import pytest
import tornado.iostream
import tornado.tcpclient

from server.config import HttpSettings
from server.jobs.fast_poll import PollFastPath
from server.services import Services
from tests.conftest import Api, Reply
from tests.jobs.conftest import Gates
from tests.waiting import settle


@pytest.fixture(params=["same-origin", "cors"])
def settings(settings, request):
    """Both header sets: without ``CORS_ORIGINS``, and with it (every answer then says ``Vary: Origin``)."""
    if request.param == "same-origin":
        return settings
    return replace(settings, http=HttpSettings(cors_origins=("https://app.example",)))


@pytest.fixture
def fast_answers(monkeypatch) -> list[int]:
    """Counts the polls the fast path answers (one entry per answer: its status)."""
    answered: list[int] = []
    answer = PollFastPath.answer

    def counted(self: PollFastPath, connection: Any, found: Any) -> int:
        answered.append(answer(self, connection, found))
        return answered[-1]

    monkeypatch.setattr(PollFastPath, "answer", counted)
    return answered


def comparable(reply: Reply) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers (but ``Date``, which moves with the clock) and body."""
    headers = sorted((name, value) for name, value in reply.headers.get_all() if name != "Date")
    return reply.status, headers, reply.body


async def fast_and_routed(api: Api, path: str, monkeypatch, **kwargs: Any) -> tuple[Reply, Reply]:
    """The same request answered by the fast path, then by the route table (fast path switched off)."""
    fast = await api.get(path, **kwargs)
    with monkeypatch.context() as patch:
        patch.setattr(PollFastPath, "takes", lambda self, start_line, headers: False)
        routed = await api.get(path, **kwargs)
    return fast, routed


async def finished(services: Services, job_id: str) -> None:
    await settle(lambda: services.store._jobs[job_id].is_terminal)


@pytest.mark.gen_test(timeout=20)
async def test_fast_answer_equals_the_handlers_for_every_kind_of_job(api, services, gates: Gates, fast_answers,
                                                                   monkeypatch):
    completed = await services.runner.submit("echo", "alice", {"case_id": "c1"}, {"value": "שלום"})
    failed = await services.runner.submit("failing", "alice", {})
    running = await services.runner.submit("gated", "alice", {}, {"gate": "g"})
    for job in (completed, failed):
        await finished(services, job.job_id)
    await settle(lambda: services.store._jobs[running.job_id].progress == 10)
    for job in (completed, failed, running):
        fast, routed = await fast_and_routed(api, f"/jobs/{job.job_id}", monkeypatch)
        assert comparable(fast) == comparable(routed)
        assert fast.status == 200 and fast.json["job_id"] == job.job_id
    assert fast.headers["Retry-After"] == "2"  # the running job's
    admin, routed = await fast_and_routed(api, f"/jobs/{completed.job_id}", monkeypatch, user="root", admin=True)
    assert comparable(admin) == comparable(routed)
    assert fast_answers == [200] * 4
    gates.open("g")
    await finished(services, running.job_id)
    assert services.requests.count == 0  # every fast answer left the in-flight count


@pytest.mark.gen_test(timeout=20)
async def test_refusals_and_other_requests_get_the_route_tables_answers(api, services, fast_answers):
    job = await services.runner.submit("echo", "alice", {})
    await finished(services, job.job_id)
    path = f"/jobs/{job.job_id}"
    first = await api.get(path)
    assert first.status == 200 and fast_answers == [200]
    assert (await api.get(path, user="mallory")).json == {"detail": "Job not found", "code": "not_found"}
    assert (await api.get(f"/jobs/{uuid.uuid4()}")).json["code"] == "not_found"
    assert (await api.get("/jobs/not-a-uuid")).json["code"] == "invalid_job_id"
    assert (await api.get(path, user=None)).status == 401
    assert (await api.get(path, headers={"Authorization": "Bearer not-a-token"})).json["code"] == "invalid_token"
    assert (await api.get(path, headers={"If-None-Match": first.headers["ETag"]})).status == 304
    assert (await api.get(path + "?wait=1")).status == 200  # finished: answered at once, by the handler
    assert (await api.request("HEAD", path)).status == 200
    assert (await api.get(path + "/cancel")).status == 405
    assert fast_answers == [200]  # none of those was answered by the fast path
    assert services.requests.count == 0


@pytest.mark.gen_test(timeout=20)
async def test_fast_answer_is_logged_and_counted_under_the_poll_route(api, services, fast_answers, caplog):
    job = await services.runner.submit("echo", "alice", {})
    await finished(services, job.job_id)
    with caplog.at_level(logging.INFO, logger="server.access"):
        await api.get(f"/jobs/{job.job_id}")
    assert fast_answers == [200]
    [line] = [record for record in caplog.records if record.name == "server.access"]
    assert (line.method, line.path, line.route, line.status, line.user_id) == (  # type: ignore[attr-defined]
        "GET", f"/jobs/{job.job_id}", "/jobs/{id}", 200, "alice")
    assert b"result" not in line.getMessage().encode()  # the access line never carries the job
    metrics = (await api.get("/metrics", user=None)).body.decode()
    assert 'http_requests_total{method="GET",route="/jobs/{id}",status="200"} 1.0' in metrics


async def exchange(port: int, requests: bytes, answers: int) -> tuple[list[bytes], bool]:
    """Send raw ``requests`` on one connection; read ``answers`` responses (each with a
    ``Content-Length``). Returns the raw responses and whether the server then closed the connection."""
    stream = await tornado.tcpclient.TCPClient().connect("127.0.0.1", port)
    await stream.write(requests)
    responses = []
    for _ in range(answers):
        head = await stream.read_until(b"\r\n\r\n")
        lengths = [line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")]
        length = int(lengths[0])
        responses.append(head + await stream.read_bytes(length))
    try:
        await stream.read_bytes(1)  # the test's timeout bounds this
        closed = False
    except tornado.iostream.StreamClosedError:
        closed = True
    return responses, closed


@pytest.mark.gen_test(timeout=20)
async def test_keep_alive_pipelining_and_http_1_0(api, services, http_port, fast_answers):
    job = await services.runner.submit("echo", "alice", {})
    await finished(services, job.job_id)
    auth = f"Authorization: Bearer {api.token()}\r\n"
    poll = f"GET /jobs/{job.job_id} HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode()
    last = f"GET /jobs/{job.job_id} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}\r\n".encode()
    responses, closed = await exchange(http_port, poll + poll + last, 3)
    assert [response.split(b"\r\n")[0] for response in responses] == [b"HTTP/1.1 200 OK"] * 3
    assert b"Connection: close" not in responses[0] and b"Connection: close" in responses[2] and closed
    old = f"GET /jobs/{job.job_id} HTTP/1.0\r\nAuthorization: Bearer {api.token()}\r\n\r\n".encode()
    [response], closed = await exchange(http_port, old, 1)
    assert response.startswith(b"HTTP/1.1 200 OK") and response.endswith(b"}") and closed
    assert fast_answers == [200] * 4
    assert services.requests.count == 0


async def exchange_until_closed(port: int, request: bytes) -> bytes:
    """Send one raw ``request``; everything the server sends until it closes the connection (or
    within 2 s: a kept-alive answer then fails the test's assertion instead of its timeout)."""
    stream = await tornado.tcpclient.TCPClient().connect("127.0.0.1", port)
    await stream.write(request)
    received = b""
    try:
        while True:
            received += await asyncio.wait_for(stream.read_bytes(1 << 16, partial=True), 2)
    except (tornado.iostream.StreamClosedError, asyncio.TimeoutError):
        pass
    stream.close()
    return received


@pytest.mark.gen_test(timeout=20)
@pytest.mark.parametrize("host_lines",
                         ["", "Host: a b\r\n", "Host: <x>\r\n", "Host: a\r\nHost: b\r\n", "Host: a,b\r\n"])
async def test_a_missing_invalid_or_repeated_host_gets_tornados_400(api, services, http_port, fast_answers,
                                                                    host_lines):
    """Tornado refuses an HTTP/1.1 request without a ``Host``, with an invalid one, or with several
    (RFC 9112 §3.2: MUST answer 400) when it builds the request; the fast path builds none, so it
    must leave such a request to the route table instead of answering it 200."""
    job = await services.runner.submit("echo", "alice", {})
    await finished(services, job.job_id)
    request = f"GET /jobs/{job.job_id} HTTP/1.1\r\n{host_lines}Authorization: Bearer {api.token()}\r\n\r\n"
    response = await exchange_until_closed(http_port, request.encode())
    assert response == b"HTTP/1.1 400 Bad Request\r\n\r\n"
    assert fast_answers == []
    assert services.requests.count == 0


@pytest.mark.gen_test(timeout=20)
@pytest.mark.parametrize("host", ["x", "api.example.com:8443", "127.0.0.1:80", "[::1]:8080"])
async def test_ordinary_hosts_are_still_answered_by_the_fast_path(api, services, http_port, fast_answers, host):
    job = await services.runner.submit("echo", "alice", {})
    await finished(services, job.job_id)
    request = (f"GET /jobs/{job.job_id} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
               f"Authorization: Bearer {api.token()}\r\n\r\n")
    response = await exchange_until_closed(http_port, request.encode())
    assert response.startswith(b"HTTP/1.1 200 OK") and fast_answers == [200]


@pytest.mark.gen_test(timeout=20)
async def test_a_poll_the_fast_path_fails_to_render_is_answered_by_the_handler(api, services, fast_answers,
                                                                            monkeypatch):
    job = await services.runner.submit("echo", "alice", {})
    await finished(services, job.job_id)

    def broken(job: Any) -> str:
        raise RuntimeError("rendering failed")

    monkeypatch.setattr("server.jobs.fast_poll.job_json", broken)  # the handler keeps its own, working one
    reply = await api.get(f"/jobs/{job.job_id}")
    assert reply.status == 200 and reply.json["job_id"] == job.job_id
    assert fast_answers == []
    assert services.requests.count == 0
