"""Opaque page cursors: the id of the last item of a page (a job or case the caller has just been
shown), base64url-encoded. An id reveals nothing about other users, unlike a store-wide creation
counter, which would let a caller measure how busy everyone else is (issue 11, item 9)."""

from __future__ import annotations

import base64
import binascii
import uuid

from server.error_codes import ErrorCode
from server.errors import InvalidInput

_MAX_CURSOR_CHARS = 64  # 'i' and a 36-character UUID encode to 50 characters


def encode_cursor(item_id: str) -> str:
    """The cursor for the items listed after ``item_id`` (older than it)."""
    return base64.urlsafe_b64encode(f"i{item_id}".encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> str | None:
    """The item id in ``raw``, None for no cursor.

    Raises:
        InvalidInput: ``invalid_cursor`` for text this server did not issue.
    """
    if raw is None:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode() if len(raw) <= _MAX_CURSOR_CHARS else ""
        if text.startswith("i"):
            return str(uuid.UUID(text[1:]))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInput("'cursor' is not a cursor this server issued", code=ErrorCode.INVALID_CURSOR)
