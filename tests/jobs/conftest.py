"""Job types for engine tests: each is a real registered job function driven by the test."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.jobs.errors import JobFailed
from server.jobs.runner import JobContext
from server.services import Services


class Gates:
    """Named asyncio events a ``gated`` job waits on, so a test decides when a job may finish."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}
        self.committed: list[str] = []  # ids of ``committing`` jobs that passed their commit point

    def event(self, name: str) -> asyncio.Event:
        return self._events.setdefault(name, asyncio.Event())

    def open(self, name: str) -> None:
        self.event(name).set()


@pytest.fixture
def gates() -> Gates:
    return Gates()


@pytest.fixture
def services(services: Services, gates: Gates, io_loop) -> Services:
    """The app's services with test job types registered."""

    async def echo(ctx: JobContext) -> dict[str, Any]:
        await ctx.progress(50, "Halfway")
        return {"echo": ctx.params.get("value"), "case_id": ctx.metadata.get("case_id")}

    async def gated(ctx: JobContext) -> dict[str, Any]:
        await ctx.progress(10, "Waiting at the gate")
        await gates.event(ctx.params["gate"]).wait()
        return {"gate": ctx.params["gate"]}

    async def committing(ctx: JobContext) -> dict[str, Any]:
        await gates.event(ctx.params["gate"]).wait()
        await ctx.commit()
        gates.committed.append(ctx.job_id)  # the side effect
        await gates.event(ctx.params["gate"] + "-saved").wait()
        return {"saved": True}

    async def failing(ctx: JobContext) -> dict[str, Any]:
        raise JobFailed("rate_limited", "The analysis service is busy. Please try again later.")

    async def crashing(ctx: JobContext) -> dict[str, Any]:
        raise RuntimeError("secret-token-123 and patient Moshe Cohen")  # must never reach a client

    async def sleeping(ctx: JobContext) -> dict[str, Any]:
        await asyncio.sleep(ctx.params.get("seconds", 60))
        return {"slept": True}

    if services.store.shared:
        io_loop.run_sync(services.store.start)
        mirror = _Mirror()
        services.store.subscribe_owner(None, lambda job: mirror.__setitem__(job.job_id, job))
        services.store._jobs = mirror  # type: ignore[attr-defined]
    runner = services.runner
    runner.register("echo", echo)
    runner.register("gated", gated, concurrency=1)
    runner.register("committing", committing)
    runner.register("failing", failing)
    runner.register("crashing", crashing)
    runner.register("sleeping", sleeping)
    return services


@pytest.fixture(scope="session")
def redis_server():
    """One throwaway redis-server for the test session (each test uses its own key prefix)."""
    from tests.jobs.redis_server import RedisServer, require_redis_server

    server = RedisServer(require_redis_server()).start()
    yield server
    server.cleanup()


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test uses."""
    import uuid

    return f"test-{uuid.uuid4().hex[:12]}:"


@pytest.fixture(params=["memory", "redis"])
def store_kind(request) -> str:
    """Every app-level job test runs on both stores."""
    return str(request.param)


@pytest.fixture
def settings(settings, store_kind, request):
    """The app's settings, on the parametrized store (a fresh key prefix per test on Redis)."""
    if store_kind == "memory":
        return settings
    from dataclasses import replace

    from server.config import StoreSettings

    server = request.getfixturevalue("redis_server")
    return replace(settings, store=StoreSettings(url=server.url, prefix=request.getfixturevalue("redis_prefix")))


class _Mirror(dict):
    """Test view of a Redis store's jobs by id, fed by the store's own change notifications, so
    tests written against ``store._jobs`` read the latest state this process has heard of."""


def pytest_configure(config):
    config.addinivalue_line("markers", "memory_only(reason): run this job test on the memory store only")


def pytest_collection_modifyitems(config, items):
    """Drop the Redis variant of tests marked ``memory_only`` (their reason says why)."""
    dropped = [item for item in items if item.get_closest_marker("memory_only") and "[redis" in item.nodeid]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]
