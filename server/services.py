"""The ``Services`` object: what every part of the server shares, built once per Application by
``server.app.build_services``.

It knows no feature: the case and analysis services are fields of ``server.app.AppServices`` and
reach their handlers through the route table, so the job engine and the web layer can be imported
without them. Handlers type ``services`` as the narrow protocol of what they use
(``server.web.WebServices``, ``server.jobs.handlers.JobServices``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import tornado.httpserver

from server.auth import TokenVerifier
from server.config import Settings
from server.draining import Drain
from server.http.inflight import InflightRequests
from server.jobs.retention import Sweeper
from server.jobs.runner import JobRunner
from server.jobs.store import JobStore
from server.jobs.waiters import Waiters
from server.metrics import Metrics

Closer = Callable[[], Awaitable[None]]
ReadinessCheck = Callable[[], Awaitable[bool]]
ProviderReport = Callable[[], dict[str, dict[str, str]]]


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
        describe_providers: ``{job_type: {"provider", "model"}}`` for ``/readyz`` and the start-up
            log, set by the analysis feature; None without it.
        sweeper: the retention sweep of a running server (``server.app.start_background``).
        drain: set once shutdown begins (``server.app.stop_jobs``): waiting clients are answered
            with its ``Retry-After``; None while the server serves.
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
    describe_providers: ProviderReport | None = None
    sweeper: Sweeper | None = None
    drain: Drain | None = None
    http_server: tornado.httpserver.HTTPServer | None = None
