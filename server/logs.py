"""Logging: text or JSON lines, one access line per request, and exceptions without their messages.

What may appear in a log line: ids (job, case, user), job types, routes, statuses, durations,
error codes. What may not: tokens, transcripts, document text, analysis results. The formatters
here print an exception's type and stack but never its message (``str(exc)``), because messages
of third-party exceptions quote their input (a provider error echoing a prompt, a parser error
echoing a document line). The access line has the path without its query string.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from types import TracebackType
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

from server.config import ObservabilitySettings

access_log = logging.getLogger("server.access")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"
_WITHHELD = "(message withheld from logs)"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def format_exception_safely(exc_info: Any) -> str:
    """The traceback of ``exc_info`` (and of its causes) with every exception message withheld."""
    typ, value, tb = exc_info
    parts: list[str] = []
    seen: set[int] = set()
    while value is not None and id(value) not in seen:
        seen.add(id(value))
        stack = "".join(traceback.format_tb(tb))
        parts.append(f"Traceback (most recent call last):\n{stack}{typ.__module__}.{typ.__qualname__}: {_WITHHELD}")
        cause = value.__cause__ or (None if value.__suppress_context__ else value.__context__)
        if cause is None:
            break
        typ, value, tb = type(cause), cause, cause.__traceback__
    return "\n\nwhile handling:\n".join(reversed(parts))


class _SafeExceptions:
    """Formatter mix-in: exceptions are formatted without messages, never from another formatter's cache;
    the time is formatted once per second (an access line per request made ``strftime`` show in profiles)."""

    _second: int = -1
    _second_text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802  # logging's name
        if datefmt is not None:
            return super().formatTime(record, datefmt)  # type: ignore[misc,no-any-return]
        second = int(record.created)
        if second != self._second:
            self._second_text = time.strftime(logging.Formatter.default_time_format, self.converter(record.created))  # type: ignore[attr-defined]
            self._second = second
        return f"{self._second_text},{int(record.msecs):03d}"  # logging.Formatter.default_msec_format

    def formatException(self, ei: Any) -> str:  # noqa: N802  # logging's name
        return format_exception_safely(ei)

    def format(self, record: logging.LogRecord) -> str:
        cached = record.exc_text
        record.exc_text = None  # a handler formatted earlier may have cached the unredacted text
        try:
            return super().format(record)  # type: ignore[misc,no-any-return]
        finally:
            record.exc_text = cached


class SafeTextFormatter(_SafeExceptions, logging.Formatter):
    """``time LEVEL logger message`` lines."""


class SafeJsonFormatter(_SafeExceptions, JsonFormatter):
    """One JSON object per line: ``asctime, levelname, name, message`` plus the record's extras."""


class MalformedRequestRedaction(logging.Filter):
    """Keeps the request's own bytes out of Tornado's "Malformed HTTP message from %s: %s" line
    (``tornado.http1connection``, logger ``tornado.general``): the parse error quotes the offending
    header whole, so an ``Authorization`` value with a stray control byte would log the bearer token.
    The line keeps the peer and the error's type."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Malformed HTTP message from %s: %s" and isinstance(record.args, tuple) \
                and len(record.args) == 2:
            record.args = (record.args[0], f"{type(record.args[1]).__name__} {_WITHHELD}")
        return True


def make_handler(settings: ObservabilitySettings, stream: IO[str] | None = None,
                 worker: int | None = None) -> logging.Handler:
    """A stream handler (stderr by default) with the formatter ``settings.log_format`` asks for.

    ``worker``: this process's index among ``WEB_CONCURRENCY`` workers, or None for a lone process;
    when given, every line names the worker and its pid (fixed in the format, no per-line cost), so
    the lines of several workers sharing one log can be told apart."""
    handler = logging.StreamHandler(stream or sys.stderr)
    tag = None if worker is None else {"worker": worker, "pid": os.getpid()}
    if settings.log_format == "json":
        handler.setFormatter(SafeJsonFormatter(JSON_FIELDS, json_ensure_ascii=False, static_fields=tag))
    elif tag is None:
        handler.setFormatter(SafeTextFormatter(TEXT_FORMAT))
    else:
        text_format = TEXT_FORMAT.replace("%(name)s", f"%(name)s worker={worker} pid={tag['pid']}")
        handler.setFormatter(SafeTextFormatter(text_format))
    return handler


def configure_logging(settings: ObservabilitySettings, worker: int | None = None) -> None:
    """Send every log record to stderr in the chosen format at ``LOG_LEVEL`` (call once, in ``main``);
    ``worker`` as in ``make_handler``."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(make_handler(settings, worker=worker))
    root.setLevel(settings.log_level)
    tornado_general = logging.getLogger("tornado.general")
    if not any(isinstance(known, MalformedRequestRedaction) for known in tornado_general.filters):
        tornado_general.addFilter(MalformedRequestRedaction())
    # No line names its source file, thread or process (TEXT_FORMAT, JSON_FIELDS): not collecting them
    # saves a stack walk and three lookups per record, the access line's included (the logging HOWTO's
    # "Optimization" section; issue 19).
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def log_access(method: str, path: str, route: str, status: int, seconds: float, user_id: str | None) -> None:
    """The one access line of an answered request (replaces Tornado's ``tornado.access`` line).

    Args:
        method: the HTTP method.
        path: the request path without its query string (queries may carry ids and cursors).
        route: the route pattern (``/jobs/{id}``).
        status: the HTTP status sent.
        seconds: time from the request's arrival to its answer.
        user_id: the authenticated caller, or None.
    """
    duration_ms = round(seconds * 1000, 1)
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    access_log.log(level, "request method=%s path=%s status=%d duration_ms=%.1f user_id=%s",
                   method, path, status, duration_ms, user_id or "-",
                   extra={"method": method, "path": path, "route": route, "status": status,
                          "duration_ms": duration_ms, "user_id": user_id})
