"""Every answer of the poll hot path (pre-encoded job JSON: GET, parked long-poll, list, change
feed, event stream, cancel) validates against the document's ``JobView``/``JobList`` schemas."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema
import pytest

from server.jobs.errors import JobFailed
from server.jobs.runner import JobContext
from server.openapi import build_document
from server.services import Services


@pytest.fixture
def gate() -> asyncio.Event:
    return asyncio.Event()


@pytest.fixture
def services(services: Services, gate: asyncio.Event) -> Services:
    async def gated(ctx: JobContext) -> dict[str, Any]:
        await ctx.progress(30, "Waiting at the gate")
        await gate.wait()
        if ctx.params.get("fail"):
            raise JobFailed("rate_limited", "The analysis service is busy. Please try again later.")
        return {"case_id": "c1", "analysis": {"summary": "שלום"}}

    services.runner.register("gated", gated)
    return services


def _validator(name: str) -> jsonschema.Draft202012Validator:
    document = build_document()
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.gen_test(timeout=30)
async def test_every_poll_answer_validates_against_the_job_schemas(api, services, gate):
    job_view, job_list = _validator("JobView"), _validator("JobList")
    metadata = {"case_id": "c1", "user_id": "alice"}
    job = await services.runner.submit("gated", "alice", metadata, {})
    failing = await services.runner.submit("gated", "alice", metadata, {"fail": True})
    cancelled = await services.runner.submit("gated", "alice", metadata, {})
    seen = []
    first = await api.get(f"/jobs/{job.job_id}")
    seen.append(first.json)
    feed = await api.get("/jobs")
    job_list.validate(feed.json)
    parked = asyncio.ensure_future(api.get(f"/jobs/{job.job_id}?wait=10&until=finished"))
    stream = asyncio.ensure_future(api.get(f"/jobs/{job.job_id}/events"))
    await asyncio.sleep(0.2)  # usually both wait (parked, streaming) before the jobs finish; valid either way
    seen.append((await api.post(f"/jobs/{cancelled.job_id}/cancel")).json)
    gate.set()
    seen.append((await parked).json)
    events = [line[len("data: "):] for line in (await stream).body.decode().splitlines() if line.startswith("data: ")]
    seen.extend(json.loads(event) for event in events)
    seen.append((await api.get(f"/jobs/{failing.job_id}?wait=10&until=finished")).json)
    changes = await api.get(f"/jobs?since={feed.json['cursor']}")
    job_list.validate(changes.json)
    seen.extend(changes.json["jobs"])
    for body in seen:
        job_view.validate(body)
    assert {body["status"] for body in seen} >= {"running", "completed", "failed"}
    assert {body.get("error_code") for body in seen} >= {"cancelled", "rate_limited"}
