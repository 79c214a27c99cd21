"""The ``Services`` object: everything handlers need, built once per Application."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from server.analysis.service import AnalysisService
from server.cases.service import CaseServices
from server.config import Settings
from server.jobs.runner import JobRunner
from server.jobs.store import JobStore
from server.jobs.waiters import Waiters


@dataclass
class Services:
    """One per Application; reaches handlers through ``initialize(services=...)``.

    Attributes:
        settings: validated settings.
        store: the job store.
        runner: the job runner.
        waiters: open long-polls and event streams.
        started_at: Unix time (seconds) the services were built; ids minted before it belong
            to an earlier run of the server.
        cases: the case repository and document extractor (None in apps built without them).
        analysis: starts analysis jobs; holds the provider set and Idempotency-Key answers.
        extras: services added by feature modules (cases repository, providers, waiters...).
    """

    settings: Settings
    store: JobStore
    runner: JobRunner
    waiters: Waiters
    started_at: float = field(default_factory=time.time)
    cases: CaseServices | None = None
    analysis: AnalysisService | None = None
    extras: dict[str, Any] = field(default_factory=dict)
