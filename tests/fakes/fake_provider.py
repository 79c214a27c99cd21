"""A fake LLM server speaking enough OpenAI Chat Completions and Anthropic Messages for the real SDKs.

It runs a Tornado app on 127.0.0.1 in its own thread (so it works with any test event loop) and
answers from a script of queued replies; when the script is empty it answers with a valid,
schema-conformant canned analysis for the kind the request asks for (recognised from its schema).
Both streaming (SSE) and plain JSON answers are supported. Every request is recorded with its
path, headers (auth values redacted) and JSON body.

In a test (fixtures in ``tests/analysis/conftest.py``)::

    fake_llm.script(Reply.rate_limited(), Reply.ok({"summary": ...}))
    ... run the provider with base_url=fake_llm.openai_base_url ...
    assert len(fake_llm.requests) == 2

As a development tool (any API key works)::

    python -m tests.fakes.fake_provider --port 8700 --delay 3
    OPENAI_BASE_URL=http://127.0.0.1:8700/v1 ANTHROPIC_BASE_URL=http://127.0.0.1:8700 \\
        OPENAI_API_KEY=x ANTHROPIC_API_KEY=x python -m server

``--delay`` waits that many seconds before each answer, and streams the answer over about a
second, so progress can be watched with realistic timing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web
from tornado.iostream import StreamClosedError

from tests.fakes.canned import canned_output

_REDACTED_HEADERS = {"authorization", "x-api-key", "api-key"}


@dataclass
class Reply:
    """One scripted answer. Build with the class methods.

    Attributes:
        kind: ``ok``, ``status``, ``malformed``, ``length``, ``refusal``, ``raw``, ``cut``, ``reset``.
        output: for ``ok``: the JSON object the model "writes"; None means the canned output.
        status: HTTP status for ``status`` replies.
        headers: extra response headers (e.g. ``retry-after``).
        delay: seconds to wait before answering (None: the server's default delay).
        body: for ``raw``: the bytes sent as they are, with ``headers``' content type.
    """

    kind: str = "ok"
    output: dict[str, Any] | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float | None = None
    body: bytes = b""

    @classmethod
    def ok(cls, output: dict[str, Any] | None = None, delay: float | None = None) -> Reply:
        """A valid answer writing ``output`` (default: canned output for the requested kind)."""
        return cls("ok", output=output, delay=delay)

    @classmethod
    def rate_limited(cls, retry_after: float = 0.01) -> Reply:
        """429 with ``retry-after`` (seconds, rounded up) and ``retry-after-ms`` (precise)."""
        return cls("status", status=429, headers=_retry_headers(retry_after))

    @classmethod
    def server_error(cls, status: int = 500, retry_after: float = 0.01) -> Reply:
        """A 5xx; ``retry-after-ms`` keeps the SDK's backoff short in tests."""
        return cls("status", status=status, headers=_retry_headers(retry_after))

    @classmethod
    def unauthorized(cls) -> Reply:
        """401 invalid key."""
        return cls("status", status=401)

    @classmethod
    def slow(cls, delay: float) -> Reply:
        """A valid answer after ``delay`` seconds (longer than the client timeout in tests)."""
        return cls("ok", delay=delay)

    @classmethod
    def malformed(cls) -> Reply:
        """The model writes text that is not JSON."""
        return cls("malformed")

    @classmethod
    def truncated(cls) -> Reply:
        """The answer stops at the token limit mid-JSON."""
        return cls("length")

    @classmethod
    def refusal(cls) -> Reply:
        """The model declines."""
        return cls("refusal")

    @classmethod
    def raw(cls, body: bytes, content_type: str, status: int = 200) -> Reply:
        """Not the vendor's format at all: ``body`` as ``content_type`` (an HTML error page with 200...)."""
        return cls("raw", status=status, headers={"content-type": content_type}, body=body)

    @classmethod
    def cut_stream(cls) -> Reply:
        """A streamed answer whose HTTP body ends halfway, before the vendor's final events."""
        return cls("cut")

    @classmethod
    def reset_stream(cls) -> Reply:
        """A streamed answer whose connection is closed halfway (no end of the chunked body)."""
        return cls("reset")


def _retry_headers(seconds: float) -> dict[str, str]:
    return {"retry-after": str(int(-(-seconds // 1))), "retry-after-ms": str(int(seconds * 1000))}


@dataclass(frozen=True)
class RecordedRequest:
    """A request the fake got: path, headers (auth values redacted) and JSON body."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeProviderServer:
    """The fake server. ``start()`` it, ``script()`` replies, read ``requests``, ``stop()`` it.

    Args:
        port: 0 for an ephemeral port.
        delay: default seconds before each answer.
        stream_seconds: time over which a streamed answer is spread.
    """

    def __init__(self, port: int = 0, delay: float = 0.0, stream_seconds: float = 0.0):
        self.delay = delay
        self.stream_seconds = stream_seconds
        self._port = port
        self._lock = threading.Lock()
        self._script: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._loop: tornado.ioloop.IOLoop | None = None
        self._thread: threading.Thread | None = None
        self._closing: asyncio.Event | None = None
        self.port = 0

    @property
    def openai_base_url(self) -> str:
        """Base URL for the OpenAI client."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """Base URL for the Anthropic client."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the requests received so far."""
        with self._lock:
            return list(self._requests)

    def script(self, *replies: Reply) -> None:
        """Queue replies, answered in order, one per request (retries included)."""
        with self._lock:
            self._script.extend(replies)

    def next_reply(self) -> Reply:
        """The next scripted reply, or a default valid one."""
        with self._lock:
            return self._script.popleft() if self._script else Reply.ok()

    def record(self, request: RecordedRequest) -> None:
        """Record one request (called by the handlers)."""
        with self._lock:
            self._requests.append(request)

    def start(self) -> FakeProviderServer:
        """Start serving in a daemon thread; returns when the port is bound."""
        sockets = tornado.netutil.bind_sockets(self._port, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(sockets, ready), daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def stop(self) -> None:
        """Stop serving, wake slow handlers, and join the thread."""
        if self._loop is None or self._thread is None:
            return
        self._loop.add_callback(self._shutdown)
        self._thread.join(5)
        self._loop = None

    def _serve(self, sockets: list, ready: threading.Event) -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        self._loop = tornado.ioloop.IOLoop.current()
        self._closing = asyncio.Event()
        self._server = tornado.httpserver.HTTPServer(make_app(self))
        self._server.add_sockets(sockets)
        ready.set()
        self._loop.start()
        self._loop.close(all_fds=True)

    async def _shutdown(self) -> None:
        assert self._closing is not None and self._loop is not None
        self._closing.set()
        self._server.stop()
        await asyncio.sleep(0)
        await self._server.close_all_connections()
        self._loop.stop()

    async def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` in the server thread; False if the server is closing."""
        assert self._closing is not None
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
            return False
        except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
            return True


def make_app(fake: FakeProviderServer) -> tornado.web.Application:
    """The Tornado app of the fake (routes: OpenAI chat completions, Anthropic messages)."""
    from tests.fakes.fake_wire import AnthropicHandler, OpenAIChatHandler

    return tornado.web.Application([
        (r"/v1/chat/completions", OpenAIChatHandler, {"fake": fake}),
        (r"/chat/completions", OpenAIChatHandler, {"fake": fake}),
        (r"/v1/messages", AnthropicHandler, {"fake": fake}),
    ])


class FakeHandlerBase(tornado.web.RequestHandler):
    """Shared part of the wire handlers: record, pick the reply, wait, answer errors."""

    def initialize(self, fake: FakeProviderServer) -> None:
        self.fake = fake

    async def post(self) -> None:
        """Answer one model call according to the script."""
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            body = {}
        headers = {k.lower(): ("<redacted>" if k.lower() in _REDACTED_HEADERS else v)
                   for k, v in self.request.headers.items()}
        self.fake.record(RecordedRequest(self.request.path, headers, body))
        reply = self.fake.next_reply()
        delay = self.fake.delay if reply.delay is None else reply.delay
        if delay and not await self.fake.wait(delay):
            return
        try:
            if reply.kind == "status":
                self.send_status(reply)
            elif reply.kind == "raw":
                self.set_status(reply.status)
                self.set_header("content-type", reply.headers["content-type"])
                self.finish(reply.body)
            else:
                await self.answer(reply, body)
        except StreamClosedError:
            pass  # the client gave up (timeout); nothing to answer

    def send_status(self, reply: Reply) -> None:
        """An HTTP error in the vendor's error format."""
        self.set_status(reply.status)
        for name, value in reply.headers.items():
            self.set_header(name, value)
        self.set_header("content-type", "application/json")
        self.finish(json.dumps(self.error_body(reply.status)))

    def error_body(self, status: int) -> dict[str, Any]:
        """Vendor error JSON (overridden)."""
        raise NotImplementedError

    async def answer(self, reply: Reply, body: dict[str, Any]) -> None:
        """Vendor success answer (overridden)."""
        raise NotImplementedError

    def output_text(self, reply: Reply, schema: dict[str, Any]) -> str:
        """The text the fake model writes for ``reply``."""
        if reply.kind == "malformed":
            return '{"summary": "unterminated'
        output = reply.output if reply.output is not None else canned_output(schema)
        text = json.dumps(output, ensure_ascii=False)
        return text[: len(text) // 2] if reply.kind == "length" else text

    async def send_events(self, events: list[str], reply: Reply | None = None) -> None:
        """Stream SSE events, spread over the server's ``stream_seconds``; a ``cut`` or ``reset``
        ``reply`` stops after half of them (ending the body, or dropping the connection)."""
        self.set_header("content-type", "text/event-stream")
        self.set_header("cache-control", "no-cache")
        pause = self.fake.stream_seconds / max(len(events), 1)
        if reply is not None and reply.kind in ("cut", "reset"):
            events = events[: len(events) // 2]
        for event in events:
            self.write(event)
            await self.flush()
            if pause and not await self.fake.wait(pause):
                return
        if reply is not None and reply.kind == "reset":
            self.request.connection.close()  # type: ignore[union-attr]
            return
        self.finish()


def main() -> None:
    """Command line: serve canned answers until interrupted."""
    parser = argparse.ArgumentParser(description="Fake OpenAI/Anthropic server for development.")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args()
    fake = FakeProviderServer(args.port, delay=args.delay, stream_seconds=1.0 if args.delay else 0.0).start()
    print(f"fake provider on http://127.0.0.1:{fake.port} "
          f"(OPENAI_BASE_URL={fake.openai_base_url} ANTHROPIC_BASE_URL={fake.anthropic_base_url})")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
