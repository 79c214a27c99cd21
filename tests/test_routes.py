"""The route table has a feature's routes only when the server has that feature (no 503 inside handlers)."""

from __future__ import annotations

import dataclasses

import pytest

from server.app import AppServices, make_app, routes
from server.jobs.handlers import JobListHandler

CASE_ID = "0190b5d2-0000-7000-8000-000000000000"


def patterns(services: AppServices) -> set[str]:
    return {pattern for pattern, *_ in routes(services)}


def job_filters(services: AppServices) -> tuple[str, ...]:
    return next(kwargs["metadata_filters"] for _, handler, kwargs in routes(services) if handler is JobListHandler)


def test_routes_follow_the_configured_features(services: AppServices):
    full = patterns(services)
    assert "/cases" in full and any("analyze-with-agent" in pattern for pattern in full)
    assert job_filters(services) == ("case_id",)

    without_analysis = dataclasses.replace(services, analysis=None)
    assert "/cases" in patterns(without_analysis)
    assert not any("analy" in pattern for pattern in patterns(without_analysis))
    assert job_filters(without_analysis) == ()

    bare = dataclasses.replace(services, cases=None, analysis=None)
    assert not any(pattern.startswith(("/cases", "/vapi")) for pattern in patterns(bare))
    assert {"/jobs", "/healthz", "/readyz"} <= patterns(bare)


@pytest.fixture
def app(services: AppServices):
    return make_app(dataclasses.replace(services, cases=None, analysis=None))


@pytest.mark.gen_test(timeout=10)
async def test_a_server_without_cases_answers_their_routes_as_unknown(api):
    for method, path in (("GET", "/cases"), ("POST", f"/vapi/re-analyze-call/{CASE_ID}")):
        reply = await api.request(method, path)
        assert (reply.status, reply.json["code"]) == (404, "no_route"), path
    assert (await api.get("/jobs")).status == 200
