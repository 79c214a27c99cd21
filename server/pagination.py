"""Opaque page cursors: the creation number of the last item of a page, base64url-encoded."""

from __future__ import annotations

import base64
import binascii

from server.errors import InvalidInput
from server.numbers import count_or_none

_MAX_CURSOR_CHARS = 64  # 'c' and 19 digits encode to 27 characters


def encode_cursor(number: int) -> str:
    """The cursor for items created before ``number``."""
    return base64.urlsafe_b64encode(f"c{number}".encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> int | None:
    """The creation number in ``raw``, None for no cursor; raises ``InvalidInput`` for a foreign one."""
    if raw is None:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode() if len(raw) <= _MAX_CURSOR_CHARS else ""
        number = count_or_none(text[1:]) if text.startswith("c") else None
        if number is not None:
            return number
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInput("'cursor' is not a cursor this server issued", code="invalid_cursor")
