"""Ids in URLs: UUIDs in canonical form, or the 400 that names which id was wrong."""

from __future__ import annotations

import re
import uuid

from server.error_codes import ErrorCode
from server.errors import InvalidInput

_INVALID_ID = {"job": ErrorCode.INVALID_JOB_ID, "case": ErrorCode.INVALID_CASE_ID,
               "document": ErrorCode.INVALID_DOCUMENT_ID}
_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def parse_uuid(raw: str, what: str) -> str:
    """Validate a UUID from a URL and return its canonical lower-case 36-character form.

    Args:
        raw: the path segment as received.
        what: the kind of id (``job``, ``case``, ``document``), named in the message and the code.
    Raises:
        InvalidInput: ``code="invalid_<what>_id"`` when ``raw`` is not a UUID.
    """
    if _CANONICAL.fullmatch(raw):
        return raw  # already canonical (what clients send back): no UUID object per poll
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise InvalidInput(f"{what.capitalize()} id must be a UUID", code=_INVALID_ID[what]) from None
