"""The OpenAPI document: valid OpenAPI 3.1, complete against the route table, served public and
cacheable; ``/docs`` serves Swagger UI from the package under the strict CSP; the pre-encoded job
JSON of the poll hot path matches its model."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import jsonschema
import pytest
import tornado.web
from openapi_spec_validator import validate

from server.api_spec import PATHS
from server.app import routes
from server.jobs.models import Job, JobStatus, encode_result, job_json
from server.jobs.views import JobList, JobView
from server.openapi import build_document, load_examples
from server.page import CONTENT_SECURITY_POLICY
from tests.conftest import TEST_SECRET

_GROUP = re.compile(r"\((?:[^()]|\([^()]*\))*\)")
_METHODS = ("get", "post", "put", "patch", "delete")


def undocumented(route_table: list, document: dict) -> list[str]:
    """``"METHOD /path"`` of every API handler method in ``route_table`` that ``document`` lacks.

    Route groups and ``{name}`` templates both become ``{}``; static-file routes (Swagger UI's own
    files) are assets, not API, and are skipped.
    """
    documented = {(re.sub(r"\{[^}]+\}", "{}", path), method)
                  for path, ops in document["paths"].items() for method in ops}
    missing = []
    for pattern, handler, _ in route_table:
        if issubclass(handler, tornado.web.StaticFileHandler):
            continue
        path = _GROUP.sub("{}", pattern).rstrip("$").replace("\\", "")
        for method in handler.allowed_methods():
            if method != "HEAD" and (path, method.lower()) not in documented:
                missing.append(f"{method} {path}")
    return missing


def test_openapi_document_validates_as_openapi_31():
    document = build_document()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_openapi_route_walk_finds_every_route(services):
    assert undocumented(routes(services), build_document()) == []


def test_openapi_route_walk_fails_when_a_route_is_missing(services):
    document = build_document()
    del document["paths"]["/cases/{case_id}/call-details"]
    document["paths"]["/cases/{case_id}"].pop("delete")
    assert undocumented(routes(services), document) == ["DELETE /cases/{}", "PUT /cases/{}/call-details"]


def test_openapi_every_operation_declares_its_errors_and_security():
    document = build_document()
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"]}
    for path, ops in PATHS.items():
        for method, op in ops.items():
            responses = document["paths"][path][method]["responses"]
            if not op.public:
                assert "401" in responses, f"{method} {path}"
                assert "security" not in document["paths"][path][method]
            else:
                assert document["paths"][path][method]["security"] == []
            for status, answer in responses.items():
                if int(status) >= 400 and op.answers[int(status)].model is None:  # /readyz 503 has its own
                    assert answer["content"]["application/json"]["schema"]["allOf"][1]["properties"]["code"]["enum"]


def test_openapi_headers_and_event_stream_are_described():
    document = build_document()
    job = document["paths"]["/jobs/{job_id}"]["get"]
    assert {"ETag", "Retry-After", "Preference-Applied"} <= set(job["responses"]["200"]["headers"])
    assert {param["name"] for param in job["parameters"]} >= {"If-None-Match", "Prefer", "wait"}
    events = document["paths"]["/jobs/{job_id}/events"]["get"]
    assert "text/event-stream" in events["responses"]["200"]["content"]
    assert "Last-Event-ID" in {param["name"] for param in events["parameters"]}
    start = document["paths"]["/vapi/re-analyze-call/{case_id}"]["post"]
    assert "Idempotency-Key" in {param["name"] for param in start["parameters"]}
    assert {"Location", "Retry-After"} <= set(start["responses"]["202"]["headers"])
    assert set(document["components"]["headers"]) >= {"ETag", "Location", "Retry-After", "Preference-Applied"}


@pytest.mark.gen_test(timeout=20)
async def test_openapi_json_is_public_cacheable_and_secret_free(api):
    reply = await api.get("/openapi.json", user=None)
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("application/json")
    assert reply.headers["Cache-Control"].startswith("public, max-age=")
    assert reply.json["openapi"] == "3.1.0" and TEST_SECRET not in reply.body.decode()
    again = await api.get("/openapi.json", user=None, headers={"If-None-Match": reply.headers["ETag"]})
    assert again.status == 304 and again.headers["ETag"] == reply.headers["ETag"]


@pytest.mark.gen_test(timeout=20)
async def test_docs_page_serves_swagger_ui_from_this_server_under_strict_csp(api):
    page = await api.get("/docs", user=None)
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    html = page.body.decode()
    assert "<script>" not in html and "//" not in html.replace("<!DOCTYPE html>", "")  # no inline code, no CDN
    for src in re.findall(r'(?:src|href)="([^"]+)"', html):
        asset = await api.get(src, user=None)
        assert asset.status == 200, src
        assert asset.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    bundle = await api.get("/docs/swagger-ui-bundle.js", user=None)
    assert b"SwaggerUIBundle" in bundle.body


# -- the poll hot path's pre-encoded JSON against its model ------------------------------------

NOW = datetime(2026, 11, 30, 10, 30, tzinfo=timezone.utc)


def _jobs() -> list[Job]:
    base = Job(job_id="0193a1b2-0000-7000-8000-000000000001", job_type="call_analysis", owner_id="alice",
               metadata={"case_id": "c1", "endpoint": "re-analyze-call", "note": "שלום \"quoted\""},
               created_at=NOW, updated_at=NOW, params={"secret": "never shown"}, queue_position=3)
    running = replace(base, status=JobStatus.RUNNING, started_at=NOW, progress=40, progress_message="Analyzing",
                      queue_position=None, version=3)
    done = replace(running, status=JobStatus.COMPLETED, progress=100, completed_at=NOW,
                   updated_at=NOW + timedelta(seconds=5), version=4,
                   result_json=encode_result({"case_id": "c1", "analysis": {"call_summary": "…"}}))
    failed = replace(running, status=JobStatus.FAILED, completed_at=NOW, version=4, error="Cancelled by the user",
                     error_code="cancelled")
    return [base, running, done, failed]


@pytest.mark.parametrize("job", _jobs(), ids=lambda job: job.status.value)
def test_job_json_of_every_status_validates_against_job_view(job):
    body = json.loads(job_json(job))
    _validate(body, "JobView")
    view = JobView.model_validate_json(job_json(job))
    assert view.status is job.status and "params" not in body and set(body) == set(JobView.model_fields)


def test_job_list_text_validates_against_job_list():
    jobs = ",".join(job_json(job) for job in _jobs())
    body = f'{{"jobs":[{jobs}],"count":4,"next_cursor":null,"cursor":"abc"}}'
    _validate(json.loads(body), "JobList")
    assert JobList.model_validate_json(body).count == 4


def _validate(instance: object, name: str) -> None:
    _validate_schema(instance, {"$ref": f"#/components/schemas/{name}"}, build_document())


def test_openapi_examples_are_real_answers_that_still_validate():
    document = build_document()
    examples = load_examples()
    assert {"GET /jobs/{job_id} 200", "GET /jobs 200", "POST /cases 201",
            "POST /vapi/re-analyze-call/{case_id} 202", "POST /cases/{case_id}/documents 201"} <= set(examples)
    for key, example in examples.items():
        method, path, status = key.split(" ")
        content = document["paths"][path][method.lower()]["responses"][status]["content"]["application/json"]
        assert content["example"] == example
        _validate_schema(example, content["schema"], document)


def _validate_schema(instance: object, schema: dict, document: dict) -> None:
    root = {**schema, "components": document["components"]}
    jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker()).validate(instance)
