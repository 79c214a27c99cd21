"""Visible text: whether a client's title or name shows anything at all.

``str.strip`` removes whitespace only, so a title of zero-width spaces (U+200B), joiners, BOMs,
bidirectional marks or control characters passes a "not blank" check and shows as nothing. Here a
character is invisible when its Unicode general category is Cc (control), Cf (format: zero-width
and bidi marks, BOM), Zs/Zl/Zp (separators), or it is whitespace (Unicode TR44 categories).
"""

from __future__ import annotations

import unicodedata

_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def is_invisible(char: str) -> bool:
    """True when one character ``char`` draws nothing (see the module docstring)."""
    return char.isspace() or unicodedata.category(char) in _INVISIBLE_CATEGORIES


def visible_strip(value: str) -> str:
    """``value`` without invisible characters at either end; '' when nothing in it is visible."""
    start, end = 0, len(value)
    while start < end and is_invisible(value[start]):
        start += 1
    while end > start and is_invisible(value[end - 1]):
        end -= 1
    return value[start:end]
