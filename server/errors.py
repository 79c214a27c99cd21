"""Domain errors: raised by services, turned into HTTP responses by ``server.web`` alone.

Each error carries a machine ``code`` and a ``detail`` fit to show a user. Neither may
contain personal data, secrets or internal exception text.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a client may see.

    Args:
        detail: short, user-safe explanation (no personal data, no exception text).
        code: machine-readable code; defaults to the class's ``default_code``.
        retry_after: seconds the client should wait before retrying, when relevant.
    """

    default_code = "error"

    def __init__(self, detail: str, code: str | None = None, retry_after: int | None = None):
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.retry_after = retry_after


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the variable and what it expects."""


class InvalidInput(DomainError):
    """The request is malformed (bad id, bad filter value, bad JSON field) -> 400."""

    default_code = "invalid_input"


class Unauthenticated(DomainError):
    """Missing or invalid bearer token -> 401."""

    default_code = "invalid_token"


class Forbidden(DomainError):
    """Authenticated but not allowed -> 403 (only where hiding existence is not needed)."""

    default_code = "forbidden"


class NotFound(DomainError):
    """Unknown resource, or one the caller may not see -> 404."""

    default_code = "not_found"


class Conflict(DomainError):
    """The resource's state does not allow the action -> 409."""

    default_code = "conflict"


class Gone(DomainError):
    """The requested position is no longer available (e.g. an expired change-feed cursor) -> 410."""

    default_code = "gone"


class PayloadTooLarge(DomainError):
    """Request body over its limit -> 413."""

    default_code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    """Content type not accepted -> 415."""

    default_code = "unsupported_media_type"


class Unprocessable(DomainError):
    """Well-formed but unusable content (encrypted or corrupt file) -> 422."""

    default_code = "unprocessable"


class TooManyRequests(DomainError):
    """A per-user limit is reached -> 429 with ``Retry-After``."""

    default_code = "too_many_requests"


class Unavailable(DomainError):
    """The server cannot take the request now (full, shutting down) -> 503 with ``Retry-After``."""

    default_code = "unavailable"
