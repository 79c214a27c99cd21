"""Job ids: UUIDv7 strings (RFC 9562 §5.7), time-ordered so an id tells when it was minted."""

from __future__ import annotations

import uuid

import uuid6

from server.ids import parse_uuid


def new_job_id() -> str:
    """Return a new UUIDv7 as its canonical 36-character string."""
    return str(uuid6.uuid7())



def parse_job_id(raw: str) -> str:
    """Validate a job id from a URL and return it in canonical lower-case form.

    Raises:
        InvalidInput: ``code="invalid_job_id"`` when ``raw`` is not a UUID.
    """
    return parse_uuid(raw, "job")


def minted_at_ms(job_id: str) -> int | None:
    """Return the Unix time in milliseconds a UUIDv7 id was minted at, or None for other versions.

    The first 48 bits of a UUIDv7 are the Unix epoch milliseconds (RFC 9562 §5.7).
    """
    value = uuid.UUID(job_id)
    if value.version != 7:
        return None
    return value.int >> 80
