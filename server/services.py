"""The ``Services`` object: everything handlers need, built once per Application."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import tornado.httpserver

from server.analysis.service import AnalysisService
from server.auth import TokenVerifier
from server.cases.service import CaseServices
from server.config import Settings
from server.jobs.runner import JobRunner
from server.jobs.store import JobStore
from server.jobs.waiters import Waiters
from server.metrics import Metrics

Closer = Callable[[], Awaitable[None]]
ReadinessCheck = Callable[[], Awaitable[bool]]


class InflightRequests:
    """How many API requests are being answered, so shutdown can let them finish before it closes
    the connections (Tornado's ``close_all_connections`` drops a response not yet written).
    """

    def __init__(self) -> None:
        self.count = 0
        self._idle: asyncio.Event | None = None

    def enter(self) -> None:
        """A request started."""
        self.count += 1

    def leave(self) -> None:
        """A request finished or its client went away."""
        self.count -= 1
        if self.count <= 0 and self._idle is not None:
            self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is in flight, at most ``timeout`` seconds; True when idle."""
        if self.count <= 0:
            return True
        self._idle = asyncio.Event()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        finally:
            self._idle = None
        return True


@dataclass
class Services:
    """One per Application; reaches handlers through ``initialize(services=...)``.

    Attributes:
        settings: validated settings.
        store: the job store.
        runner: the job runner.
        waiters: open long-polls and event streams.
        tokens: bearer-token verification (with its cache).
        started_at: Unix time (seconds) the services were built; ids minted before it belong
            to an earlier run of the server.
        metrics: the Prometheus registry and collectors of this server.
        requests: API requests in flight (shutdown waits for them before closing connections).
        closers: async functions run once at shutdown, after the jobs stopped, in reverse order of
            registration (register the database close, the provider clients' close...). Each gets a
            few seconds; a failure is logged and does not stop the others.
        readiness_checks: named async checks ``/readyz`` awaits (``"database": repo.ping``); a check
            that returns False, raises or hangs makes the server not ready.
        cases: the case repository and document extractor (None in apps built without them).
        analysis: starts analysis jobs; holds the provider set and Idempotency-Key answers.
        extras: services added by feature modules (``describe_providers`` for ``/readyz``...).
        http_server: the server listening for this app (``app.listen`` sets it); a parked
            long-poll hands its kept-alive connection back to it after answering. None: such
            connections close after the answer.
    """

    settings: Settings
    store: JobStore
    runner: JobRunner
    waiters: Waiters
    tokens: TokenVerifier
    metrics: Metrics
    started_at: float = field(default_factory=time.time)
    requests: InflightRequests = field(default_factory=InflightRequests)
    closers: list[Closer] = field(default_factory=list)
    readiness_checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    cases: CaseServices | None = None
    analysis: AnalysisService | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    http_server: tornado.httpserver.HTTPServer | None = None
