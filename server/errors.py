"""Domain errors: raised by services, turned into HTTP responses by ``server.web`` alone.

Each error carries a machine ``code`` and a ``detail`` fit to show a user. Neither may
contain personal data, secrets or internal exception text.
"""

from __future__ import annotations

from typing import ClassVar

from server.error_codes import ErrorCode


class DomainError(Exception):
    """Base of every error a client may see.

    Args:
        detail: short, user-safe explanation (no personal data, no exception text).
        code: machine-readable code (``server.error_codes.ErrorCode``); defaults to the class's
            ``default_code``, which only classes with one obvious code have.
        retry_after: seconds the client should wait before retrying, when relevant.

    Raises:
        TypeError: no ``code`` given and the class has no ``default_code``.
    """

    default_code: ClassVar[ErrorCode | None] = None

    def __init__(self, detail: str, code: ErrorCode | None = None, retry_after: int | None = None):
        super().__init__(detail)
        chosen = code or self.default_code
        if chosen is None:
            raise TypeError(f"{type(self).__name__} needs a code from server.error_codes")
        self.detail = detail
        self.code: ErrorCode = chosen
        self.retry_after = retry_after


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the variable and what it expects."""


class InvalidInput(DomainError):
    """The request is malformed (bad id, bad filter value, bad JSON field) -> 400."""


class Unauthenticated(DomainError):
    """Missing or invalid bearer token -> 401."""

    default_code = ErrorCode.INVALID_TOKEN


class Forbidden(DomainError):
    """Authenticated but not allowed -> 403 (only where hiding existence is not needed)."""


class NotFound(DomainError):
    """Unknown resource, or one the caller may not see -> 404."""

    default_code = ErrorCode.NOT_FOUND


class Conflict(DomainError):
    """The resource's state does not allow the action -> 409."""


class Gone(DomainError):
    """The requested position is no longer available (e.g. an expired change-feed cursor) -> 410."""


class PayloadTooLarge(DomainError):
    """Request body over its limit -> 413."""

    default_code = ErrorCode.PAYLOAD_TOO_LARGE


class UnsupportedMediaType(DomainError):
    """Content type not accepted -> 415."""


class Unprocessable(DomainError):
    """Well-formed but unusable content (encrypted or corrupt file) -> 422."""


class TooManyRequests(DomainError):
    """A per-user limit is reached -> 429 with ``Retry-After``."""


class Unavailable(DomainError):
    """The server cannot take the request now (full, shutting down) -> 503 with ``Retry-After``."""
