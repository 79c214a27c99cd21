"""The fast path of the most frequent request: a plain poll, ``GET /jobs/{id}``.

Frontends poll each job they show every 2 seconds (the seed's polling interval), so this one
request is most of a server's load. Tornado's web layer spends about as much CPU on a request as
everything else together (route matching, a ``RequestHandler`` with its default headers, the
handler coroutine and ``finish``; issue 19's profile). A *plain* poll (``GET``, no query string, no
body, no ``If-None-Match``, ``Prefer``, or ``Origin``) of a job its caller may see is answered here,
at the HTTP message level, with the response ``JobHandler`` would send: the same status, headers
and body (``tests/jobs/test_fast_poll.py`` compares the two, header by header). It is logged and counted
under the same route, and counted in flight for shutdown, as any request is.

Anything else goes to the route table untouched: other requests at once, and polls this path does
not answer with a 200 (a missing or bad token, an unknown, expired or foreign job, a store error)
once they have been looked at, so every error keeps the one answer ``JobHandler`` gives. Such a
refused poll is looked up twice (here, then by the handler: a few microseconds on the memory store,
one more round trip on Redis), and its access line's duration starts at the hand-over.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable
from typing import Any, NamedTuple

import tornado
import tornado.httputil

from server.auth import bearer_token
from server.jobs.access import visible_job
from server.jobs.handlers import JobServices
from server.jobs.models import job_headers, job_json
from server.web import CACHE_CONTROL, JSON_CONTENT_TYPE, record_request

_PREFIX = "/jobs/"
# Request headers that change a poll's answer (a conditional, a long-poll, CORS) or announce a body.
_NOT_PLAIN = ("If-None-Match", "Prefer", "Origin", "Content-Length", "Transfer-Encoding")
_OK = tornado.httputil.ResponseStartLine("", 200, "OK")
# Host values Tornado's HTTPServerRequest surely accepts (a subset of RFC 3986 host [":" port], no
# comma: Tornado answers 400 to a missing Host on HTTP/1.1, an invalid one, and several). Anything
# else goes to the route table, whose HTTPServerRequest gives Tornado's 400 (RFC 9112 §3.2).
_PLAIN_HOST = re.compile(r"[A-Za-z0-9._~\[\]:-]*")


class Found(NamedTuple):
    """A plain poll's answer, ready to send: the job's JSON, its own headers, and who asked."""

    body: bytes
    job_headers: list[tuple[str, str]]
    user_id: str


class PollFastPath:
    """Answers plain polls for one application; ``delegate`` wraps each request's normal delegate.

    Args:
        services: the app's services (store, token verifier, settings, in-flight count, metrics).
        route: the poll's route label in logs and metrics (``route_label`` of ``JobHandler``).
    """

    def __init__(self, services: JobServices, route: str):
        self.services = services
        self.route = route
        # The headers every JSON answer starts with (Tornado's ``clear``, then ``ApiHandler``'s defaults).
        self._leading = [("Server", f"TornadoServer/{tornado.version}"), ("Content-Type", JSON_CONTENT_TYPE)]
        self._trailing = [("Cache-Control", CACHE_CONTROL)]
        if services.settings.http.cors_origins:
            self._trailing.append(("Vary", "Origin"))
        self._date_second = -1
        self._date = ""

    def delegate(self, connection: tornado.httputil.HTTPConnection,
                 fallback: tornado.httputil.HTTPMessageDelegate) -> tornado.httputil.HTTPMessageDelegate:
        """The delegate of one request on ``connection``; ``fallback`` is the route table's."""
        return _Poll(self, connection, fallback)

    def takes(self, start_line: tornado.httputil.RequestStartLine, headers: tornado.httputil.HTTPHeaders) -> bool:
        """True when the request is a plain poll (the path answers it unless the lookup refuses)."""
        path = start_line.path
        if start_line.method != "GET" or not path.startswith(_PREFIX) or "?" in path or "/" in path[len(_PREFIX):]:
            return False
        if "Authorization" not in headers or any(name in headers for name in _NOT_PLAIN):
            return False
        host = headers.get("Host")
        if host is None:
            return start_line.version == "HTTP/1.0"  # HTTP/1.1 requires it (Tornado answers 400)
        return _PLAIN_HOST.fullmatch(host) is not None

    async def look_up(self, path: str, headers: tornado.httputil.HTTPHeaders) -> Found | None:
        """The answer to a plain poll, or None when the route table must answer (every refusal and
        failure, rendering included: their answers and log lines are ``JobHandler``'s)."""
        services = self.services
        try:
            principal = services.tokens.verify(bearer_token(headers.get("Authorization")))
            job = await visible_job(services.store, principal, path[len(_PREFIX):], services.started_at)
            return Found(job_json(job).encode(), job_headers(job), principal.user_id)
        except Exception:  # noqa: BLE001 (the route table answers it again, with its error body and log line)
            return None

    def answer(self, connection: tornado.httputil.HTTPConnection, found: Found) -> int:
        """Write ``found``'s 200 on ``connection`` and finish it; returns the status sent."""
        body = found.body
        headers = tornado.httputil.HTTPHeaders()
        for name, value in self._leading:
            headers.add(name, value)
        headers.add("Date", self._now())
        for name, value in self._trailing:
            headers.add(name, value)
        for name, value in found.job_headers:
            headers.add(name, value)
        headers.add("Content-Length", str(len(body)))
        connection.write_headers(_OK, headers, body)
        connection.finish()
        return 200

    def _now(self) -> str:
        """The ``Date`` header (RFC 9110 §6.6.1, one-second resolution), formatted once per second."""
        now = time.time()
        if int(now) != self._date_second:
            self._date_second = int(now)
            self._date = tornado.httputil.format_timestamp(now)
        return self._date


class _Poll(tornado.httputil.HTTPMessageDelegate):
    """One request: answered by ``PollFastPath`` or handed, whole, to the route table's delegate."""

    def __init__(self, path: PollFastPath, connection: tornado.httputil.HTTPConnection,
                 fallback: tornado.httputil.HTTPMessageDelegate):
        self._path = path
        self._connection = connection
        self._fallback = fallback
        self._handed_over = False
        self._found: Found | None = None
        self._request_path = ""
        self._start = 0.0
        self._in_flight = False

    def headers_received(self, start_line: Any, headers: tornado.httputil.HTTPHeaders) -> Awaitable[None] | None:
        if self._path.takes(start_line, headers):
            return self._look_up(start_line, headers)
        self._handed_over = True
        return self._fallback.headers_received(start_line, headers)

    async def _look_up(self, start_line: tornado.httputil.RequestStartLine,
                       headers: tornado.httputil.HTTPHeaders) -> None:
        self._start = time.time()
        self._request_path = start_line.path
        requests = self._path.services.requests
        requests.enter()
        self._in_flight = True
        self._found = await self._path.look_up(start_line.path, headers)
        if self._found is not None:
            return
        self._leave()  # the route table's handler counts itself
        self._handed_over = True
        handled = self._fallback.headers_received(start_line, headers)
        if handled is not None:
            await handled

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        return self._fallback.data_received(chunk) if self._handed_over else None  # a plain poll has no body

    def finish(self) -> None:
        if self._handed_over:
            self._fallback.finish()
            return
        found = self._found
        if found is None:
            return  # the connection closed during the lookup
        status = self._path.answer(self._connection, found)
        record_request(self._path.services, method="GET", path=self._request_path, route=self._path.route,
                       status=status, seconds=time.time() - self._start, user_id=found.user_id)
        self._leave()

    def on_connection_close(self) -> None:
        if self._handed_over:
            self._fallback.on_connection_close()
            return
        self._found = None
        self._leave()

    def _leave(self) -> None:
        if self._in_flight:
            self._in_flight = False
            self._path.services.requests.leave()
