"""What the job functions need of the provider layer, as a protocol.

``Provider`` and ``AnalysisOutcome`` come from ``server.analysis.providers.base``. The provider
set (``server.analysis.providers.registry.ProviderSet``, not merged yet) is described here by the
one method the jobs call, so tests can plug in a scripted implementation.
"""

from __future__ import annotations

from typing import Protocol

from server.analysis.inputs import AnalysisKind
from server.analysis.providers.base import Provider


class ProviderSet(Protocol):
    """The providers configured for the three kinds."""

    def for_kind(self, kind: AnalysisKind) -> Provider:
        """The provider serving ``kind``."""
