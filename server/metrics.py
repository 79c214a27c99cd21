"""Prometheus metrics, one ``CollectorRegistry`` per ``Services`` (tests build many apps).

Job metrics come from the store's change notifications (``store.subscribe_owner(None, ...)``), so
they count every way a job changes (runner, cancel, shutdown) without the runner knowing about
metrics. The same observer logs progress milestones (25/50/75 %) and the end of jobs that never
started. With a shared (Redis) store every process hears every change, so the job metrics of
each process describe the whole service. HTTP metrics are fed by the Application's
``log_function`` with the route pattern, never the raw path. IOLoop lag is measured by a timer that
notes how late it fires.

Every registry also carries the standard ``process_*`` and ``python_*`` collectors that stock
dashboards expect. ``*_created`` series (a timestamp per counter and histogram child, which
nobody here graphs) are left out of every exposition, per registry rather than with
``prometheus_client.disable_created_metrics()``, which is process-wide state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric

from server.jobs.models import Job, JobStatus
from server.jobs.store import JobStore, Unsubscribe
from server.jobs.waiters import Waiters

log = logging.getLogger("server.jobs.events")

JOB_SECONDS_BUCKETS = (0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200)
WAIT_SECONDS_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600)
HTTP_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
LAG_SECONDS_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)
LAG_INTERVAL_SECONDS = 0.5
MILESTONES = (25, 50, 75)


@dataclass
class _Seen:
    job_type: str
    status: JobStatus
    progress: int


class Metrics:
    """Every metric of one server.

    Args:
        store: its change notifications drive the job metrics (subscribed here, until ``close``).
        waiters: read at scrape time for open long-polls and streams.
    """

    def __init__(self, store: JobStore, waiters: Waiters):
        self.registry = CollectorRegistry()
        reg = self.registry
        ProcessCollector(registry=reg)  # process_cpu_seconds_total, process_resident_memory_bytes, ...
        PlatformCollector(registry=reg)  # python_info
        GCCollector(registry=reg)  # python_gc_*
        self.jobs_created = Counter("jobs_created", "Jobs created", ["job_type"], registry=reg)
        self.jobs_finished = Counter("jobs_finished", "Jobs that reached a final state",
                                     ["job_type", "outcome"], registry=reg)
        self.job_duration = Histogram("job_duration_seconds", "Time from start to final state of jobs that started",
                                      ["job_type"], buckets=JOB_SECONDS_BUCKETS, registry=reg)
        self.job_queue_wait = Histogram("job_queue_wait_seconds", "Time from creation to start",
                                        ["job_type"], buckets=WAIT_SECONDS_BUCKETS, registry=reg)
        self.jobs_active = Gauge("jobs_active", "Jobs pending or running now", ["job_type", "status"], registry=reg)
        longpolls = Gauge("longpolls_open", "Open long-polls (job and list)", registry=reg)
        longpolls.set_function(lambda: waiters.open_count - waiters.stream_count)
        streams = Gauge("event_streams_open", "Open event streams", registry=reg)
        streams.set_function(lambda: waiters.stream_count)
        self.http_requests = Counter("http_requests", "HTTP requests answered",
                                     ["route", "method", "status"], registry=reg)
        self.http_duration = Histogram("http_request_duration_seconds", "HTTP request duration", ["route", "method"],
                                       buckets=HTTP_SECONDS_BUCKETS, registry=reg)
        self.ioloop_lag = Histogram("ioloop_lag_seconds", "How late a timer fires on the IOLoop",
                                    buckets=LAG_SECONDS_BUCKETS, registry=reg)
        self.ioloop_lag_last = Gauge("ioloop_lag_last_seconds", "Lateness of the last IOLoop timer", registry=reg)
        store_errors = Gauge("job_store_errors", "Job store calls that failed for want of the store, since start",
                             registry=reg)
        store_errors.set_function(lambda: getattr(store, "errors", 0))
        fanout = Gauge("job_store_wakeups", "Local subscriber calls made for changes heard on the shared store's "
                       "subscription, since start", registry=reg)
        fanout.set_function(lambda: getattr(store, "fanout", 0))
        self._seen: dict[str, _Seen] = {}  # unfinished jobs only
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._unsubscribe: Unsubscribe | None = store.subscribe_owner(None, self.on_job_change)
        self._lag: LoopLagMonitor | None = None

    # -- jobs ----------------------------------------------------------------------------------

    def on_job_change(self, job: Job) -> None:
        """Store callback: update counters and gauges from one change of ``job``."""
        seen = self._seen.get(job.job_id)
        if seen is None:
            if job.version != 1:
                return  # created before these metrics existed
            self.jobs_created.labels(job.job_type).inc()
            seen = _Seen(job.job_type, JobStatus.PENDING, 0)
            self._seen[job.job_id] = seen
            self.jobs_active.labels(job.job_type, JobStatus.PENDING.value).inc()
        if job.status is not seen.status:
            self._on_transition(job, seen)
        if job.status is JobStatus.RUNNING and job.progress != seen.progress:
            self._on_progress(job, seen)

    def _on_transition(self, job: Job, seen: _Seen) -> None:
        self.jobs_active.labels(job.job_type, seen.status.value).dec()
        if job.status is JobStatus.PENDING:  # handed back to the queue, or taken over from a lost process
            self.jobs_active.labels(job.job_type, JobStatus.PENDING.value).inc()
            seen.status = job.status
            return
        if job.status is JobStatus.RUNNING:
            self.jobs_active.labels(job.job_type, JobStatus.RUNNING.value).inc()
            if job.started_at is not None:
                self.job_queue_wait.labels(job.job_type).observe(
                    max(0.0, (job.started_at - job.created_at).total_seconds()))
            seen.status = job.status
            return
        del self._seen[job.job_id]
        outcome = job.error_code or job.status.value
        self.jobs_finished.labels(job.job_type, outcome).inc()
        if job.started_at is not None and job.completed_at is not None:
            self.job_duration.labels(job.job_type).observe(
                max(0.0, (job.completed_at - job.started_at).total_seconds()))
        else:  # the runner logs the end of jobs it ran; this one never ran
            log.info("job finished job_id=%s job_type=%s user_id=%s outcome=%s duration=0.000s (never started)",
                     job.job_id, job.job_type, job.owner_id, outcome)

    def _on_progress(self, job: Job, seen: _Seen) -> None:
        passed = [mark for mark in MILESTONES if seen.progress < mark <= job.progress]
        seen.progress = job.progress
        if passed:
            log.info("job progress job_id=%s job_type=%s user_id=%s progress=%d", job.job_id, job.job_type,
                     job.owner_id, passed[-1])

    # -- HTTP and IOLoop -----------------------------------------------------------------------

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request under its route pattern."""
        children = self._request_children.get((route, method, status))
        if children is None:  # labels() builds and locks on every call: look each series up once
            children = (self.http_requests.labels(route, method, str(status)), self.http_duration.labels(route, method))
            self._request_children[(route, method, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def start(self) -> None:
        """Start measuring IOLoop lag on the running loop."""
        if self._lag is None:
            self._lag = LoopLagMonitor(self, LAG_INTERVAL_SECONDS)
            self._lag.start()

    def close(self) -> None:
        """Stop the lag timer and the store subscription."""
        if self._lag is not None:
            self._lag.stop()
            self._lag = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def render(self) -> bytes:
        """The registry in Prometheus text format (without ``*_created`` series)."""
        return generate_latest(_WithoutCreated(self.registry))

    def render_for(self, accept: str) -> tuple[bytes, str]:
        """The registry in the format an ``Accept`` header asks for: OpenMetrics when it names
        ``application/openmetrics-text``, else Prometheus text (``prometheus_client``'s own
        negotiation). Returns (body, its Content-Type)."""
        encoder, content_type = choose_encoder(accept)
        return encoder(_WithoutCreated(self.registry)), content_type


class _WithoutCreated:
    """A registry's view whose metrics have no ``<name>_created`` samples."""

    def __init__(self, registry: CollectorRegistry):
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        for metric in self._registry.collect():  # fresh Metric objects on every collect
            created = f"{metric.name}_created"
            metric.samples = [sample for sample in metric.samples if sample.name != created]
            yield metric


class LoopLagMonitor:
    """A timer every ``interval`` seconds that records how late it ran (the IOLoop's scheduling delay)."""

    def __init__(self, metrics: Metrics, interval: float):
        self._metrics = metrics
        self._interval = interval
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0

    def start(self) -> None:
        """Schedule the first tick on the running loop."""
        self._schedule(asyncio.get_running_loop())

    def stop(self) -> None:
        """Cancel the pending tick."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        self._due = loop.time() + self._interval
        self._handle = loop.call_at(self._due, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        lag = max(0.0, loop.time() - self._due)
        self._metrics.ioloop_lag.observe(lag)
        self._metrics.ioloop_lag_last.set(lag)
        self._schedule(loop)
