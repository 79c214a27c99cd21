"""Ops tests: the app plus a test-only ``POST /test/jobs`` that submits a job through real HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import pydantic
import pytest

from server.app import make_app
from server.jobs.runner import JobContext
from server.services import Services
from server.web import ApiHandler
from tests.fakes.fake_provider import FakeProviderServer

SECRET_TEXT = "Transcript: patient Yael Mizrahi, ID 012345678, back injury at the Haifa port"


class SubmitBody(pydantic.BaseModel):
    """What the test endpoint accepts."""

    model_config = pydantic.ConfigDict(extra="forbid")
    job_type: str = "quick"
    params: dict[str, Any] = {}


class SubmitHandler(ApiHandler):
    """``POST /test/jobs``: a thin job-creating endpoint like the analysis ones (202 + Location)."""

    async def post(self) -> None:
        body = self.json_body(SubmitBody)
        job = await self.services.runner.submit(body.job_type, self.principal.user_id,
                                                {"user_id": self.principal.user_id}, body.params)
        self.set_header("Location", f"/jobs/{job.job_id}")
        self.write_json({"status": "accepted", "job_id": job.job_id, "poll_url": f"/jobs/{job.job_id}"}, 202)


@pytest.fixture
def release_held() -> asyncio.Event:
    """Set it to let every ``held`` job finish."""
    return asyncio.Event()


@pytest.fixture
def services(services: Services, release_held: asyncio.Event) -> Services:
    """Services with test job types."""
    release = release_held

    async def quick(ctx: JobContext) -> dict[str, Any]:
        await asyncio.sleep(ctx.params.get("seconds", 0.01))
        return {"ok": True}

    async def held(ctx: JobContext) -> dict[str, Any]:
        await ctx.progress(10, "Holding")
        await release.wait()
        return {"released": True}

    async def secretive(ctx: JobContext) -> dict[str, Any]:
        for percent in (30, 60, 80):
            await ctx.progress(percent, "Analyzing")
            await asyncio.sleep(0)
        if ctx.params.get("crash"):
            raise ValueError(f"could not parse {ctx.params['text']}")
        return {"summary": ctx.params["text"]}

    services.runner.register("quick", quick)
    services.runner.register("held", held, concurrency=100)
    services.runner.register("secretive", secretive)
    return services


@pytest.fixture
def app(services: Services):
    app = make_app(services)
    app.add_handlers(r".*", [(r"/test/jobs", SubmitHandler, {"services": services})])
    return app


@pytest.fixture
def slow_llm():
    """The fake OpenAI server answering each request after 60 s (or at once when stopped), so an
    analysis is still running when a test signals the server (``tests/ops/live_server.py``)."""
    server = FakeProviderServer(delay=60).start()
    yield server
    server.stop()
