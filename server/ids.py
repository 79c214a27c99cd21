"""Ids in URLs: UUIDs in canonical form, or the 400 that names which id was wrong."""

from __future__ import annotations

import uuid

from server.errors import InvalidInput


def parse_uuid(raw: str, what: str) -> str:
    """Validate a UUID from a URL and return its canonical lower-case 36-character form.

    Args:
        raw: the path segment as received.
        what: the kind of id (``job``, ``case``, ``document``), named in the message and the code.
    Raises:
        InvalidInput: ``code="invalid_<what>_id"`` when ``raw`` is not a UUID.
    """
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise InvalidInput(f"{what.capitalize()} id must be a UUID", code=f"invalid_{what}_id") from None
