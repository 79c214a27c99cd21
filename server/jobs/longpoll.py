"""Parsing the long-poll parameters: ``?wait=N`` or ``Prefer: wait=N`` (RFC 7240 §4.3), the
baseline version (``If-None-Match`` or ``?since=``), and the server-side jitter.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

from server.error_codes import ErrorCode
from server.errors import InvalidInput
from server.numbers import parse_count, parse_seconds

_PREFER_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*\"?([^\s,;\"]+)\"?", re.IGNORECASE)
JITTER_FRACTION = 0.1  # up to 10% (at most 1 s) earlier, so clients do not re-poll in lockstep


@dataclass(frozen=True)
class WaitRequest:
    """How long to wait; ``seconds`` None means answer at once. ``from_prefer``: the wait came from
    the ``Prefer`` header, so the answer reports it in ``Preference-Applied``."""

    seconds: float | None = None
    from_prefer: bool = False


def parse_wait(query_value: str | None, prefer: str | None, max_seconds: float) -> WaitRequest:
    """Read the wait from ``?wait=N`` (preferred) or the ``Prefer`` header.

    ``?wait=`` is an instruction: a bad value is an error. ``Prefer: wait=N`` is a preference,
    which RFC 7240 §2 says is not required for the request to succeed: a value above the cap is
    capped, and one that is not a positive number is ignored (the answer comes at once).

    Args:
        query_value: the ``wait`` query argument or None.
        prefer: the ``Prefer`` header or None.
        max_seconds: ``LONGPOLL_MAX_SECONDS``.
    Raises:
        InvalidInput: ``code="invalid_wait"`` unless ``0 < N <= max_seconds`` for ``?wait=N``.
    """
    if query_value is not None:
        seconds = parse_seconds(query_value)
        if not (0 < seconds <= max_seconds):  # also false for NaN
            raise InvalidInput(f"'wait' must be a number of seconds above 0 and at most {max_seconds:g}",
                               code=ErrorCode.INVALID_WAIT)
        return WaitRequest(seconds)
    match = _PREFER_WAIT.search(prefer) if prefer else None
    if match is None:
        return WaitRequest()
    seconds = parse_seconds(match.group(1))
    if not (0 < seconds < math.inf):  # also false for NaN
        return WaitRequest()
    return WaitRequest(min(seconds, max_seconds), from_prefer=True)


def jittered(seconds: float) -> float:
    """Shorten a wait by a small random amount (never lengthen: the 30 s router limit stands)."""
    return seconds - random.uniform(0, min(1.0, seconds * JITTER_FRACTION))  # noqa: S311 (not security)


def parse_since(raw: str | None) -> int | None:
    """A non-negative integer ``since`` value (or ``Last-Event-ID``), or None when absent.

    Raises:
        InvalidInput: ``code="invalid_since"`` when not a non-negative integer of at most 19 digits.
    """
    if raw is None:
        return None
    return parse_count(raw, name="'since'", code=ErrorCode.INVALID_SINCE)


def etag_version(tags: frozenset[str], job_id: str) -> int | None:
    """The version named by an ``If-None-Match`` tag of this job (``"<job_id>.<version>"``), if any.

    Raises:
        InvalidInput: ``code="invalid_if_none_match"`` when the version has more digits than any
            version this server issues (``server.numbers.MAX_INT_DIGITS``).
    """
    prefix = f'"{job_id}.'
    for tag in tags:
        version = tag[len(prefix):-1]
        if tag.startswith(prefix) and tag.endswith('"') and version.isascii() and version.isdigit():
            return parse_count(version, name="The If-None-Match version", code=ErrorCode.INVALID_IF_NONE_MATCH)
    return None


def parse_etags(header: str) -> frozenset[str]:
    """The entity tags of an ``If-None-Match`` header (weak tags compared as strong; ``*`` kept)."""
    return frozenset(tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip())


def not_modified(etag: str, tags: frozenset[str]) -> bool:
    """True when ``If-None-Match`` names the current ``etag`` or is ``*`` (RFC 9110 §13.1.2): answer 304."""
    return etag in tags or "*" in tags
