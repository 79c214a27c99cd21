"""Parked long-polls on the wire: the answer a detached long-poll writes is the one a plain poll
gets, and the connection afterwards serves the client's next request (or closes when it should)."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from tornado.httputil import HTTPServerRequest

from server.app import shutdown
from server.jobs.handlers import JobHandler
from tests.jobs.conftest import Gates
from tests.jobs.test_push import running_gated
from tests.waiting import settle

VARYING = {"date"}  # the only header allowed to differ between a parked answer and a plain poll


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class RawConnection:
    """One client connection speaking HTTP/1.x by hand, so the test sees every byte and the close."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, token: str):
        self.reader, self.writer, self.token = reader, writer, token

    @classmethod
    async def open(cls, api) -> RawConnection:
        reader, writer = await asyncio.open_connection("127.0.0.1", urlsplit(api.base_url).port)
        return cls(reader, writer, api.token())

    def send(self, path: str, headers: dict[str, str] | None = None, version: str = "HTTP/1.1") -> None:
        lines = [f"GET {path} {version}", "Host: 127.0.0.1", f"Authorization: Bearer {self.token}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    async def answer(self) -> Answer:
        status = int((await self.reader.readline()).split()[1])
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        return Answer(status, headers, await self.reader.readexactly(length) if length else b"")

    async def closed_by_server(self) -> bool:
        return await asyncio.wait_for(self.reader.read(1), 5) == b""

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
def connect(api):
    """Opens raw connections to the test server; closes them all at teardown."""
    opened: list[RawConnection] = []

    async def open_one() -> RawConnection:
        opened.append(await RawConnection.open(api))
        return opened[-1]

    yield open_one
    for connection in opened:
        connection.close()


def live_requests(path: str) -> list[HTTPServerRequest]:
    """Tornado request objects (or handlers holding one) still alive for ``path``."""
    gc.collect()
    found = [o.request if isinstance(o, JobHandler) else o for o in gc.get_objects()
             if isinstance(o, (JobHandler, HTTPServerRequest))]
    return [request for request in found if request.path == path]


def assert_same_answer(parked: Answer, plain: Answer) -> None:
    assert parked.status == plain.status
    assert parked.body == plain.body
    assert {k: v for k, v in parked.headers.items() if k not in VARYING} == \
           {k: v for k, v in plain.headers.items() if k not in VARYING}
    assert "date" in parked.headers


@pytest.mark.gen_test(timeout=15)
async def test_answer_at_a_change_is_a_plain_poll_and_the_connection_serves_the_next_request(api, connect, services,
                                                                                             gates: Gates):
    job = await running_gated(services, "g")
    connection = await connect()
    connection.send(f"/jobs/{job.job_id}?wait=20")
    await settle(lambda: services.waiters.open_count == 1)
    gates.open("g")
    parked = await connection.answer()
    connection.send(f"/jobs/{job.job_id}")  # the same connection, kept alive
    plain = await connection.answer()
    assert parked.status == 200 and json.loads(parked.body)["status"] == "completed"
    assert_same_answer(parked, plain)
    assert parked.headers["content-length"] == str(len(parked.body))
    assert "retry-after" not in parked.headers  # finished: nothing more to poll for


@pytest.mark.gen_test(timeout=15)
async def test_answer_at_the_deadline_is_a_plain_poll_with_retry_after(api, connect, services, gates: Gates):
    job = await running_gated(services, "d")
    connection = await connect()
    connection.send(f"/jobs/{job.job_id}?wait=0.3")
    parked = await connection.answer()
    connection.send(f"/jobs/{job.job_id}")
    plain = await connection.answer()
    assert parked.status == 200 and json.loads(parked.body)["version"] == job.version
    assert_same_answer(parked, plain)
    assert parked.headers["retry-after"] == "2"
    gates.open("d")


@pytest.mark.gen_test(timeout=15)
async def test_304_at_the_deadline_is_a_plain_conditional_get(api, connect, services, gates: Gates):
    job = await running_gated(services, "n")
    connection = await connect()
    connection.send(f"/jobs/{job.job_id}?wait=0.3", {"If-None-Match": job.etag})
    parked = await connection.answer()
    connection.send(f"/jobs/{job.job_id}", {"If-None-Match": job.etag})
    plain = await connection.answer()
    assert parked.status == 304 and parked.body == b"" and parked.headers["etag"] == job.etag
    assert "content-type" not in parked.headers
    assert_same_answer(parked, plain)
    gates.open("n")


@pytest.mark.gen_test(timeout=15)
@pytest.mark.parametrize(("version", "headers", "registered"), [
    ("HTTP/1.1", {"Connection": "close"}, True),
    ("HTTP/1.0", {}, True),
    ("HTTP/1.1", {}, False),  # an app served by an HTTPServer that server.app.listen did not create
], ids=["connection-close", "http-1.0", "no-registered-server"])
async def test_connection_closes_after_the_answer_when_it_cannot_be_kept(api, connect, services, gates: Gates,
                                                                         version, headers, registered):
    if not registered:
        services.http_server = None
    job = await running_gated(services, "c")
    connection = await connect()
    connection.send(f"/jobs/{job.job_id}?wait=0.2", headers, version=version)
    answer = await connection.answer()
    assert answer.status == 200 and answer.headers["connection"] == "close"
    assert await connection.closed_by_server()
    gates.open("c")


@pytest.mark.gen_test(timeout=15)
async def test_a_request_pipelined_behind_a_parked_poll_is_answered_after_it(api, connect, services, gates: Gates):
    job = await running_gated(services, "p")
    other = await services.runner.submit("echo", "alice", {})
    connection = await connect()
    connection.send(f"/jobs/{job.job_id}?wait=20")
    await settle(lambda: services.waiters.open_count == 1)
    connection.send(f"/jobs/{other.job_id}")  # sent before the first answer (HTTP/1.1 pipelining)
    await asyncio.sleep(0.1)
    gates.open("p")
    first, second = await connection.answer(), await connection.answer()
    assert json.loads(first.body)["job_id"] == job.job_id and json.loads(first.body)["status"] == "completed"
    assert json.loads(second.body)["job_id"] == other.job_id


@pytest.mark.gen_test(timeout=15)
@pytest.mark.memory_only("memory per parked poll: independent of the store")
async def test_parked_polls_keep_no_request_handler_and_are_logged_when_answered(api, connect, services, gates: Gates,
                                                                                caplog):
    job = await running_gated(services, "m")
    connections = [await connect() for _ in range(20)]
    for connection in connections:
        connection.send(f"/jobs/{job.job_id}?wait=20&until=finished")
    await settle(lambda: services.waiters.open_count == 20)
    await settle(lambda: not live_requests(f"/jobs/{job.job_id}"))  # what parking saves (they unwind in a few turns)
    assert services.requests.count == 20  # still in flight: shutdown waits for their answers
    caplog.set_level(logging.INFO, logger="server.access")
    gates.open("m")
    answers = [await connection.answer() for connection in connections]
    assert {answer.status for answer in answers} == {200}
    await settle(lambda: services.requests.count == 0)
    lines = [r for r in caplog.records if r.name == "server.access" and r.route == "/jobs/{id}"]
    assert len(lines) == 20
    assert {(r.status, r.user_id, r.path) for r in lines} == {(200, "alice", f"/jobs/{job.job_id}")}


@pytest.mark.gen_test(timeout=15)
async def test_shutdown_answers_a_parked_poll_and_closes_its_connection(api, connect, services):
    job = await running_gated(services, "forever")
    connection = await connect()
    connection.send(f"/jobs/{job.job_id}?wait=20")
    await settle(lambda: services.waiters.open_count == 1)
    await shutdown(services, grace_seconds=0)
    answer = await connection.answer()
    assert answer.status == 200 and json.loads(answer.body)["job_id"] == job.job_id
    assert answer.headers["connection"] == "close"
    assert await connection.closed_by_server()
    assert services.requests.count == 0


@pytest.mark.gen_test(timeout=15)
async def test_a_client_that_closes_right_after_its_request_releases_its_wait_at_once(api, connect, services,
                                                                                    gates: Gates, caplog):
    # The close often lands before the poll parks: the stream is already closed when it is handed over,
    # so no close callback will ever run. Before the fix the wait, its per-user slot and its in-flight
    # count stayed until the deadline (25 s at most), and ten such clients made a user's next polls 429.
    job = await running_gated(services, "r")
    caplog.set_level(logging.INFO, logger="server.access")
    for _ in range(10):
        connection = await connect()
        connection.send(f"/jobs/{job.job_id}?wait=20")
        await connection.writer.drain()
        connection.close()
        await settle(lambda: services.waiters.open_count == 0 and services.requests.count == 0, timeout=2)
    assert not [r for r in caplog.records if r.name == "server.access" and r.route == "/jobs/{id}"]  # never answered
    gates.open("r")
