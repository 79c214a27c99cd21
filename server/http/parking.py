"""Parked long-polls: ``GET /jobs/{id}?wait=N`` waits without its request handler.

A long-poll that waits inside its ``RequestHandler`` keeps Tornado's whole request alive: the
HTTP/1 connection and its read loop, the ``HTTPServerRequest`` and its headers, the handler, its
header dict and its coroutines. That came to 18.7 KB of resident memory per open long-poll
(bench/README.md, issue 5). Once the handler has authenticated the caller, read the job and set
the response headers, a ``ParkedPoll`` takes the connection over (``RequestHandler.detach``, the
hook websockets use) and keeps only what the answer needs: the ``IOStream``, the latest snapshot
of the job, the baseline and the headers already prepared, rendered once.

It answers at the first change the client waits for, at its deadline, or on shutdown (with the
drain's ``Retry-After``, ``server.draining``, and ``Connection: close``), writing the
status, headers and body the handler would have written, logs and counts the request like any
other, and hands the connection back to the ``HTTPServer`` for the client's next request, as
Tornado does after every response (persistent connections, RFC 9112 §9.3). A client that goes
away releases its waiter at once.
"""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Protocol

from tornado.httpserver import HTTPServer
from tornado.httputil import HTTPServerRequest, format_timestamp, responses
from tornado.iostream import IOStream, StreamClosedError

from server.draining import Drain
from server.jobs.longpoll import not_modified
from server.jobs.models import Job, job_headers, job_json
from server.jobs.waiters import Held, Waiters, WakeReason
from server.web import ApiHandler, WebServices, record_request, route_label

# Headers the answer writes itself, so they are not copied from the handler's prepared set.
_WRITTEN_AT_ANSWER = frozenset({"date", "content-type", "content-length", "etag", "retry-after", "connection"})


class ParkingServices(WebServices, Protocol):
    """What a parked long-poll uses of the app's services (``server.services.Services`` is one)."""

    waiters: Waiters
    drain: Drain | None
    http_server: HTTPServer | None


class ParkingHandler(ApiHandler):
    """The handler type a long-poll is parked from: one whose services a parked poll can use."""

    services: ParkingServices


class ParkedPoll(Held):
    """One long-poll on one job, waiting detached from Tornado's request machinery.

    Built from the request's handler (see ``park``), then held by ``Waiters.hold_job``, then
    given the connection with ``start``. Every field is a slot: ten thousand of these are the
    point of the class.
    """

    __slots__ = ("_services", "_job", "_baseline", "_until_finished", "_tags", "_head", "_content_type",
                 "_keep_alive", "_path", "_route", "_arrived", "_stream", "_timer")

    def __init__(self, handler: ParkingHandler, job: Job, *, baseline: int, until_finished: bool,
                 tags: frozenset[str]):
        super().__init__(handler.services.waiters, handler.principal.user_id)
        self._services: ParkingServices = handler.services
        self._job = job
        self._baseline = baseline
        self._until_finished = until_finished
        self._tags = tags
        prepared = handler.headers_so_far()
        self._content_type = next((value for name, value in prepared if name.lower() == "content-type"), "")
        self._head = "".join(f"{name}: {value}\r\n" for name, value in prepared
                             if name.lower() not in _WRITTEN_AT_ANSWER)
        request = handler.request
        server = self._services.http_server
        self._keep_alive = server is not None and not server.conn_params.no_keep_alive and _keeps_alive(request)
        self._path = request.path
        self._route = route_label(handler)
        self._arrived = time.time() - request.request_time()
        self._stream: IOStream | None = None
        self._timer: asyncio.TimerHandle | None = None

    def start(self, stream: IOStream, seconds: float) -> None:
        """Own the detached ``stream``; answer at the latest after ``seconds``."""
        self._stream = stream
        if self.closed:
            return  # woken while being held (shutdown): the answer is already scheduled
        if stream.closed():  # the client left before the handover: a close callback set now never runs
            self.wake(WakeReason.CLOSED)
            return
        stream.set_close_callback(partial(self.wake, WakeReason.CLOSED))
        self._timer = asyncio.get_running_loop().call_later(seconds, self.wake, WakeReason.TIMEOUT)

    def on_change(self, job: Job) -> None:
        """Store notification: keep the newest snapshot; wake when it is what the client waits for."""
        self._job = job
        if job.is_terminal if self._until_finished else job.version != self._baseline:
            self.wake(WakeReason.CHANGED)

    def wake(self, reason: WakeReason) -> None:
        """End the wait (first call only): release the waiter now, answer on the next loop turn."""
        if self.closed:
            return
        self.close()
        if reason is WakeReason.CLOSED:
            self._services.requests.leave()  # nobody to answer
        else:  # not inside the store's notification loop: a write may close the stream and call back
            asyncio.get_running_loop().call_soon(self._answer, reason)

    def close(self) -> None:
        """Release the waiter and cancel the deadline timer (idempotent)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().close()

    def _answer(self, reason: WakeReason) -> None:
        stream = self._stream
        assert stream is not None  # started before the loop ran this
        stream.set_close_callback(None)
        shutdown = reason is WakeReason.SHUTDOWN
        keep_alive = self._keep_alive and not shutdown
        drain = self._services.drain if shutdown else None
        status, response = self._response(keep_alive, drain.retry_after() if drain is not None else None)
        try:
            written = stream.write(response)
        except StreamClosedError:  # the client left just now
            self._services.requests.leave()
            return
        written.add_done_callback(partial(self._written, stream, status, keep_alive))

    def _response(self, keep_alive: bool, retry_after: int | None) -> tuple[int, bytes]:
        """Status and bytes of the answer: what ``JobHandler`` writes for the job, without waiting.

        ``retry_after``: on shutdown, the drain delay (seconds) an unfinished job's answer carries
        instead of the polling interval, on a 304 too, so the client does not come straight back.
        """
        job = self._job
        if not_modified(job.etag, self._tags):
            status, body, fields = 304, b"", [("ETag", job.etag)]
        else:
            body = job_json(job).encode()
            fields = [("Content-Type", self._content_type), *job_headers(job), ("Content-Length", str(len(body)))]
            status = 200
        if retry_after is not None and not job.is_terminal:
            fields = [field for field in fields if field[0] != "Retry-After"]
            fields.append(("Retry-After", str(retry_after)))
        if not keep_alive:
            fields.append(("Connection", "close"))
        head = "".join(f"{name}: {value}\r\n" for name, value in fields)
        start = f"HTTP/1.1 {status} {responses[status]}\r\nDate: {format_timestamp(time.time())}\r\n"
        return status, f"{start}{self._head}{head}\r\n".encode("latin-1") + body

    def _written(self, stream: IOStream, status: int, keep_alive: bool, written: asyncio.Future[None]) -> None:
        self._services.requests.leave()
        if written.cancelled() or written.exception() is not None:
            return  # the client went away during the write: nothing was answered, nothing to log
        record_request(self._services, method="GET", path=self._path, route=self._route, status=status,
                       seconds=time.time() - self._arrived, user_id=self._user_id)
        server = self._services.http_server
        if keep_alive and server is not None and not stream.closed():
            try:
                address = stream.socket.getpeername()
            except OSError:  # disconnected between the write and now
                stream.close()
                return
            server.handle_stream(stream, address)  # serve the client's next request on this connection
        else:
            stream.close()


def park(handler: ParkingHandler, job: Job, *, baseline: int, until_finished: bool, tags: frozenset[str],
         seconds: float) -> None:
    """Answer ``handler``'s long-poll on ``job`` later, without the handler (see the module docstring).

    Args:
        handler: the request's handler: caller authenticated, response headers set. It is
            detached here and must not write afterwards.
        job: the job as just read.
        baseline: the version the client has; the answer comes when the version differs.
        until_finished: wait for a terminal status only.
        tags: the ``If-None-Match`` entity tags; an answer they match is 304 without a body.
        seconds: the longest wait (already jittered).
    Raises:
        TooManyRequests, Unavailable: the caller or the process holds too many waits; nothing
            was detached, so the handler answers the error as usual.
    """
    poll = ParkedPoll(handler, job, baseline=baseline, until_finished=until_finished, tags=tags)
    handler.services.waiters.hold_job(poll, job.job_id, poll.on_change)
    poll.start(handler.detach(), seconds)


def _keeps_alive(request: HTTPServerRequest) -> bool:
    """Whether the connection stays open after the answer: HTTP/1.1 unless the client sent
    ``Connection: close`` (RFC 9112 §9.3). HTTP/1.0 connections close (always allowed)."""
    return request.version == "HTTP/1.1" and request.headers.get("Connection", "").lower() != "close"
