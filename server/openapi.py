"""The OpenAPI 3.1 document of this server, built once at start-up from the response and request
models the handlers use (``server/*/views.py``, ``CaseCreate``, ``CallDetails``).

What pydantic cannot see (paths, parameters, status codes, error ``code`` values, headers) is
declared here in ``PATHS``, one entry per route of ``server.app.routes``; a test walks the route
table and fails when a route or method is missing. Every error answer has the body
``{"detail", "code"}`` (``server.web.write_error``); the ``code`` values each status can carry are
listed as an ``enum``, so a client can switch on them and Schemathesis checks them.

Examples come from real answers: ``openapi_examples.json`` is written by
``python -m tests.openapi.capture`` from a running server, and a test checks each still
validates against its schema.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import pydantic
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from server.analysis import schemas as analysis_schemas
from server.analysis.views import AnalysisAccepted
from server.cases.models import CallDetails, CaseCreate, DocumentType
from server.cases.views import CaseList, CaseView, DocumentList, DocumentUploaded, DocumentWithText
from server.jobs.views import JobList, JobView
from server.views import DevTokens, ErrorBody, HealthView, ReadyView

EXAMPLES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "openapi_examples.json")
_REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Answer:
    """One documented response.

    Args:
        description: what it means.
        model: the body's model (JSON); None with ``codes`` means the error body; None without
            codes and ``media`` means no body.
        codes: the error ``code`` values this status carries (error answers only).
        headers: names of response headers (keys of ``HEADERS``).
        media: a non-JSON body's media type, with ``text_schema``.
    """

    description: str
    model: type[pydantic.BaseModel] | None = None
    codes: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    media: str | None = None
    text_schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class Operation:
    """One method of one path: ``summary``, ``answers`` by status, its parameters and body.

    ``params``: names in ``PARAMETERS`` (query and header); path parameters come from the path
    template. ``body``: the JSON request model, or ``multipart`` for the upload form.
    ``public``: no bearer token needed.
    """

    summary: str
    tag: str
    answers: dict[int, Answer]
    description: str = ""
    params: tuple[str, ...] = ()
    body: type[pydantic.BaseModel] | None = None
    multipart: bool = False
    public: bool = False
    links: dict[int, dict[str, Any]] = field(default_factory=dict)


# -- reusable parts ----------------------------------------------------------------------------

HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {"description": "Strong validator of this job version, `\"<job_id>.<version>\"`; send it back in "
                            "`If-None-Match`.", "schema": {"type": "string"}},
    "Location": {"description": "URL of the created or started resource.", "schema": {"type": "string"}},
    "Retry-After": {"description": "Seconds to wait before polling or retrying.",
                    "schema": {"type": "string", "pattern": "^[0-9]+$"}},
    "Preference-Applied": {"description": "`wait=N`: the `Prefer: wait` honoured, in seconds, after capping "
                                          "(RFC 7240).", "schema": {"type": "string"}},
    "Idempotent-Replayed": {"description": "`true` when this is the stored answer to an earlier request with "
                                           "the same `Idempotency-Key`.", "schema": {"type": "string"}},
    "WWW-Authenticate": {"description": "`Bearer error=\"invalid_token\"` (RFC 6750).", "schema": {"type": "string"}},
    "Cache-Control": {"description": "Caching policy.", "schema": {"type": "string"}},
}

PARAMETERS: dict[str, dict[str, Any]] = {
    "wait": {"in": "query", "description": "Long-poll: answer at the first change or after this many seconds "
                                           "(at most this server's LONGPOLL_MAX_SECONDS).",
             "schema": {"type": "number", "exclusiveMinimum": 0}},
    "since_version": {"name": "since", "in": "query",
                      "description": "Job version the client has; a long-poll answers once the job is newer.",
                      "schema": {"type": "integer", "minimum": 0}},
    "until": {"in": "query", "description": "`finished`: a long-poll answers only at a terminal status.",
              "schema": {"type": "string", "enum": ["finished"]}},
    "status": {"in": "query", "description": "Only jobs with this status.",
               "schema": {"type": "string", "enum": ["pending", "running", "completed", "failed"]}},
    "job_type": {"in": "query", "description": "Only jobs of this type.",
                 "schema": {"type": "string",
                            "enum": ["call_analysis", "document_analysis_agent", "document_analysis_form7801"]}},
    "case_id_filter": {"name": "case_id", "in": "query", "description": "Only jobs of this case.",
                       "schema": {"type": "string"}},
    "limit": {"in": "query", "description": "Page size.",
              "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
    "cursor": {"in": "query", "description": "`next_cursor` of the previous page.", "schema": {"type": "string"}},
    "since_cursor": {"name": "since", "in": "query",
                     "description": "Change feed: a `cursor` from an earlier answer; returns the jobs changed "
                                    "after it, oldest change first (410 when too old: list again).",
                     "schema": {"type": "string"}},
    "Prefer": {"in": "header", "description": "`wait=N`: long-poll preference (RFC 7240 §4.3); capped, ignored "
                                              "when unusable. `?wait=` wins.",
               "schema": {"type": "string"}, "example": "wait=20"},
    "If-None-Match": {"in": "header", "description": "ETag(s) the client has: 304 while the job is unchanged; "
                                                     "with `wait`, the long-poll baseline.",
                      "schema": {"type": "string"}},
    "Idempotency-Key": {"in": "header", "description": "1-255 printable ASCII characters; a retry with the same "
                                                       "key gets the first 202 answer for 24 hours.",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255}},
    "Last-Event-ID": {"in": "header", "description": "The `id:` (job version) of the last event received; "
                                                     "the stream resumes after it.",
                      "schema": {"type": "string", "pattern": "^[0-9]+$"}},
}

AUTH_CODES = ("invalid_token",)
JSON_BODY_400 = ("malformed_json", "invalid_body")
CASE_503 = ("cases_unavailable", "store_unavailable", "store_closed")
WAIT_CODES = ("too_many_waits",)

_JOB_HEADERS = ("ETag", "Retry-After")


def _error(description: str, *codes: str, headers: tuple[str, ...] = ()) -> Answer:
    return Answer(description, codes=codes, headers=headers)


def _unauthorized() -> Answer:
    return _error("Missing, malformed or expired bearer token.", *AUTH_CODES, headers=("WWW-Authenticate",))


def _job_404() -> Answer:
    return _error("Unknown job, another user's job (same answer), expired (`expired`, to its owner) or lost in a "
                  "restart (`server_restarted`).", "not_found", "expired", "server_restarted")


def _case_answers(*bad_request: str) -> dict[int, Answer]:
    return {
        400: _error("Bad id or input.", "invalid_case_id", *bad_request),
        401: _unauthorized(),
        404: _error("Unknown case, or another user's (same answer).", "not_found"),
        503: _error("The case store cannot answer now.", *CASE_503, headers=("Retry-After",)),
    }


def _json_body_answers() -> dict[int, Answer]:
    return {413: _error("Body over MAX_JSON_BODY_BYTES.", "body_too_large"),
            415: _error("Body not sent as application/json.", "unsupported_content_type")}


_JOB_FROM_BODY = {"job_id": "$response.body#/job_id"}
_CASE_FROM_BODY = {"case_id": "$response.body#/case_id"}
_ANALYSIS_LINKS = {202: {"GetJob": {"operationId": "getJob", "parameters": _JOB_FROM_BODY},
                         "StreamJob": {"operationId": "streamJob", "parameters": _JOB_FROM_BODY},
                         "CancelJob": {"operationId": "cancelJob", "parameters": _JOB_FROM_BODY}}}


def _analysis(summary: str, needs: str, input_codes: tuple[str, ...]) -> Operation:
    answers = {
        202: Answer("Job started (or the one already pending or running for this case and analysis). Poll "
                    "`poll_url`.", AnalysisAccepted, headers=("Location", "Retry-After", "Idempotent-Replayed")),
        **_case_answers(*input_codes, "invalid_idempotency_key"),
        422: _error("The Idempotency-Key was used for a different request.", "idempotency_key_reused"),
        429: _error("Too many active jobs for this user.", "too_many_active_jobs", headers=("Retry-After",)),
    }
    answers[503] = _error("The server is shutting down, the job store is full, or the case store cannot "
                          "answer.", "shutting_down", "store_full", "analysis_unavailable", *CASE_503,
                          headers=("Retry-After",))
    return Operation(summary, "analyses", answers, description=needs, params=("Idempotency-Key",),
                     links=_ANALYSIS_LINKS)


_SSE_EVENT = {
    "type": "object", "required": ["event", "data", "id"],
    "description": "One event per job change (`id: <version>`, `event: job`, `data: <Job JSON>`); `: keep-alive` "
                   "comments between; the stream ends after the terminal event.",
    "properties": {
        "event": {"const": "job"},
        "id": {"type": "string", "pattern": "^[0-9]+$", "description": "The job version; resume with Last-Event-ID."},
        "data": {"type": "string", "contentMediaType": "application/json",
                 "contentSchema": {"$ref": "#/components/schemas/JobView"}},
    },
}
_TEXT = {"type": "string"}

PATHS: dict[str, dict[str, Operation]] = {
    "/healthz": {"get": Operation("Process alive", "ops", {200: Answer("Alive.", HealthView)}, public=True)},
    "/readyz": {"get": Operation("Able to serve", "ops", {
        200: Answer("Ready.", ReadyView), 503: Answer("Not ready (a check fails, or shutting down).", ReadyView)},
        public=True)},
    "/metrics": {"get": Operation("Prometheus metrics", "ops", {
        200: Answer("Prometheus text format.", media="text/plain", text_schema=_TEXT),
        401: _error("METRICS_TOKEN is set and the request does not carry it.", "invalid_token")},
        description="Public unless METRICS_TOKEN is set; then it needs `Authorization: Bearer <METRICS_TOKEN>` "
                    "(user tokens do not open it).", public=True)},
    "/jobs": {"get": Operation("List jobs, or their changes since a cursor", "jobs", {
        200: Answer("The caller's jobs (admins: all), newest first; with `since`, the changes after it.", JobList,
                    headers=("Preference-Applied",)),
        400: _error("Bad query value.", "invalid_status", "invalid_job_type", "invalid_limit", "invalid_cursor",
                    "invalid_since", "invalid_wait"),
        401: _unauthorized(),
        410: _error("The `since` cursor is older than the kept change log: list again.", "cursor_expired"),
        429: _error("Too many open long-polls for this user.", *WAIT_CODES, headers=("Retry-After",)),
        503: _error("Too many open long-polls on this server.", *WAIT_CODES, headers=("Retry-After",)),
    }, params=("status", "job_type", "case_id_filter", "limit", "cursor", "since_cursor", "wait", "Prefer"))},
    "/jobs/{job_id}": {"get": Operation("Get a job (poll, conditional GET, long-poll)", "jobs", {
        200: Answer("The job. Not finished: `Retry-After` is the polling interval.", JobView,
                    headers=(*_JOB_HEADERS, "Preference-Applied")),
        304: Answer("Unchanged since the `If-None-Match` ETag (also a long-poll's timeout with that baseline).",
                    headers=("ETag",)),
        400: _error("Bad id or query value.", "invalid_job_id", "invalid_wait", "invalid_since", "invalid_until"),
        401: _unauthorized(),
        404: _job_404(),
        429: _error("Too many open long-polls for this user.", *WAIT_CODES, headers=("Retry-After",)),
        503: _error("Too many open long-polls on this server.", *WAIT_CODES, headers=("Retry-After",)),
    }, links={200: {"CancelJob": {"operationId": "cancelJob", "parameters": _JOB_FROM_BODY}}},
        description="`wait` (or `Prefer: wait=N`) long-polls: the answer comes when the job differs from the "
                   "baseline (`If-None-Match` version, else `since`, else the current version), or at the deadline.",
        params=("wait", "since_version", "until", "If-None-Match", "Prefer"))},
    "/jobs/{job_id}/cancel": {"post": Operation("Cancel a job", "jobs", {
        200: Answer("The job, now failed with `error_code` `cancelled`.", JobView, headers=_JOB_HEADERS),
        400: _error("Bad id.", "invalid_job_id"),
        401: _unauthorized(),
        404: _job_404(),
        409: _error("The job already finished.", "already_finished"),
    }, description="Owner or admin. No body.")},
    "/jobs/{job_id}/events": {"get": Operation("Stream a job's changes (Server-Sent Events)", "jobs", {
        200: Answer("One `event: job` per change; `id:` is the job version.", media="text/event-stream",
                    text_schema=_SSE_EVENT),
        400: _error("Bad id or Last-Event-ID.", "invalid_job_id", "invalid_since"),
        401: _unauthorized(),
        404: _job_404(),
        429: _error("Too many open streams for this user.", *WAIT_CODES, headers=("Retry-After",)),
        503: _error("Too many open streams on this server.", *WAIT_CODES, headers=("Retry-After",)),
    }, params=("Last-Event-ID",))},
    "/cases": {
        "get": Operation("List cases", "cases", {
            200: Answer("The caller's cases (admins: all), newest first.", CaseList),
            400: _error("Bad query value.", "invalid_limit", "invalid_cursor"),
            401: _unauthorized(),
            503: _error("The case store cannot answer now.", *CASE_503, headers=("Retry-After",)),
        }, params=("limit", "cursor")),
        "post": Operation("Create a case", "cases", {
            201: Answer("Created.", CaseView, headers=("Location",)),
            400: _error("Malformed JSON or an invalid field.", *JSON_BODY_400),
            401: _unauthorized(),
            **_json_body_answers(),
            503: _error("The case store cannot answer now.", *CASE_503, headers=("Retry-After",)),
        }, body=CaseCreate, links={201: {
            "GetCase": {"operationId": "getCase", "parameters": _CASE_FROM_BODY},
            "PutCallDetails": {"operationId": "putCallDetails", "parameters": _CASE_FROM_BODY},
            "UploadDocument": {"operationId": "uploadDocument", "parameters": _CASE_FROM_BODY},
            "AnalyzeCall": {"operationId": "analyzeCall", "parameters": _CASE_FROM_BODY},
            "AnalyzeWithAgent": {"operationId": "analyzeWithAgent", "parameters": _CASE_FROM_BODY},
            "AnalyzeForm7801": {"operationId": "analyzeForm7801", "parameters": _CASE_FROM_BODY},
        }}),
    },
    "/cases/{case_id}": {
        "get": Operation("Get a case", "cases", {200: Answer("The case.", CaseView), **_case_answers()}),
        "delete": Operation("Delete a case and its documents", "cases",
                            {204: Answer("Deleted."), **_case_answers()}),
    },
    "/cases/{case_id}/call-details": {"put": Operation("Replace the call transcript and messages", "cases", {
        200: Answer("The updated case.", CaseView), **_case_answers(*JSON_BODY_400), **_json_body_answers(),
    }, body=CallDetails, links={200: {
        "AnalyzeCall": {"operationId": "analyzeCall", "parameters": _CASE_FROM_BODY},
        "AnalyzeForm7801": {"operationId": "analyzeForm7801", "parameters": _CASE_FROM_BODY},
    }})},
    "/cases/{case_id}/documents": {
        "get": Operation("List a case's documents", "documents",
                         {200: Answer("The documents (no text).", DocumentList), **_case_answers()}),
        "post": Operation("Upload a document (PDF or DOCX)", "documents", {
            201: Answer("Stored, with its extracted text's summary and warnings.", DocumentUploaded,
                        headers=("Location",)),
            **_case_answers("malformed_multipart", "missing_file", "invalid_document_type", "unknown_field"),
            413: _error("File over MAX_UPLOAD_BYTES.", "file_too_large"),
            415: _error("Not multipart/form-data, or the file is not a PDF, DOCX or UTF-8 text.",
                        "unsupported_content_type", "unsupported_file_type"),
            422: _error("The file cannot be read.", "empty_file", "corrupt_file", "unsupported_file_type",
                        "encrypted_file", "truncated_file", "docx_too_large"),
        }, multipart=True, links={201: {
            "GetDocument": {"operationId": "getDocument",
                            "parameters": {**_CASE_FROM_BODY, "document_id": "$response.body#/document_id"}},
            "AnalyzeWithAgent": {"operationId": "analyzeWithAgent", "parameters": _CASE_FROM_BODY},
            "AnalyzeForm7801": {"operationId": "analyzeForm7801", "parameters": _CASE_FROM_BODY},
        }}),
    },
    "/cases/{case_id}/documents/{document_id}": {
        "get": Operation("Get a document with its text", "documents", {
            200: Answer("The document.", DocumentWithText), **_case_answers("invalid_document_id")}),
        "delete": Operation("Delete a document", "documents",
                            {204: Answer("Deleted."), **_case_answers("invalid_document_id")}),
    },
    "/vapi/re-analyze-call/{case_id}": {"post": _analysis(
        "Start a call analysis", "Needs the case's call transcript.", ("no_transcript",))},
    "/cases/{case_id}/analyze-with-agent": {"post": _analysis(
        "Start an agent document analysis", "Needs a document with readable text.", ("no_documents",))},
    "/cases/{case_id}/analyze-documents-form7801": {"post": _analysis(
        "Start a Form 7801 analysis", "Needs a transcript or a document with readable text.", ("no_input",))},
    "/": {"get": Operation("The browser page", "page", {
        200: Answer("HTML page.", media="text/html", text_schema=_TEXT)}, public=True)},
    "/dev/tokens": {"get": Operation("Dev tokens for the page's sign-in", "page", {
        200: Answer("One token per dev user.", DevTokens),
        404: _error("Not in dev mode, or not from this machine.", "no_route"),
    }, description="Dev mode with the ephemeral secret, loopback clients only.", public=True)},
    "/openapi.json": {"get": Operation("This document", "page", {
        200: Answer("The OpenAPI 3.1 document.", headers=("ETag", "Cache-Control"), media="application/json",
                    text_schema={"type": "object"}),
        304: Answer("Unchanged since the `If-None-Match` ETag.", headers=("ETag",)),
    }, params=("If-None-Match",), public=True)},
    "/docs": {"get": Operation("Interactive API reference (Swagger UI)", "page", {
        200: Answer("HTML page.", media="text/html", text_schema=_TEXT)}, public=True)},
}

OPERATION_IDS = {
    ("/jobs", "get"): "listJobs", ("/jobs/{job_id}", "get"): "getJob",
    ("/jobs/{job_id}/cancel", "post"): "cancelJob", ("/jobs/{job_id}/events", "get"): "streamJob",
    ("/cases", "get"): "listCases", ("/cases", "post"): "createCase", ("/cases/{case_id}", "get"): "getCase",
    ("/cases/{case_id}", "delete"): "deleteCase", ("/cases/{case_id}/call-details", "put"): "putCallDetails",
    ("/cases/{case_id}/documents", "get"): "listDocuments", ("/cases/{case_id}/documents", "post"): "uploadDocument",
    ("/cases/{case_id}/documents/{document_id}", "get"): "getDocument",
    ("/cases/{case_id}/documents/{document_id}", "delete"): "deleteDocument",
    ("/vapi/re-analyze-call/{case_id}", "post"): "analyzeCall",
    ("/cases/{case_id}/analyze-with-agent", "post"): "analyzeWithAgent",
    ("/cases/{case_id}/analyze-documents-form7801", "post"): "analyzeForm7801",
    ("/healthz", "get"): "health", ("/readyz", "get"): "ready", ("/metrics", "get"): "metrics",
    ("/", "get"): "page", ("/dev/tokens", "get"): "devTokens", ("/openapi.json", "get"): "openapi",
    ("/docs", "get"): "docs",
}

_PATH_PARAMS = {
    "job_id": "Job id (a UUID).",
    "case_id": "Case id (a UUID).",
    "document_id": "Document id (a UUID).",
}

_EXTRA_SCHEMAS: list[type[pydantic.BaseModel]] = [
    analysis_schemas.CallAnalysis, analysis_schemas.AgentDocumentAnalysis, analysis_schemas.Form7801Analysis]


# -- building ----------------------------------------------------------------------------------


def build_document(version: str = "0.1.0", examples: dict[str, Any] | None = None,
                   longpoll_max_seconds: float = 25.0) -> dict[str, Any]:
    """The OpenAPI 3.1 document as a dict (JSON-ready).

    Args:
        version: the API version shown in ``info``.
        examples: real answers by ``"<METHOD> <path> <status>"`` (default: ``openapi_examples.json``).
        longpoll_max_seconds: this server's ``LONGPOLL_MAX_SECONDS``, the documented maximum of ``wait``.
    """
    schemas = _component_schemas()
    examples = load_examples() if examples is None else examples
    paths = {path: {method: _operation(path, method, op, examples) for method, op in ops.items()}
             for path, ops in PATHS.items()}
    for ops in paths.values():
        for operation in ops.values():
            for param in operation.get("parameters", []):
                if param["name"] == "wait" and param["in"] == "query":
                    param["schema"] = {**param["schema"], "maximum": longpoll_max_seconds}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Case analysis job server",
            "version": version,
            "description": "Long-running LLM analyses of legal case material, run as jobs: start one, then poll "
                           "`/jobs/{job_id}` (conditional GET, long-poll with `wait`) or stream "
                           "`/jobs/{job_id}/events`. Every error answers `{detail, code}`. Times are ISO 8601 UTC "
                           "with `Z`. Send `Authorization: Bearer <JWT>` except on the public routes.",
        },
        "tags": [{"name": name} for name in ("jobs", "cases", "documents", "analyses", "ops", "page")],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                               "description": "HS256/RS256 JWT; `sub` is the user id, the admin "
                                                              "role sees every user's jobs and cases."}},
            "schemas": schemas,
            "headers": HEADERS,
        },
    }


def load_examples() -> dict[str, Any]:
    """The captured real answers (empty when the file is missing)."""
    try:
        with open(EXAMPLES_FILE, encoding="utf-8") as file:
            loaded: dict[str, Any] = json.load(file)
    except FileNotFoundError:
        return {}
    return loaded


def _models() -> list[tuple[type[pydantic.BaseModel], JsonSchemaMode]]:
    models: list[tuple[type[pydantic.BaseModel], JsonSchemaMode]] = []
    for ops in PATHS.values():
        for op in ops.values():
            if op.body is not None:
                models.append((op.body, "validation"))
            models.extend((answer.model, "serialization") for answer in op.answers.values()
                          if answer.model is not None)
    extra: list[type[pydantic.BaseModel]] = [ErrorBody, *_EXTRA_SCHEMAS]
    models.extend((model, "serialization") for model in extra)
    return list(dict.fromkeys(models))


def _component_schemas() -> dict[str, Any]:
    _, top = models_json_schema(_models(), ref_template=_REF)
    return dict(sorted(top.get("$defs", {}).items()))


def _ref(model: type[pydantic.BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _operation(path: str, method: str, op: Operation, examples: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {"operationId": OPERATION_IDS[(path, method)], "summary": op.summary, "tags": [op.tag]}
    if op.description:
        doc["description"] = op.description
    if op.public:
        doc["security"] = []
    params = [_path_param(name) for name in _path_names(path)] + [_param(name) for name in op.params]
    if params:
        doc["parameters"] = params
    if op.body is not None:
        doc["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(op.body)}}}
    elif op.multipart:
        doc["requestBody"] = {"required": True, "content": {"multipart/form-data": {
            "schema": {"type": "object", "required": ["file"], "additionalProperties": False, "properties": {
                "file": {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream",
                         "description": "A PDF, DOCX or UTF-8 text file, at most MAX_UPLOAD_BYTES."},
                "document_type": {"type": "string", "enum": [kind.value for kind in DocumentType],
                                  "default": "general"}}},
            "example": {"file": "Medical summary: lumbar disc herniation, 40% work capacity.",
                        "document_type": "medical_report"},
            "encoding": {"file": {"contentType": "application/pdf, application/vnd.openxmlformats-officedocument."
                                                 "wordprocessingml.document, text/plain, application/octet-stream"}}}}}
    key = f"{method.upper()} {path}"
    doc["responses"] = {str(status): _response(answer, examples.get(f"{key} {status}"), op.links.get(status))
                        for status, answer in sorted(op.answers.items())}
    return doc


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": _PATH_PARAMS[name],
            "schema": {"type": "string", "format": "uuid"}}


def _param(name: str) -> dict[str, Any]:
    spec = dict(PARAMETERS[name])
    spec.setdefault("name", name)
    spec.setdefault("required", False)
    return spec


def _response(answer: Answer, example: Any, links: dict[str, Any] | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"description": answer.description}
    if answer.headers:
        doc["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in answer.headers}
    schema: dict[str, Any] | None = None
    media = answer.media or "application/json"
    if answer.model is not None:
        schema = _ref(answer.model)
    elif answer.codes:
        schema = {"allOf": [_ref(ErrorBody), {"properties": {"code": {"enum": list(answer.codes)}}}]}
    elif answer.text_schema is not None:
        schema = answer.text_schema
    if schema is not None:
        content: dict[str, Any] = {"schema": schema}
        if example is not None:
            content["example"] = example
        doc["content"] = {media: content}
    if links:
        doc["links"] = links
    return doc


def document_bytes(longpoll_max_seconds: float = 25.0) -> bytes:
    """The document as compact UTF-8 JSON (what ``GET /openapi.json`` sends)."""
    document = build_document(longpoll_max_seconds=longpoll_max_seconds)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
