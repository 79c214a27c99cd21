"""CORS: same-origin only by default; listed origins get preflight answers and headers, never credentials."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from server.config import HttpSettings, Settings
from server.web import API_REQUEST_HEADERS

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


def readme_request_headers() -> set[str]:
    """The request headers README.md names: its "Request headers" table and every curl ``-H 'Name: ...'``."""
    text = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = text.split("### Request headers", 1)[1].split("\n#", 1)[0]
    table = set(re.findall(r"^\| `([A-Za-z-]+)` \|", section, re.MULTILINE))
    curl = set(re.findall(r"""-H ['"]([A-Za-z-]+):""", text))
    assert table and curl <= table, curl - table  # the table names every header the examples send
    return table


@pytest.mark.gen_test(timeout=10)
async def test_preflight_allows_every_request_header_the_readme_names(api):
    documented = readme_request_headers()
    assert documented == set(API_REQUEST_HEADERS)  # one list, documented both ways
    reply = await api.request("OPTIONS", "/test/jobs", user=None,
                              headers={**PREFLIGHT, "Access-Control-Request-Headers": ", ".join(sorted(documented))})
    allowed = {name.strip().lower() for name in reply.headers["Access-Control-Allow-Headers"].split(",")}
    assert reply.status == 204 and {name.lower() for name in documented} <= allowed
    assert "idempotency-key" in allowed  # the one a browser could not send (issue 16, item 4)
