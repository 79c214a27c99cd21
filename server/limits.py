"""Connection limits: an HTTP server that stays reachable when clients are slow, stalled or many.

Tornado's ``HTTPServer`` bounds the time to read a request's headers (``idle_connection_timeout``,
which is also how long a kept-alive connection may sit idle) and the *total* time to read a body
(``body_timeout``), but not the time between two body chunks, nor the number of open connections;
and when ``accept()`` fails for lack of file descriptors, its accept loop raises out of the IOLoop
callback on every turn, one traceback per attempt (issue 11: 450,000 log lines in 50 s).
``LimitedHTTPServer`` adds what is missing:

- **a connection cap** below ``RLIMIT_NOFILE`` (``connection_cap``): at the cap, a new connection
  takes the place of the one that has waited longest for a request's headers (a slow-header client
  or an idle keep-alive), so a flood of slow headers cannot lock new clients out; when every
  connection is busy with a request, the new one is answered a canned ``503`` and closed at once,
  without a stream, a request or a handler;
- **an accept loop that survives running out of descriptors**: ``EMFILE``/``ENFILE`` pause
  accepting for ``ACCEPT_PAUSE_SECONDS`` (the waiting clients stay in the kernel's backlog);
- **a body idle timeout**: a request whose body sends nothing for ``body_idle_seconds`` is closed,
  which fails its body future so its handler and buffered bytes are released;
- **rate-limited logging** of all three (``RateLimitedLog``): one line when the first event of a
  kind happens, then at most one line per interval with the count.
"""

from __future__ import annotations

import errno
import json
import logging
import resource
import socket
from collections.abc import Callable
from functools import partial
from typing import Any, cast

import tornado.httpserver
import tornado.httputil
import tornado.ioloop
import tornado.iostream
import tornado.web
from tornado.http1connection import HTTP1Connection

from server.error_codes import ErrorCode
from server.errors import ConfigError
from server.services import Services

log = logging.getLogger("server.limits")

ACCEPT_BATCH = 128  # accepts per readiness event, as tornado.netutil does
ACCEPT_PAUSE_SECONDS = 0.1  # after EMFILE/ENFILE: long enough not to spin, short enough to go unnoticed
LOG_INTERVAL_SECONDS = 10.0
_RLIMIT_CEILING = 1 << 20  # never ask for more descriptors than Linux's default fs.nr_open
_OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_REFUSAL_BODY = json.dumps({"detail": "The server has too many open connections; retry",
                            "code": ErrorCode.OVERLOADED}, separators=(",", ":")).encode()
_REFUSAL = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(_REFUSAL_BODY), _REFUSAL_BODY))


def connection_cap(configured: int | None, reserve: int) -> tuple[int, int]:
    """The most connections this process may hold open, and the descriptor limit it is based on.

    Reads ``RLIMIT_NOFILE``; first raises the soft limit to the hard one (as Go's runtime and
    nginx's ``worker_rlimit_nofile`` do), since the soft default of 1,024 is a relic of
    ``select()``, which this server does not use. ``reserve`` descriptors stay for the server's own
    files: the database, the provider clients' connections, extraction subprocesses' pipes, logs.

    Args:
        configured: ``MAX_CONNECTIONS``, or None for "as many as the limit allows".
        reserve: ``FD_RESERVE``, descriptors.
    Returns:
        (cap, soft descriptor limit after raising it).
    Raises:
        ConfigError: the limit leaves no descriptor for connections after the reserve.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = _RLIMIT_CEILING if hard == resource.RLIM_INFINITY else min(hard, _RLIMIT_CEILING)
    if soft == resource.RLIM_INFINITY or soft > ceiling:
        soft = ceiling
    elif soft < ceiling:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
            soft = ceiling
        except (ValueError, OSError):
            pass  # keep the soft limit we were given
    available = soft - reserve
    if available < 1:
        raise ConfigError(f"RLIMIT_NOFILE is {soft}, which leaves no descriptor for connections after "
                          f"FD_RESERVE={reserve}; raise the limit (ulimit -n) or lower FD_RESERVE")
    return (available if configured is None else min(configured, available)), soft


class RateLimitedLog:
    """Log a noisy kind of event at most once per ``interval`` seconds, with a count.

    The first event of a kind is logged at once; the ones after it within the interval are only
    counted, and one summary line per interval reports how many there were. Nothing is logged
    while nothing happens. Needs a running IOLoop for the summaries.
    """

    def __init__(self, logger: logging.Logger, interval: float = LOG_INTERVAL_SECONDS):
        self._log = logger
        self._interval = interval
        self._counts: dict[str, int] = {}
        self._messages: dict[str, str] = {}
        self.totals: dict[str, int] = {}

    def note(self, kind: str, message: str) -> None:
        """One event of ``kind``; ``message`` (no personal data) describes it in the log line."""
        self.totals[kind] = self.totals.get(kind, 0) + 1
        if kind in self._counts:
            self._counts[kind] += 1
            return
        self._log.warning("%s kind=%s", message, kind)
        self._counts[kind] = 0
        self._messages[kind] = message
        tornado.ioloop.IOLoop.current().call_later(self._interval, self._flush, kind)

    def _flush(self, kind: str) -> None:
        count = self._counts.pop(kind, 0)
        if count:
            self._log.warning("%s kind=%s count=%d in the last %.0fs", self._messages[kind], kind, count,
                              self._interval)
            self._counts[kind] = 0  # keep counting into the next interval
            tornado.ioloop.IOLoop.current().call_later(self._interval, self._flush, kind)


class _CountedStream(tornado.iostream.IOStream):
    """An ``IOStream`` that tells its server when its socket closes (detached streams included)."""

    _on_fd_closed: Callable[[_CountedStream], None] | None = None

    def close_fd(self) -> None:
        super().close_fd()
        if self._on_fd_closed is not None:
            self._on_fd_closed(self)
            self._on_fd_closed = None


class _RequestWatch(tornado.httputil.HTTPMessageDelegate):
    """Wraps one request's delegate: tells the server when its headers are in, and closes the
    connection when its body stalls.

    The body timer starts when the headers announce a body and is pushed back by every chunk; it
    stops when the body is complete or the connection closes. Closing the connection fails the
    request's body future, so Tornado calls the handler's ``on_connection_close`` and drops it.
    """

    def __init__(self, delegate: tornado.httputil.HTTPMessageDelegate, connection: HTTP1Connection,
                 idle_seconds: float | None, events: RateLimitedLog, on_headers: Callable[[], None]):
        self._delegate = delegate
        self._connection = connection
        self._idle = idle_seconds
        self._events = events
        self._on_headers = on_headers
        self._loop = tornado.ioloop.IOLoop.current()
        self._last = 0.0
        self._timer: object | None = None

    def headers_received(self, start_line: Any, headers: tornado.httputil.HTTPHeaders) -> Any:
        self._on_headers()
        if self._idle is not None and ("Content-Length" in headers or "Transfer-Encoding" in headers):
            self._last = self._loop.time()
            self._timer = self._loop.call_later(self._idle, self._check)
        return self._delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Any:
        self._last = self._loop.time()
        return self._delegate.data_received(chunk)

    def finish(self) -> None:
        self._stop()
        self._delegate.finish()

    def on_connection_close(self) -> None:
        self._stop()
        self._delegate.on_connection_close()

    def _stop(self) -> None:
        if self._timer is not None:
            self._loop.remove_timeout(self._timer)
            self._timer = None

    def _check(self) -> None:
        assert self._idle is not None  # only scheduled with a limit
        remaining = self._last + self._idle - self._loop.time()
        if remaining > 0:
            self._timer = self._loop.call_later(remaining, self._check)
            return
        self._timer = None
        self._events.note("body_idle", f"request body idle for {self._idle:g}s: connection closed")
        self._connection.close()


class LimitedHTTPServer(tornado.httpserver.HTTPServer):
    """``HTTPServer`` with a connection cap, a descriptor-safe accept loop and a body idle timeout.

    Keyword arguments besides ``HTTPServer``'s (set ``idle_connection_timeout`` for the header
    timeout):
        max_connections: open connections at most (``connection_cap``); beyond it a new connection
            replaces the one waiting longest for request headers, or gets a canned 503 and is closed.
        body_idle_seconds: longest silence between two chunks of a request body; None: no limit.
        log_interval: seconds between two log lines of one kind of refusal or error.
    Plain TCP only: TLS ends at the platform's router, so ``ssl_options`` is refused.
    """

    def initialize(self, *args: Any, max_connections: int = 1024, body_idle_seconds: float | None = None,
                   log_interval: float = LOG_INTERVAL_SECONDS, **kwargs: Any) -> None:
        if kwargs.get("ssl_options") is not None:
            raise ValueError("LimitedHTTPServer serves plain TCP; terminate TLS in front of it")
        super().initialize(*args, **kwargs)
        self.max_connections = max_connections
        self.open_connections = 0
        # Connections waiting for a request's headers (slow clients, idle keep-alives), oldest first.
        self._awaiting_headers: dict[_CountedStream, None] = {}
        self.events = RateLimitedLog(log, log_interval)
        self._body_idle_seconds = body_idle_seconds

    def add_sockets(self, sockets: Any) -> None:
        for sock in sockets:
            self._sockets[sock.fileno()] = sock
            self._handlers[sock.fileno()] = self._accept_from(sock)

    def start_request(self, server_conn: object, request_conn: tornado.httputil.HTTPConnection
                      ) -> tornado.httputil.HTTPMessageDelegate:
        delegate = super().start_request(server_conn, request_conn)
        connection = cast(HTTP1Connection, request_conn)
        stream = connection.stream
        if isinstance(stream, _CountedStream) and not stream.closed():  # a closed one is not coming back
            self._awaiting_headers.pop(stream, None)
            self._awaiting_headers[stream] = None  # newest last
        return _RequestWatch(delegate, connection, self._body_idle_seconds, self.events,
                             partial(self._headers_in, stream))

    def _accept_from(self, sock: socket.socket) -> Callable[[], None]:
        """Accept connections from ``sock`` on the current IOLoop; returns the function that stops it."""
        loop = tornado.ioloop.IOLoop.current()
        state: dict[str, Any] = {"removed": False, "timer": None}

        def resume() -> None:
            state["timer"] = None
            if not state["removed"]:
                loop.add_handler(sock, on_readable, tornado.ioloop.IOLoop.READ)

        def on_readable(fd: Any, events: int) -> None:
            for _ in range(ACCEPT_BATCH):
                if state["removed"]:
                    return
                try:
                    connection, address = sock.accept()
                except BlockingIOError:
                    return
                except ConnectionAbortedError:
                    continue
                except OSError as problem:
                    if problem.errno not in _OUT_OF_DESCRIPTORS:
                        self.events.note("accept_error", f"accept failed errno={problem.errno}")
                        return
                    self.events.note("out_of_descriptors",
                                     f"accept failed: out of file descriptors ({errno.errorcode[problem.errno]}); "
                                     f"pausing accepts for {ACCEPT_PAUSE_SECONDS:g}s")
                    loop.remove_handler(sock)
                    state["timer"] = loop.call_later(ACCEPT_PAUSE_SECONDS, resume)
                    return
                if self.open_connections >= self.max_connections and not self._evict_idle():
                    self._refuse(connection)
                else:
                    self._serve(connection, address)

        def remove() -> None:
            state["removed"] = True
            if state["timer"] is not None:
                loop.remove_timeout(state["timer"])
            else:
                loop.remove_handler(sock)

        loop.add_handler(sock, on_readable, tornado.ioloop.IOLoop.READ)
        return remove

    def _headers_in(self, stream: object) -> None:
        self._awaiting_headers.pop(stream, None)  # type: ignore[call-overload]  # any stream may be asked

    def _evict_idle(self) -> bool:
        """At the cap, close the connection that has waited longest for a request's headers (a
        slow-header client or an idle keep-alive; never one whose request is being answered), as
        nginx reuses keep-alive connections when it runs out. True when one was closed."""
        oldest = None
        while self._awaiting_headers and oldest is None:
            candidate = next(iter(self._awaiting_headers))
            self._awaiting_headers.pop(candidate)
            oldest = None if candidate.closed() else candidate
        if oldest is None:
            return False
        self.events.note("evicted_waiting_for_headers",
                         f"at {self.max_connections} connections (MAX_CONNECTIONS): closed the one waiting longest "
                         "for request headers")
        oldest.close()
        return True

    def _refuse(self, connection: socket.socket) -> None:
        self.events.note("over_connection_cap",
                         f"connection refused: {self.max_connections} connections open (MAX_CONNECTIONS)")
        try:
            connection.setblocking(False)
            connection.send(_REFUSAL)  # fits any fresh socket's send buffer; a failure changes nothing
        except OSError:
            pass
        connection.close()

    def _serve(self, connection: socket.socket, address: Any) -> None:
        try:
            stream = _CountedStream(connection, max_buffer_size=self.max_buffer_size,
                                    read_chunk_size=self.read_chunk_size)
        except OSError:  # closed while being set up (a port scan)
            connection.close()
            return
        self.open_connections += 1
        stream._on_fd_closed = self._closed
        self._awaiting_headers[stream] = None  # evictable from now: its request loop starts on the next turn
        self.handle_stream(stream, address)

    def _closed(self, stream: _CountedStream) -> None:
        self._awaiting_headers.pop(stream, None)
        self.open_connections -= 1


def listen_limited(services: Services, app: tornado.web.Application, sockets: list[socket.socket], *,
                   max_connections: int, **server_options: Any) -> LimitedHTTPServer:
    """Serve ``app`` on bound ``sockets`` with a ``LimitedHTTPServer`` configured from
    ``services.settings.connections``, registered in ``services`` as ``server.app.listen`` does
    (parked long-polls hand their connections back to it). ``server_options``: more
    ``HTTPServer`` keyword arguments (``xheaders=True``). Returns the server.
    """
    limits = services.settings.connections
    server = LimitedHTTPServer(app, idle_connection_timeout=limits.header_timeout_seconds,
                               body_idle_seconds=limits.body_idle_seconds, max_connections=max_connections,
                               **server_options)
    server.add_sockets(sockets)
    services.http_server = server
    return server
