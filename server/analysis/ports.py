"""What the job functions need of the provider layer (``server.analysis.providers``), as protocols.

The provider layer's ``ProviderSet`` and ``Provider`` satisfy these structurally; tests use a
scripted implementation. A provider raises ``ProviderError`` (a ``JobFailed``) with a user-safe
message; the job lets it through so the job ends ``failed`` with that code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from server.analysis.inputs import AnalysisInput, AnalysisKind

Progress = Callable[[float, str], Awaitable[None]]


class Outcome(Protocol):
    """One analysis answer: ``output`` (a pydantic model or a dict) and who produced it."""

    output: Any
    provider: str
    model: str
    usage: Any
    duration_seconds: float


class Provider(Protocol):
    """One configured model behind one analysis kind."""

    async def analyze(self, kind: AnalysisKind, data: AnalysisInput, progress: Progress) -> Outcome:
        """Run the analysis; ``progress(percent 0..100, message)`` reports the provider's own steps."""


class ProviderSet(Protocol):
    """The providers configured for the three kinds."""

    def for_kind(self, kind: AnalysisKind) -> Provider:
        """The provider serving ``kind``."""
