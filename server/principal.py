"""The authenticated caller, apart from how it was authenticated (``server.auth``), so the job
engine and the domain packages can name it without importing token verification or settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: ``user_id`` from the ``sub`` claim; ``is_admin`` from the role claim."""

    user_id: str
    is_admin: bool = False
