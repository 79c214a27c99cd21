"""The ``Services`` object: everything handlers need, built once per Application."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from server.config import Settings
from server.jobs.runner import JobRunner
from server.jobs.store import JobStore
from server.jobs.waiters import Waiters
from server.metrics import Metrics

Closer = Callable[[], Awaitable[None]]
ReadinessCheck = Callable[[], Awaitable[bool]]


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
        metrics: the Prometheus registry and collectors of this server.
        closers: async functions run once at shutdown, after the jobs stopped, in reverse order of
            registration (register the database close, the provider clients' close...). Each gets a
            few seconds; a failure is logged and does not stop the others.
        readiness_checks: named async checks ``/readyz`` awaits (``"database": repo.ping``); a check
            that returns False, raises or hangs makes the server not ready.
        extras: services added by feature modules (``describe_providers`` for ``/readyz``...).
    """

    settings: Settings
    store: JobStore
    runner: JobRunner
    waiters: Waiters
    metrics: Metrics
    started_at: float = field(default_factory=time.time)
    closers: list[Closer] = field(default_factory=list)
    readiness_checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
