"""What the server relies on in Tornado beyond its documented API, checked on a bare Tornado app.

The parked long-poll (``server/http/parking.py``) detaches a request's connection, writes the HTTP/1.1
answer itself and hands the connection back with ``HTTPServer.handle_stream``; ``server/web.py`` and
``server/jobs/handlers.py`` read and set private attributes of the HTTP/1 connection and the handler.
Each test here names what a Tornado upgrade must keep; when one fails, fix that module (or keep the
range in ``setup.py`` below the release that changed it) before anything else.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import pytest
import tornado.httpserver
import tornado.httputil
import tornado.web
from tornado.http1connection import HTTP1Connection

BROKE = "Tornado changed what server/http/parking.py relies on ({}); see the tornado range in setup.py"


class DetachHandler(tornado.web.RequestHandler):
    """``GET /detach``: answers as a parked poll does (detach, raw write, hand the connection back)."""

    def initialize(self, seen: dict[str, Any]) -> None:
        self.seen = seen

    def get(self) -> None:
        self.set_header("X-Prepared", "kept")
        self.seen["headers"] = list(self._headers.get_all())
        stream = self.detach()
        address = stream.socket.getpeername()
        server = self.seen["server"]
        written = stream.write(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ndetached")
        written.add_done_callback(lambda _: server.handle_stream(stream, address))


class PlainHandler(tornado.web.RequestHandler):
    """``GET /plain``: an ordinary answer (the next request on a handed-back connection)."""

    def get(self) -> None:
        self.finish("plain")


class CloseAfterHandler(tornado.web.RequestHandler):
    """``GET /close``: asks Tornado to close after the answer, as ``close_after_answer`` does."""

    def get(self) -> None:
        connection = self.request.connection
        assert isinstance(connection, HTTP1Connection)
        connection._disconnect_on_finish = True
        self.finish("bye")


@tornado.web.stream_request_body
class StreamedHandler(tornado.web.RequestHandler):
    """``POST /streamed``: records whether the body was read, in ``prepare`` and in ``post``."""

    def initialize(self, seen: dict[str, Any]) -> None:
        self.seen = seen

    def prepare(self) -> None:
        self.seen["read_in_prepare"] = self.request.connection._read_finished  # type: ignore[union-attr]

    def data_received(self, chunk: bytes) -> None:
        pass

    def post(self) -> None:
        self.seen["read_in_post"] = self.request.connection._read_finished  # type: ignore[union-attr]
        self.finish("ok")


@pytest.fixture
def seen() -> dict[str, Any]:
    return {}


@pytest.fixture
def app(seen: dict[str, Any]) -> tornado.web.Application:
    return tornado.web.Application([
        (r"/detach", DetachHandler, {"seen": seen}),
        (r"/plain", PlainHandler),
        (r"/close", CloseAfterHandler),
        (r"/streamed", StreamedHandler, {"seen": seen}),
    ])


class Client:
    """One keep-alive HTTP/1.1 connection written by hand, so the test sees the connection itself."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        length = f"Content-Length: {len(body)}\r\n" if body else ""
        self.writer.write(f"{method} {path} HTTP/1.1\r\nHost: test\r\n{length}\r\n".encode() + body)
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 5)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines if line)}
        answer = await asyncio.wait_for(self.reader.readexactly(int(headers.get("content-length", "0"))), 5)
        return int(status_line.split()[1]), headers, answer

    async def closed_by_server(self) -> bool:
        return await asyncio.wait_for(self.reader.read(1), 5) == b""

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
def connect(base_url: str):
    """Opens raw connections to the test server; closes them all at teardown."""
    opened: list[Client] = []

    async def open_client() -> Client:
        opened.append(Client(*await asyncio.open_connection("127.0.0.1", urlsplit(base_url).port)))
        return opened[-1]

    yield open_client
    for client in opened:
        client.close()


@pytest.mark.gen_test(timeout=15)
async def test_tornado_serves_the_next_request_on_a_connection_handed_back_after_detach(http_server, connect, seen):
    seen["server"] = http_server
    client = await connect()
    status, _, body = await client.request("GET", "/detach")
    assert (status, body) == (200, b"detached")
    assert ("X-Prepared", "kept") in seen["headers"], BROKE.format("RequestHandler._headers.get_all()")
    status, _, body = await client.request("GET", "/plain")
    assert (status, body) == (200, b"plain"), BROKE.format("HTTPServer.handle_stream re-adopting a detached stream")
    # The detached connection left the server's set and the handed-back one joined it, so shutdown's
    # close_all_connections closes it (one connection, not zero or two).
    assert len(http_server._connections) == 1, BROKE.format("HTTPServer._connections after detach/handle_stream")
    await http_server.close_all_connections()
    assert await client.closed_by_server(), BROKE.format("close_all_connections closing a handed-back connection")


@pytest.mark.gen_test(timeout=15)
async def test_tornado_keeps_the_connection_settings_a_parked_poll_reads(http_server):
    assert http_server.conn_params.no_keep_alive is False, BROKE.format("HTTPServer.conn_params.no_keep_alive")
    assert callable(getattr(tornado.httpserver.HTTPServer, "handle_stream", None))


@pytest.mark.gen_test(timeout=15)
async def test_tornado_closes_after_the_answer_when_told_through_disconnect_on_finish(http_server, connect):
    client = await connect()
    status, headers, body = await client.request("GET", "/close")
    assert (status, body) == (200, b"bye")
    assert headers.get("connection") == "close", BROKE.format("HTTP1Connection._disconnect_on_finish")
    assert await client.closed_by_server()


@pytest.mark.gen_test(timeout=15)
async def test_tornado_reports_whether_a_streamed_body_was_read(http_server, connect, seen):
    client = await connect()
    status, _, _ = await client.request("POST", "/streamed", b"x" * 10)
    assert status == 200
    assert seen == {"read_in_prepare": False, "read_in_post": True}, BROKE.format("HTTP1Connection._read_finished")
