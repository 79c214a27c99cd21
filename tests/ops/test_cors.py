"""CORS: same-origin only by default; listed origins get preflight answers and headers, never credentials."""

from __future__ import annotations

from dataclasses import replace

import pytest

from server.config import HttpSettings, Settings

APP = "https://app.example.org"
PREFLIGHT = {"Origin": APP, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}


@pytest.fixture
def settings(settings: Settings, request) -> Settings:
    origins = getattr(request, "param", (APP,))
    return replace(settings, http=HttpSettings(cors_origins=origins))


@pytest.mark.gen_test(timeout=10)
async def test_preflight_from_an_allowed_origin_is_204_without_a_token(api):
    reply = await api.request("OPTIONS", "/test/jobs", user=None, headers=PREFLIGHT)
    assert reply.status == 204 and reply.body == b""
    assert reply.headers["Access-Control-Allow-Origin"] == APP
    assert "Authorization" in reply.headers["Access-Control-Allow-Headers"]
    assert "POST" in reply.headers["Access-Control-Allow-Methods"]
    assert "Origin" in reply.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in reply.headers


@pytest.mark.gen_test(timeout=10)
async def test_preflight_on_a_job_route_with_an_id(api):
    reply = await api.request("OPTIONS", "/jobs/0190b5d2-0000-7000-8000-000000000000", user=None,
                              headers={**PREFLIGHT, "Access-Control-Request-Method": "GET"})
    assert reply.status == 204 and reply.headers["Access-Control-Allow-Origin"] == APP


@pytest.mark.gen_test(timeout=10)
async def test_preflight_from_another_origin_is_refused(api):
    reply = await api.request("OPTIONS", "/test/jobs", user=None, headers={**PREFLIGHT, "Origin": "https://evil.example"})
    assert reply.status == 403 and reply.json["code"] == "cors_origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in reply.headers


@pytest.mark.gen_test(timeout=10)
async def test_actual_requests_carry_the_origin_even_on_errors(api):
    ok = await api.post("/test/jobs", body={"job_type": "quick"}, headers={"Origin": APP})
    assert ok.status == 202 and ok.headers["Access-Control-Allow-Origin"] == APP
    assert "Location" in ok.headers["Access-Control-Expose-Headers"]
    assert "Origin" in ok.headers["Vary"]
    denied = await api.get("/jobs", user=None, headers={"Origin": APP})
    assert denied.status == 401 and denied.headers["Access-Control-Allow-Origin"] == APP
    other = await api.get("/jobs", headers={"Origin": "https://evil.example"})
    assert other.status == 200 and "Access-Control-Allow-Origin" not in other.headers


@pytest.mark.parametrize("settings", [()], indirect=True)
@pytest.mark.gen_test(timeout=10)
async def test_no_origins_configured_means_same_origin_only(api):
    reply = await api.request("OPTIONS", "/test/jobs", user=None, headers=PREFLIGHT)
    assert reply.status == 403
    plain = await api.get("/jobs", headers={"Origin": APP})
    assert plain.status == 200 and "Access-Control-Allow-Origin" not in plain.headers


@pytest.mark.parametrize("settings", [("*",)], indirect=True)
@pytest.mark.gen_test(timeout=10)
async def test_wildcard_origin_never_comes_with_credentials(api):
    reply = await api.request("OPTIONS", "/test/jobs", user=None, headers={**PREFLIGHT, "Origin": "https://any.example"})
    assert reply.status == 204 and reply.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in reply.headers
