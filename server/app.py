"""The composition root: builds the ``Services`` with the features this server has and the Tornado
``Application``; the route table lives here. Nothing but ``server.__main__`` imports this module."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

import tornado.httpserver
import tornado.httputil
import tornado.web

from server.analysis.handlers import AgentAnalysisHandler, CallAnalysisHandler, Form7801AnalysisHandler
from server.analysis.jobs import AnalysisJobs
from server.analysis.providers.registry import ProviderSet
from server.analysis.service import JOB_METADATA_FILTERS, AnalysisService
from server.auth import TokenVerifier
from server.cases.demo import seed_demo_cases
from server.cases.handlers import CallDetailsHandler, CaseHandler, CaseListHandler, DocumentHandler
from server.cases.service import CaseServices
from server.cases.uploads import DocumentListHandler
from server.config import Settings
from server.docs import SWAGGER_UI_DIR, SWAGGER_UI_FILES, DocsHandler, OpenApiHandler, SwaggerAssetHandler, document_for
from server.draining import Drain
from server.health import HealthHandler, MetricsHandler, ReadyHandler
from server.jobs.fast_poll import PollFastPath
from server.jobs.handlers import JobCancelHandler, JobEventsHandler, JobHandler, JobListHandler
from server.jobs.retention import Sweeper
from server.jobs.runner import JobRunner
from server.jobs.store import open_store
from server.jobs.waiters import Waiters
from server.metrics import Metrics
from server.page import DevTokensHandler, PageHandler, StaticHandler
from server.services import Services
from server.web import NotFoundHandler, record_request, route_label, route_label_of

log = logging.getLogger(__name__)

UUID_PATTERN = r"([^/]+)"  # validated by the handler so a bad id gets a clear 400, not a bare 404
STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")  # package data (setup.py)
CLOSER_TIMEOUT_SECONDS = 2.0  # all closers together; Heroku kills the dyno 30 s after SIGTERM


Route = tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]


@dataclass
class AppServices(Services):
    """The shared ``Services`` plus the features this server was built with.

    Attributes:
        cases: the case repository and document extractor; None: no case routes.
        analysis: starts analysis jobs (needs ``cases``); None: no analysis routes.
    """

    cases: CaseServices | None = None
    analysis: AnalysisService | None = None


def build_services(settings: Settings) -> AppServices:
    """Create the store, runner, metrics, case and analysis services from ``settings`` (no I/O, no
    tasks started).

    The three analysis job types are registered here with the provider set ``LLM_*``/``PROVIDER_*``
    select (the offline analyzer where a key is missing, outside production). The database and the
    provider clients are closed by shutdown closers; the database is a readiness check.
    """
    jobs = settings.jobs
    store = open_store(settings.store, ttl_seconds=jobs.ttl_seconds, max_jobs=jobs.max_stored_jobs)
    runner = JobRunner(store, concurrency=jobs.concurrency, concurrency_by_type=jobs.concurrency_by_type,
                       timeout_seconds=jobs.timeout_seconds, max_active_per_user=jobs.max_active_per_user,
                       lease_seconds=jobs.lease_seconds)
    waiters = Waiters(store, max_per_user=settings.push.max_per_user, max_total=settings.push.max_total)
    metrics = Metrics(store, waiters)
    cases = CaseServices.from_settings(settings.cases)
    providers = ProviderSet.build(settings.llm)
    analysis = AnalysisService(runner, store, providers=providers)
    AnalysisJobs(cases.repository, analysis, settings.cases.analysis_max_input_chars).register(runner)
    services = AppServices(settings=settings, store=store, runner=runner, waiters=waiters, metrics=metrics,
                           tokens=TokenVerifier(settings.auth), cases=cases, analysis=analysis,
                           describe_providers=providers.describe)
    services.closers.append(store.aclose)  # closers run newest first: the job store closes last
    services.closers.append(cases.aclose)
    services.closers.append(providers.aclose)
    services.readiness_checks["database"] = cases.repository.ping
    return services


def routes(services: AppServices) -> list[Route]:
    """The route table: (pattern, handler class, initialize kwargs). A feature's routes are present
    only when ``services`` has that feature (``AppServices.cases``, ``.analysis``), so its handlers
    always have their service."""
    api = {"services": services}
    cases, analysis = services.cases, services.analysis
    job_filters = JOB_METADATA_FILTERS if analysis is not None else ()
    table: list[Route] = [
        # Tornado tries the patterns in order (after its three static ones) and no two of these match the
        # same path, so the poll, the most frequent request by far, goes first (issue 19).
        (rf"/jobs/{UUID_PATTERN}", JobHandler, api),
        (r"/healthz", HealthHandler, api),
        (r"/readyz", ReadyHandler, api),
        (r"/metrics", MetricsHandler, api),
        (r"/jobs", JobListHandler, {**api, "metadata_filters": job_filters}),
        (rf"/jobs/{UUID_PATTERN}/cancel", JobCancelHandler, api),
        (rf"/jobs/{UUID_PATTERN}/events", JobEventsHandler, api),
    ]
    if cases is not None:
        table += case_routes({**api, "cases": cases})
        if analysis is not None:
            table += analysis_routes({**api, "cases": cases, "analysis": analysis})
    return table + [
        (r"/", PageHandler, api),
        (r"/dev/tokens", DevTokensHandler, api),
        (r"/openapi.json", OpenApiHandler, api),
        (r"/docs", DocsHandler, api),
        (rf"/docs/{SWAGGER_UI_FILES}", SwaggerAssetHandler, {"path": SWAGGER_UI_DIR}),
    ]


def case_routes(kwargs: dict[str, Any]) -> list[Route]:
    """The case feature's routes; ``kwargs``: ``services`` and ``cases``."""
    return [
        (r"/cases", CaseListHandler, kwargs),
        (rf"/cases/{UUID_PATTERN}", CaseHandler, kwargs),
        (rf"/cases/{UUID_PATTERN}/call-details", CallDetailsHandler, kwargs),
        (rf"/cases/{UUID_PATTERN}/documents", DocumentListHandler, kwargs),
        (rf"/cases/{UUID_PATTERN}/documents/{UUID_PATTERN}", DocumentHandler, kwargs),
    ]


def analysis_routes(kwargs: dict[str, Any]) -> list[Route]:
    """The analysis feature's routes; ``kwargs``: ``services``, ``cases`` and ``analysis``."""
    return [
        (rf"/vapi/re-analyze-call/{UUID_PATTERN}", CallAnalysisHandler, kwargs),
        (rf"/cases/{UUID_PATTERN}/analyze-with-agent", AgentAnalysisHandler, kwargs),
        (rf"/cases/{UUID_PATTERN}/analyze-documents-form7801", Form7801AnalysisHandler, kwargs),
    ]


def make_app(services: AppServices) -> tornado.web.Application:
    """The Application for ``services``; unknown routes answer a JSON 404.

    Every finished request is logged once and counted under its route pattern (this replaces
    Tornado's ``tornado.access`` line).
    """

    def request_done(handler: tornado.web.RequestHandler) -> None:
        principal = getattr(handler, "principal", None)
        request = handler.request
        record_request(services, method=request.method or "", path=request.path, route=route_label(handler),
                       status=handler.get_status(), seconds=request.request_time(),
                       user_id=principal.user_id if principal is not None else None)

    return ApiApplication(
        services,
        routes(services),
        default_handler_class=NotFoundHandler,
        default_handler_args={"services": services},
        static_path=STATIC_DIR,
        static_handler_class=StaticHandler,
        log_function=request_done,
    )


class ApiApplication(tornado.web.Application):
    """The ``Application`` with the plain-poll fast path (``server.jobs.fast_poll``) in front of its
    route table; ``services`` first, then ``Application``'s arguments."""

    def __init__(self, services: AppServices, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fast_poll = PollFastPath(services, route_label_of(self, JobHandler))

    def start_request(self, server_conn: object, request_conn: tornado.httputil.HTTPConnection
                      ) -> tornado.httputil.HTTPMessageDelegate:
        return self.fast_poll.delegate(request_conn, super().start_request(server_conn, request_conn))


def listen(services: Services, app: tornado.web.Application, sockets: list[socket.socket],
           **server_options: Any) -> tornado.httpserver.HTTPServer:
    """Serve ``app`` on bound ``sockets`` with a new ``HTTPServer`` (``server_options``: its keyword
    arguments, e.g. ``xheaders=True``) and register it in ``services`` so parked long-polls can
    hand their connections back to it. Returns the server (stop it with ``stop()``).
    """
    server = tornado.httpserver.HTTPServer(app, **server_options)
    server.add_sockets(sockets)
    services.http_server = server
    return server


async def startup(services: AppServices) -> None:
    """Start-up I/O before the server listens: open and migrate the case database; in dev mode,
    seed demo cases for ``dev-user`` when it is empty. In production, warn when ``/metrics`` is
    public (no ``METRICS_TOKEN``). The OpenAPI document is generated here; the job store connects (a Redis store that
    cannot be reached raises ``StoreUnavailable``)."""
    if services.settings.production and services.settings.observability.metrics_token is None:
        log.warning("/metrics is public: anyone who reaches this server can read its metrics; set METRICS_TOKEN "
                    "(>= 16 characters) to require 'Authorization: Bearer <METRICS_TOKEN>', or block /metrics "
                    "at the router")
    document_for(services.settings.push.longpoll_max_seconds)
    await services.store.start()
    cases = services.cases
    if cases is not None:
        await cases.open()
        if services.settings.dev_mode:
            await seed_demo_cases(cases)


def start_background(services: Services) -> None:
    """Start the periodic work of a running server (retention sweep, IOLoop lag) on the current IOLoop."""
    services.sweeper = Sweeper(services.store, services.settings.jobs.sweep_interval_seconds)
    services.sweeper.start()
    services.runner.start()
    services.metrics.start()


async def stop_jobs(services: AppServices, grace_seconds: float = 0.0) -> None:
    """First part of shutdown: refuse new jobs (503 + ``Retry-After``), answer every open long-poll
    and event stream now with ``Retry-After`` and refuse new ones (``server.draining``), give
    running jobs ``grace_seconds``, then interrupt the rest.
    """
    services.drain = Drain(grace_seconds)  # before the release: answers carry Retry-After
    services.runner.stop_accepting()
    services.waiters.release_all()
    if services.cases is not None:
        services.cases.extractor.stop()  # running extractions end now (their workers are killed): 503
    if services.sweeper is not None:
        services.sweeper.stop()
        services.sweeper = None
    await services.runner.shutdown(grace_seconds)
    services.waiters.release_all()  # the interrupted jobs' final states have been sent


async def close_services(services: Services, budget_seconds: float | None = None) -> None:
    """Last part of shutdown: run the registered closers (newest first) within ``budget_seconds``
    together (default ``CLOSER_TIMEOUT_SECONDS``); one that fails or overruns is logged and skipped.
    """
    services.metrics.close()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (CLOSER_TIMEOUT_SECONDS if budget_seconds is None else budget_seconds)
    for closer in reversed(services.closers):
        name = getattr(closer, "__qualname__", repr(closer))
        try:
            await asyncio.wait_for(closer(), max(0.05, deadline - loop.time()))
        except asyncio.TimeoutError:
            log.warning("shutdown closer timed out closer=%s", name)
        except Exception:
            log.exception("shutdown closer failed closer=%s", name)
    services.closers.clear()


async def shutdown(services: AppServices, grace_seconds: float = 0.0) -> None:
    """Stop the jobs (see ``stop_jobs``), then close what modules registered in ``services.closers``."""
    await stop_jobs(services, grace_seconds)
    await close_services(services)
