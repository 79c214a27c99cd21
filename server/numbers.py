"""The one parser of numbers a client sends (query arguments, headers, cursors).

Python's ``int()`` refuses strings over 4,300 digits with a ``ValueError`` (CVE-2020-10735's
limit, ``sys.get_int_max_str_digits``) and takes time quadratic in the length below it, so a
client's digits are bounded by length *before* they are converted. Every number here fits in
19 digits (a signed 64-bit integer), far above any version, limit or sequence this server issues.
"""

from __future__ import annotations

import math

from server.error_codes import ErrorCode
from server.errors import InvalidInput

MAX_INT_DIGITS = 19  # 2**63 - 1 has 19 digits
MAX_NUMBER_CHARS = 32  # a decimal with sign, point and exponent fits easily


def parse_count(raw: str, *, name: str, code: ErrorCode, minimum: int = 0, maximum: int | None = None) -> int:
    """A non-negative decimal integer from client text, within ``minimum..maximum``.

    Only ASCII digits are accepted (``str.isdigit`` alone admits '²', which ``int`` refuses),
    at most ``MAX_INT_DIGITS`` of them, checked before any conversion.

    Args:
        raw: the client's text (query argument, header value, cursor part).
        name: what the value is, for the message (``'since'``, ``Last-Event-ID``).
        code: the error code of the 400 (``invalid_since``...).
    Raises:
        InvalidInput: ``code`` when ``raw`` is not such an integer or is out of range.
    """
    text = raw.strip()
    if not (0 < len(text) <= MAX_INT_DIGITS and text.isascii() and text.isdigit()):
        raise InvalidInput(f"{name} must be a non-negative integer of at most {MAX_INT_DIGITS} digits", code=code)
    value = int(text)
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise InvalidInput(f"{name} must be at least {minimum}{upper}", code=code)
    return value


def count_or_none(raw: str) -> int | None:
    """The integer in ``raw`` when it is a bounded non-negative decimal (see ``parse_count``), else None.

    For values that are preferences or hints rather than instructions (an entity tag, a
    ``Content-Length`` checked again by Tornado): an unusable one is ignored, never converted.
    """
    text = raw.strip()
    if 0 < len(text) <= MAX_INT_DIGITS and text.isascii() and text.isdigit():
        return int(text)
    return None


def parse_seconds(raw: str) -> float:
    """A finite number of seconds from client text, or NaN when it is not one.

    Bounded to ``MAX_NUMBER_CHARS`` characters before ``float`` reads it; ``nan``, ``inf`` and
    out-of-range values come back as NaN, so a caller's range check (``0 < x <= cap``) refuses them.
    """
    text = raw.strip()
    if not text or len(text) > MAX_NUMBER_CHARS or not text.isascii():
        return math.nan
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan
