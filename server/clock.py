"""Time helpers: one UTC wall clock and the seed's timestamp format."""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def iso_utc(moment: datetime | None) -> str | None:
    """Format an aware datetime as ISO 8601 UTC with microseconds and ``Z``.

    ``2025-12-31T10:30:00.000000Z``: the seed's format plus the explicit zone, because browsers'
    ``Date`` reads a naive timestamp as local time. ``None`` stays ``None``.
    """
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
