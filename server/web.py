"""The ``ApiHandler`` base: services, default-deny authentication, CORS, request body limits,
JSON bodies, and the one place where domain errors become HTTP responses.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import pydantic
import tornado.httputil
import tornado.iostream
import tornado.routing
import tornado.web

from server.auth import TokenVerifier, bearer_token
from server.config import Settings
from server.error_codes import ErrorCode
from server.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
    Unprocessable,
    UnsupportedMediaType,
)
from server.http.inflight import InflightRequests
from server.logs import log_access
from server.metrics import Metrics
from server.numbers import count_or_none, parse_count
from server.principal import Principal

log = logging.getLogger(__name__)

Model = TypeVar("Model", bound=pydantic.BaseModel)

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    Unprocessable: 422,
    TooManyRequests: 429,
    Unavailable: 503,
}

# Generic bodies for errors Tornado raises itself (unknown route, wrong method, ...).
_HTTP_CODES = {400: ErrorCode.BAD_REQUEST, 404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED,
               413: ErrorCode.PAYLOAD_TOO_LARGE}

# Tornado's own hard stop sits this far above our limit, so a body counted while it streams in gets
# our 413 (Tornado would answer a bare 400 and close): one read chunk is 64 KiB.
_TORNADO_LIMIT_SLACK = 64 * 1024
_ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE"
# Every request header the API documents (README "Request headers"): a browser may send only what
# a preflight allowed (Fetch standard, CORS protocol), so this one list is what preflights allow.
API_REQUEST_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "If-None-Match", "Last-Event-ID", "Prefer")
_ALLOWED_HEADERS = ", ".join(API_REQUEST_HEADERS)
_METHODS_IN_ALLOW = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_EXPOSED_HEADERS = "ETag, Location, Retry-After, Preference-Applied, WWW-Authenticate"
_PREFLIGHT_MAX_AGE = "600"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
CACHE_CONTROL = "no-store"  # answers are per caller and change as jobs run: never stored by a cache
_GROUP = re.compile(r"\((?:[^()]|\([^()]*\))*\)")
MAX_QUERY_VALUE_BYTES = 1024  # cursors and ids are under 100 characters; see server.numbers
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})  # bounded metric labels


class WebServices(Protocol):
    """What ``ApiHandler`` uses of the app's services (``server.services.Services`` is one)."""

    settings: Settings
    tokens: TokenVerifier
    requests: InflightRequests
    metrics: Metrics


def status_for(error: DomainError) -> int:
    """HTTP status of a domain error (the most specific class in ``STATUS_BY_ERROR`` wins)."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]  # type: ignore[index]
    return 500


@tornado.web.stream_request_body
class ApiHandler(tornado.web.RequestHandler):
    """Base of every JSON handler.

    Every handler is authenticated in ``prepare`` unless its class sets ``public = True``
    (default deny, as jupyter_server does). ``self.principal`` is the caller.

    The body streams in (``stream_request_body``) so its size is checked before it is read: a
    declared ``Content-Length`` over ``max_body_bytes()`` gets 413 in ``prepare``, and a chunked
    body gets 413 the moment it passes the limit. A subclass that implements ``data_received``
    itself (file uploads) handles its own body and limit; the base then leaves both alone.

    CORS: a preflight ``OPTIONS`` from an origin in ``CORS_ORIGINS`` is answered 204 before
    authentication; every answer to an allowed origin (errors included) carries
    ``Access-Control-Allow-Origin`` with that origin and ``Vary: Origin``. Credentials are never
    allowed: the API takes a bearer header, not cookies.
    """

    public = False
    services: WebServices
    principal: Principal
    _body_parts: list[bytes]
    _body_size = 0
    _body_limit = 0
    _in_flight = False

    def initialize(self, services: WebServices) -> None:
        self.services = services
        self._body_parts = []
        self._cors_headers()
        services.requests.enter()
        self._in_flight = True

    def on_finish(self) -> None:
        self._leave()

    def on_connection_close(self) -> None:
        # Tornado's fails the body future of a streamed body, which ends the request: without it, a
        # client that leaves mid-body keeps its handler and everything buffered alive for good.
        super().on_connection_close()
        self._leave()

    def _leave(self) -> None:
        if self._in_flight:
            self._in_flight = False
            self.services.requests.leave()

    def detach(self) -> tornado.iostream.IOStream:
        """Take the connection from Tornado to answer it later (``RequestHandler.detach``).

        The request stays counted once in ``services.requests`` (shutdown waits for it): whoever
        answers must call ``services.requests.leave()`` once the answer is written or the client
        has gone. No access line is logged for it here; the new owner records it.
        """
        if not self._in_flight:  # already left (the client went away): count it again for the new owner
            self.services.requests.enter()
        self._in_flight = False  # handed over, not finished
        return super().detach()

    async def head(self, *args: str) -> None:
        """``HEAD`` on every ``GET`` route (mandatory, RFC 9110 §9.3.2): the ``GET``'s status and
        headers without its body (Tornado drops the body of a HEAD answer and keeps its
        ``Content-Length``). Long-polls and event streams answer at once: a HEAD never waits."""
        if type(self).get is tornado.web.RequestHandler.get:
            raise tornado.web.HTTPError(405)
        answer: Any = type(self).get(self, *args)
        if answer is not None:
            await answer

    @classmethod
    def allowed_methods(cls) -> list[str]:
        """The methods this handler answers (for ``Allow`` on a 405): those it implements, and
        ``HEAD`` where it implements ``GET``."""
        return list(_allowed_methods(cls))

    @property
    def is_head(self) -> bool:
        """True for a ``HEAD`` request (its answer must not wait)."""
        return self.request.method == "HEAD"

    def headers_so_far(self) -> list[tuple[str, str]]:
        """The response headers set so far (defaults, CORS, ``Preference-Applied``...), as pairs."""
        return list(self._headers.get_all())

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", JSON_CONTENT_TYPE)
        self.set_header("Cache-Control", CACHE_CONTROL)
        if hasattr(self, "services"):  # also called before initialize()
            self._cors_headers()

    def prepare(self) -> None:
        if self.request.method == "OPTIONS":
            self._preflight()
            return
        if self.request.method not in _allowed_methods(type(self)):
            raise tornado.web.HTTPError(405)  # before any body is read: a PUT to an upload route is no upload
        if self._reads_own_body():
            self._limit_body()
        self._limit_query()
        if not self.public:
            token = bearer_token(self.request.headers.get("Authorization"))
            self.principal = self.services.tokens.verify(token)

    def _limit_query(self) -> None:
        """Refuse a query value longer than any this API takes (ids, cursors, numbers), before any
        handler parses it: a number or cursor parser then never sees thousands of digits."""
        for name, values in self.request.query_arguments.items():
            if any(len(value) > MAX_QUERY_VALUE_BYTES for value in values):
                raise InvalidInput(f"Query argument '{name[:40]}' is longer than {MAX_QUERY_VALUE_BYTES} bytes",
                                   code=ErrorCode.QUERY_VALUE_TOO_LONG)

    # -- request body ------------------------------------------------------------------------

    def max_body_bytes(self) -> int:
        """Largest accepted request body, bytes (``MAX_JSON_BODY_BYTES``); override per handler."""
        return self.services.settings.http.max_json_body_bytes

    def _reads_own_body(self) -> bool:
        return type(self).data_received is ApiHandler.data_received

    def _limit_body(self) -> None:
        self.expect_body(self.max_body_bytes(), _too_large)

    def expect_body(self, limit: int, too_large: Callable[[int], DomainError]) -> None:
        """Take a streamed request body of at most ``limit`` bytes (call from ``prepare``).

        A declared ``Content-Length`` over ``limit`` raises ``too_large(limit)`` now, and Tornado
        then discards the declared body quietly (the connection closes after our answer) instead of
        answering a bare 400 over ours. Tornado's own hard stop is set ``_TORNADO_LIMIT_SLACK`` above
        ``limit``, so a body counted as it streams in (``body_over_limit``) gets our 413 first.
        """
        self._body_limit = limit
        declared = count_or_none(self.request.headers.get("Content-Length", ""))  # Tornado 400s a bad one
        self.request.connection.set_max_body_size(limit + _TORNADO_LIMIT_SLACK)  # type: ignore[union-attr]
        if declared is not None and declared > limit:
            self.request.connection.set_max_body_size(declared)  # type: ignore[union-attr]
            raise too_large(limit)

    def body_over_limit(self, chunk: bytes) -> bool:
        """Count ``chunk`` of the streamed body; True once the body passed ``expect_body``'s limit."""
        self._body_size += len(chunk)
        return self._body_size > self._body_limit

    def refuse(self, error: DomainError) -> None:
        """Answer ``error`` now, from outside a handler method (``data_received``)."""
        self.send_error(status_for(error), exc_info=(type(error), error, None))

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self._finished:
            return None  # already answered (413 or an auth error): drop the rest
        if self.body_over_limit(chunk):
            self._body_parts = []
            self.refuse(_too_large(self._body_limit))
            return None
        self._body_parts.append(chunk)
        return None

    def body_bytes(self) -> bytes:
        """The request body received so far (all of it once the handler method runs)."""
        if self._reads_own_body():
            return b"".join(self._body_parts)
        return self.request.body

    # -- CORS ----------------------------------------------------------------------------------

    def _allowed_origin(self) -> str | None:
        origin = self.request.headers.get("Origin")
        allowed = self.services.settings.http.cors_origins
        if not origin or not allowed:
            return None
        if allowed == ("*",):
            return "*"
        return origin if origin.rstrip("/") in allowed else None

    def _cors_headers(self) -> None:
        if not self.services.settings.http.cors_origins:
            return
        self.add_header("Vary", "Origin")
        origin = self._allowed_origin()
        if origin is not None:
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Access-Control-Expose-Headers", _EXPOSED_HEADERS)

    def _preflight(self) -> None:
        if self._allowed_origin() is None or not self.request.headers.get("Access-Control-Request-Method"):
            raise Forbidden("Cross-origin requests from this origin are not allowed",
                            code=ErrorCode.CORS_ORIGIN_NOT_ALLOWED)
        self.set_header("Access-Control-Allow-Methods", _ALLOWED_METHODS)
        self.set_header("Access-Control-Allow-Headers", _ALLOWED_HEADERS)
        self.set_header("Access-Control-Max-Age", _PREFLIGHT_MAX_AGE)
        self.clear_header("Content-Type")
        self.set_status(204)
        self.finish()

    def compute_etag(self) -> str | None:
        return None  # handlers set version ETags themselves; never hash every body

    def write_json(self, body: Any, status: int = 200) -> None:
        """Send ``body`` (a dict, or JSON text already encoded) with ``status``."""
        self.set_status(status)
        self.finish(body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(",", ":")))

    def json_body(self, model: type[Model]) -> Model:
        """Parse the request body as JSON into ``model`` (declare ``extra="forbid"`` on it).

        Raises:
            UnsupportedMediaType: the content type is not ``application/json``.
            InvalidInput: malformed JSON, unknown field, or a field of the wrong shape; the
                message names fields, never their values.
        """
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise UnsupportedMediaType("Send the body as application/json", code=ErrorCode.UNSUPPORTED_CONTENT_TYPE)
        try:
            data = json.loads(self.body_bytes() or b"null", parse_constant=_reject_constant)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
            raise InvalidInput("Request body is not valid JSON", code=ErrorCode.MALFORMED_JSON) from None
        try:
            return model.model_validate(data)
        except pydantic.ValidationError as invalid:
            raise InvalidInput(_describe(invalid), code=ErrorCode.INVALID_BODY) from None

    def query_int(self, name: str, default: int, *, minimum: int, maximum: int, code: ErrorCode) -> int:
        """An integer query argument within ``minimum..maximum``; raises ``InvalidInput`` with ``code``."""
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        return parse_count(raw, name=f"'{name}'", code=code, minimum=minimum, maximum=maximum)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, (DomainError, tornado.web.HTTPError)):
            return  # an expected answer, logged with the request line
        # Tornado's own message has the full URI (query included); ours names the route only.
        log.error("uncaught exception method=%s route=%s", self.request.method, route_label(self),
                  exc_info=(typ, value, tb))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, DomainError):
            status_code = status_for(error)
            self.set_status(status_code)
            if error.retry_after is not None:
                self.set_header("Retry-After", str(error.retry_after))
            if isinstance(error, Unauthenticated):
                self.set_header("WWW-Authenticate", self._bearer_challenge())
            body = {"detail": error.detail, "code": error.code}
        elif status_code >= 500:
            body = {"detail": "Internal server error", "code": ErrorCode.INTERNAL}
        else:
            body = {"detail": self._reason, "code": _HTTP_CODES.get(status_code, ErrorCode.HTTP_ERROR)}
        if status_code == 405:
            self.set_header("Allow", ", ".join(self.allowed_methods()))  # RFC 9110 §15.5.6: MUST
        self.set_header("Content-Type", JSON_CONTENT_TYPE)  # also from the HTML page's route
        self.finish(json.dumps(body))

    def finish(self, chunk: str | bytes | dict[str, Any] | None = None) -> asyncio.Future[None]:
        """Finish the answer; one sent before the request was read to its end (an error raised in
        ``prepare``, even for a GET without a body) says ``Connection: close``.

        Tornado closes such a connection after the answer (``HTTP1Connection.finish``: it will not
        read the rest of the request); without the header a keep-alive client reuses the dead
        connection and its next request fails with a reset (RFC 9112 §9.6: announce the close).
        """
        if not self._headers_written and not getattr(self.request.connection, "_read_finished", True):
            self.set_header("Connection", "close")
        return super().finish(chunk)

    def _bearer_challenge(self) -> str:
        """The ``WWW-Authenticate`` challenge: with ``error="invalid_token"`` only when a bearer
        token was sent; a request without one gets the bare challenge (RFC 6750 §3.1)."""
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        return 'Bearer error="invalid_token"' if scheme.lower() == "bearer" and token.strip() else "Bearer"


class PublicHandler(ApiHandler):
    """A JSON handler that needs no token (health checks)."""

    public = True


class NotFoundHandler(PublicHandler):
    """Answers unknown routes with the JSON 404 body."""

    def prepare(self) -> None:
        raise NotFound("No such endpoint", code=ErrorCode.NO_ROUTE)


def record_request(services: WebServices, *, method: str, path: str, route: str, status: int, seconds: float,
                   user_id: str | None) -> None:
    """Account for one answered request: its access line and its metrics sample.

    ``route`` is the route pattern (``route_label``); ``seconds`` the time from arrival to
    answer; methods outside ``KNOWN_METHODS`` share the metric label ``OTHER``.
    """
    log_access(method, path, route, status, seconds, user_id)
    services.metrics.observe_request(route, method if method in KNOWN_METHODS else "OTHER", status, seconds)


def route_label(handler: tornado.web.RequestHandler) -> str:
    """The route pattern that served ``handler``'s request (``/jobs/{id}``), never the raw path.

    Bounded label for logs and metrics: ids in paths would make one series per job. Requests no
    route matched are ``(unmatched)``.
    """
    cached = getattr(handler, "_route_label", None)
    if cached is None:
        cached = _labels_by_class(handler.application).get(type(handler))
        if cached is None:
            cached = _match_label(handler.application.default_router, handler.request) or "(unmatched)"
        handler._route_label = cached  # type: ignore[attr-defined]
    return cached  # type: ignore[no-any-return]


def route_label_of(app: tornado.web.Application, handler_class: type) -> str:
    """The route label of ``handler_class`` in ``app`` (as ``route_label`` names its requests).

    Raises:
        KeyError: the class serves no route of ``app``, or more than one.
    """
    return _labels_by_class(app)[handler_class]


def _labels_by_class(app: tornado.web.Application) -> dict[type, str]:
    """The route label of every handler class that serves exactly one route of ``app`` (computed
    once per application): most requests then need no second pass over the route table."""
    labels: dict[type, str] | None = getattr(app, "_labels_by_class", None)
    if labels is None:
        seen: dict[type, list[str]] = {}
        _collect_labels(app.default_router, seen)
        labels = {cls: found[0] for cls, found in seen.items() if len(found) == 1}
        app._labels_by_class = labels  # type: ignore[attr-defined]
    return labels


def _collect_labels(router: tornado.routing.RuleRouter, seen: dict[type, list[str]]) -> None:
    for rule in router.rules:
        if isinstance(rule.target, tornado.routing.RuleRouter):
            _collect_labels(rule.target, seen)
            continue
        pattern = getattr(rule.matcher, "regex", None)
        if isinstance(rule.target, type):
            label = _GROUP.sub("{id}", pattern.pattern).rstrip("$") if pattern is not None else "(other)"
            seen.setdefault(rule.target, []).append(label)


_ALLOWED_BY_CLASS: dict[type, tuple[str, ...]] = {}


def _allowed_methods(cls: type[tornado.web.RequestHandler]) -> tuple[str, ...]:
    """``ApiHandler.allowed_methods`` computed once per class (``prepare`` asks on every request)."""
    allowed = _ALLOWED_BY_CLASS.get(cls)
    if allowed is None:
        def implements(method: str) -> bool:
            name = "get" if method == "HEAD" else method.lower()
            return getattr(cls, name) is not getattr(tornado.web.RequestHandler, name)
        allowed = _ALLOWED_BY_CLASS[cls] = tuple(method for method in _METHODS_IN_ALLOW if implements(method))
    return allowed


def _match_label(router: tornado.routing.RuleRouter, request: tornado.httputil.HTTPServerRequest) -> str | None:
    for rule in router.rules:
        if rule.matcher.match(request) is None:
            continue
        if isinstance(rule.target, tornado.routing.RuleRouter):
            label = _match_label(rule.target, request)
            if label is not None:
                return label
            continue
        pattern = getattr(rule.matcher, "regex", None)
        return _GROUP.sub("{id}", pattern.pattern).rstrip("$") if pattern is not None else "(other)"
    return None


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than the {limit} byte limit", code=ErrorCode.BODY_TOO_LARGE)


def _reject_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (RFC 8259 §6); Python's parser accepts them unless told not to."""
    raise ValueError(f"{name} is not valid JSON")


def _describe(invalid: pydantic.ValidationError) -> str:
    parts = []
    for err in invalid.errors()[:5]:
        where = ".".join(str(part) for part in err["loc"]) or "body"
        what = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{where}: {what}")
    return "; ".join(parts)
