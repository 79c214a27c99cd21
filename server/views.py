"""Building blocks of the response models: the timestamp type and the error body."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import pydantic

from server.clock import iso_utc

Timestamp = Annotated[
    datetime,
    pydantic.PlainSerializer(iso_utc, return_type=str),
    pydantic.WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-11-30T10:30:00.000000Z"]}),
]
"""A datetime, written as ISO 8601 UTC with microseconds and ``Z`` (``server.clock.iso_utc``)."""


class ErrorBody(pydantic.BaseModel):
    """Every error answer: ``detail`` for people, ``code`` for programs (``server.web.write_error``)."""

    detail: str = pydantic.Field(description="Short explanation fit to show a user.")
    code: str = pydantic.Field(description="Machine-readable code; the values per answer are listed with it.")


class HealthView(pydantic.BaseModel):
    """``GET /healthz``."""

    status: Literal["ok"]


class ReadyView(pydantic.BaseModel):
    """``GET /readyz``: each check's state and the provider serving each job type (never a key)."""

    status: Literal["ready", "not_ready"]
    checks: dict[str, Literal["ok", "failing"]]
    store: Literal["ok", "unreachable"]
    accepting_jobs: bool
    providers: dict[str, Any] = pydantic.Field(description="Per job type: {provider, model, ...}.")


class DevToken(pydantic.BaseModel):
    """A token for one dev user."""

    user: str
    admin: bool
    token: str


class DevTokens(pydantic.BaseModel):
    """``GET /dev/tokens`` (dev mode, loopback only)."""

    tokens: list[DevToken]
