"""The ``ApiHandler`` base: services, default-deny authentication, JSON bodies, and the one
place where domain errors become HTTP responses.
"""

from __future__ import annotations

import json
import logging
from typing import Any, TypeVar

import pydantic
import tornado.web

from server.auth import Principal, bearer_token
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
from server.services import Services

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
_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def status_for(error: DomainError) -> int:
    """HTTP status of a domain error (the most specific class in ``STATUS_BY_ERROR`` wins)."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]  # type: ignore[index]
    return 500


class ApiHandler(tornado.web.RequestHandler):
    """Base of every JSON handler.

    Every handler is authenticated in ``prepare`` unless its class sets ``public = True``
    (default deny, as jupyter_server does). ``self.principal`` is the caller.
    """

    public = False
    services: Services
    principal: Principal

    def initialize(self, services: Services) -> None:
        self.services = services

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")

    def prepare(self) -> None:
        if not self.public:
            token = bearer_token(self.request.headers.get("Authorization"))
            self.principal = self.services.tokens.verify(token)

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
            raise UnsupportedMediaType("Send the body as application/json", code="unsupported_content_type")
        try:
            data = json.loads(self.request.body or b"null")
        except ValueError:
            raise InvalidInput("Request body is not valid JSON", code="malformed_json") from None
        try:
            return model.model_validate(data)
        except pydantic.ValidationError as invalid:
            raise InvalidInput(_describe(invalid), code="invalid_body") from None

    def query_int(self, name: str, default: int, *, minimum: int, maximum: int) -> int:
        """An integer query argument within ``minimum..maximum``; raises ``InvalidInput``."""
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise InvalidInput(f"'{name}' must be an integer", code=f"invalid_{name}") from None
        if not minimum <= value <= maximum:
            raise InvalidInput(f"'{name}' must be between {minimum} and {maximum}", code=f"invalid_{name}")
        return value

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, DomainError):
            return  # an expected answer, logged with the request line
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, DomainError):
            status_code = status_for(error)
            self.set_status(status_code)
            if error.retry_after is not None:
                self.set_header("Retry-After", str(error.retry_after))
            if isinstance(error, Unauthenticated):
                self.set_header("WWW-Authenticate", 'Bearer error="invalid_token"')
            body = {"detail": error.detail, "code": error.code}
        elif status_code >= 500:
            body = {"detail": "Internal server error", "code": "internal"}
        else:
            body = {"detail": self._reason, "code": _HTTP_CODES.get(status_code, "http_error")}
        self.finish(json.dumps(body))


class PublicHandler(ApiHandler):
    """A JSON handler that needs no token (health checks)."""

    public = True


class NotFoundHandler(PublicHandler):
    """Answers unknown routes with the JSON 404 body."""

    def prepare(self) -> None:
        raise NotFound("No such endpoint", code="no_route")


def _describe(invalid: pydantic.ValidationError) -> str:
    parts = []
    for err in invalid.errors()[:5]:
        where = ".".join(str(part) for part in err["loc"]) or "body"
        what = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{where}: {what}")
    return "; ".join(parts)
