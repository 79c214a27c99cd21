"""Builds the ``Services`` and the Tornado ``Application``; the route table lives here."""

from __future__ import annotations

import os
from typing import Any

import tornado.web

from server.analysis.handlers import AgentAnalysisHandler, CallAnalysisHandler, Form7801AnalysisHandler
from server.analysis.jobs import AnalysisJobs
from server.analysis.providers.registry import ProviderSet
from server.analysis.service import AnalysisService
from server.auth import TokenVerifier
from server.cases.demo import seed_demo_cases
from server.cases.handlers import CallDetailsHandler, CaseHandler, CaseListHandler, DocumentHandler
from server.cases.service import CaseServices
from server.cases.uploads import DocumentListHandler
from server.config import Settings
from server.health import HealthHandler, ReadyHandler
from server.jobs.handlers import JobCancelHandler, JobEventsHandler, JobHandler, JobListHandler
from server.jobs.retention import Sweeper
from server.jobs.runner import JobRunner
from server.jobs.store import MemoryJobStore
from server.jobs.waiters import Waiters
from server.page import DevTokensHandler, PageHandler, StaticHandler
from server.services import Services
from server.web import NotFoundHandler

UUID_PATTERN = r"([^/]+)"  # validated by the handler so a bad id gets a clear 400, not a bare 404
STATIC_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static")


def build_services(settings: Settings) -> Services:
    """Create the store, runner, case and analysis services from ``settings`` (no I/O, no tasks started).

    The three analysis job types are registered here, served by the providers ``settings.llm``
    chooses (one SDK client per vendor for the life of the server; closed by ``shutdown``).
    """
    jobs = settings.jobs
    store = MemoryJobStore(ttl_seconds=jobs.ttl_seconds, max_jobs=jobs.max_stored_jobs)
    runner = JobRunner(store, concurrency=jobs.concurrency, concurrency_by_type=jobs.concurrency_by_type,
                       timeout_seconds=jobs.timeout_seconds, max_active_per_user=jobs.max_active_per_user)
    waiters = Waiters(store, max_per_user=settings.push.max_per_user, max_total=settings.push.max_total)
    cases = CaseServices.from_settings(settings.cases)
    providers = ProviderSet.build(settings.llm)
    analysis = AnalysisService(runner, store, providers=providers)
    AnalysisJobs(cases.repository, analysis, settings.cases.analysis_max_input_chars).register(runner)
    services = Services(settings=settings, store=store, runner=runner, waiters=waiters,
                        tokens=TokenVerifier(settings.auth), cases=cases, analysis=analysis)
    services.extras["describe_providers"] = providers.describe
    services.extras["providers"] = providers
    return services


def routes(services: Services) -> list[tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]]:
    """The route table: (pattern, handler class, initialize kwargs)."""
    api = {"services": services}
    return [
        (r"/healthz", HealthHandler, api),
        (r"/readyz", ReadyHandler, api),
        (r"/jobs", JobListHandler, api),
        (rf"/jobs/{UUID_PATTERN}", JobHandler, api),
        (rf"/jobs/{UUID_PATTERN}/cancel", JobCancelHandler, api),
        (rf"/jobs/{UUID_PATTERN}/events", JobEventsHandler, api),
        (r"/cases", CaseListHandler, api),
        (rf"/cases/{UUID_PATTERN}", CaseHandler, api),
        (rf"/cases/{UUID_PATTERN}/call-details", CallDetailsHandler, api),
        (rf"/cases/{UUID_PATTERN}/documents", DocumentListHandler, api),
        (rf"/cases/{UUID_PATTERN}/documents/{UUID_PATTERN}", DocumentHandler, api),
        (rf"/vapi/re-analyze-call/{UUID_PATTERN}", CallAnalysisHandler, api),
        (rf"/cases/{UUID_PATTERN}/analyze-with-agent", AgentAnalysisHandler, api),
        (rf"/cases/{UUID_PATTERN}/analyze-documents-form7801", Form7801AnalysisHandler, api),
        (r"/", PageHandler, api),
        (r"/dev/tokens", DevTokensHandler, api),
    ]


def make_app(services: Services) -> tornado.web.Application:
    """The Application for ``services``; unknown routes answer a JSON 404."""
    return tornado.web.Application(
        routes(services),
        default_handler_class=NotFoundHandler,
        default_handler_args={"services": services},
        static_path=STATIC_DIR,
        static_handler_class=StaticHandler,
    )


async def startup(services: Services) -> None:
    """Start-up I/O before the server listens: open and migrate the case database; in dev mode,
    seed demo cases for ``dev-user`` when it is empty."""
    if services.cases is not None:
        await services.cases.open()
        if services.settings.dev_mode:
            await seed_demo_cases(services.cases)


def start_background(services: Services) -> None:
    """Start the periodic work of a running server (the retention sweep) on the current IOLoop."""
    sweeper = Sweeper(services.store, services.settings.jobs.sweep_interval_seconds)
    sweeper.start()
    services.extras["sweeper"] = sweeper


async def shutdown(services: Services, grace_seconds: float = 0.0) -> None:
    """Stop background work and the runner; every unfinished job ends in a terminal state.

    Open long-polls and event streams answer at once with the current state.
    """
    services.waiters.release_all()
    sweeper = services.extras.pop("sweeper", None)
    if sweeper is not None:
        sweeper.stop()
    await services.runner.shutdown(grace_seconds)
    services.waiters.release_all()  # the interrupted jobs' final states have been sent
    if services.cases is not None:
        await services.cases.aclose()  # after the runner: finishing jobs may still write back
    providers = services.extras.pop("providers", None)
    if providers is not None:
        await providers.aclose()
