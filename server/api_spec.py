"""What each route answers, for the OpenAPI document (``server.openapi`` builds it from this).

``PATHS`` has one entry per route of ``server.app.routes`` (a test walks the route table against it):
summary, parameters, request body model, and every status the route can answer with the error
``code`` values each carries (``server/errors.py`` codes raised on that path), response models and
headers, and the links between operations (a created case's id feeds the upload, an analysis's
job id feeds the job routes). Add a route here when you add it to the route table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pydantic

from server.analysis.views import AnalysisAccepted
from server.cases.models import CallDetails, CaseCreate
from server.cases.views import CaseList, CaseView, DocumentList, DocumentUploaded, DocumentWithText
from server.error_codes import ErrorCode
from server.jobs.views import JobList, JobView
from server.views import DevTokens, HealthView, ReadyView


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
    codes: tuple[ErrorCode, ...] = ()
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

AUTH_CODES = (ErrorCode.INVALID_TOKEN,)
JSON_BODY_400 = (ErrorCode.MALFORMED_JSON, ErrorCode.INVALID_BODY)
CASE_503 = (ErrorCode.STORE_UNAVAILABLE, ErrorCode.STORE_CLOSED,
            ErrorCode.DATABASE_UNAVAILABLE)
WAIT_CODES = (ErrorCode.TOO_MANY_WAITS,)
# A job route's 503: its long-polls are full, the server is shutting down, or the job store cannot answer.
JOB_503 = (*WAIT_CODES, ErrorCode.SHUTTING_DOWN, ErrorCode.STORE_UNAVAILABLE)

_JOB_HEADERS = ("ETag", "Retry-After")


def _error(description: str, *codes: ErrorCode, headers: tuple[str, ...] = ()) -> Answer:
    return Answer(description, codes=codes, headers=headers)


def _unauthorized() -> Answer:
    return _error("Missing, malformed or expired bearer token.", *AUTH_CODES, headers=("WWW-Authenticate",))


def _job_404() -> Answer:
    return _error("Unknown job, another user's job (same answer), expired (`expired`, to its owner) or lost in a "
                  "restart (`server_restarted`).", ErrorCode.NOT_FOUND, ErrorCode.EXPIRED, ErrorCode.SERVER_RESTARTED)


def _case_answers(*bad_request: ErrorCode) -> dict[int, Answer]:
    return {
        400: _error("Bad id or input.", ErrorCode.INVALID_CASE_ID, *bad_request),
        401: _unauthorized(),
        404: _error("Unknown case, or another user's (same answer).", ErrorCode.NOT_FOUND),
        503: _error("The case store cannot answer now.", *CASE_503, headers=("Retry-After",)),
    }


def _json_body_answers() -> dict[int, Answer]:
    return {413: _error("Body over MAX_JSON_BODY_BYTES.", ErrorCode.BODY_TOO_LARGE),
            415: _error("Body not sent as application/json.", ErrorCode.UNSUPPORTED_CONTENT_TYPE)}


_JOB_FROM_BODY = {"job_id": "$response.body#/job_id"}
_CASE_FROM_BODY = {"case_id": "$response.body#/case_id"}
_ANALYSIS_LINKS = {202: {"GetJob": {"operationId": "getJob", "parameters": _JOB_FROM_BODY},
                         "StreamJob": {"operationId": "streamJob", "parameters": _JOB_FROM_BODY},
                         "CancelJob": {"operationId": "cancelJob", "parameters": _JOB_FROM_BODY}}}


def _analysis(summary: str, needs: str, input_codes: tuple[ErrorCode, ...]) -> Operation:
    answers = {
        202: Answer("Job started (or the one already pending or running for this case and analysis). Poll "
                    "`poll_url`.", AnalysisAccepted, headers=("Location", "Retry-After", "Idempotent-Replayed")),
        **_case_answers(*input_codes, ErrorCode.INVALID_IDEMPOTENCY_KEY),
        409: _error("A request with the same Idempotency-Key is still being processed.",
                    ErrorCode.IDEMPOTENCY_KEY_IN_USE,
                    headers=("Retry-After",)),
        422: _error("The Idempotency-Key was used for a different request.", ErrorCode.IDEMPOTENCY_KEY_REUSED),
        429: _error("Too many active jobs for this user.", ErrorCode.TOO_MANY_ACTIVE_JOBS, headers=("Retry-After",)),
    }
    answers[503] = _error("The server is shutting down, the job store is full, or the case store cannot "
                          "answer.", ErrorCode.SHUTTING_DOWN, ErrorCode.STORE_FULL,
                          *CASE_503,
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
        401: _error("METRICS_TOKEN is set and the request does not carry it.", ErrorCode.INVALID_TOKEN)},
        description="Public unless METRICS_TOKEN is set; then it needs `Authorization: Bearer <METRICS_TOKEN>` "
                    "(user tokens do not open it).", public=True)},
    "/jobs": {"get": Operation("List jobs, or their changes since a cursor", "jobs", {
        200: Answer("The caller's jobs (admins: all), newest first; with `since`, the changes after it.", JobList,
                    headers=("Preference-Applied",)),
        400: _error("Bad query value.", ErrorCode.INVALID_STATUS, ErrorCode.INVALID_JOB_TYPE, ErrorCode.INVALID_LIMIT,
                    ErrorCode.INVALID_CURSOR, ErrorCode.INVALID_SINCE, ErrorCode.INVALID_WAIT),
        401: _unauthorized(),
        410: _error("The `since` cursor is older than the kept change log, or the `cursor` page's last job "
                    "expired: list again.", ErrorCode.CURSOR_EXPIRED),
        429: _error("Too many open long-polls for this user.", *WAIT_CODES, headers=("Retry-After",)),
        503: _error("Too many open long-polls on this server, shutting down, or the job store cannot answer.",
                    *JOB_503, headers=("Retry-After",)),
    }, params=("status", "job_type", "case_id_filter", "limit", "cursor", "since_cursor", "wait", "Prefer"))},
    "/jobs/{job_id}": {"get": Operation("Get a job (poll, conditional GET, long-poll)", "jobs", {
        200: Answer("The job. Not finished: `Retry-After` is the polling interval.", JobView,
                    headers=(*_JOB_HEADERS, "Preference-Applied")),
        304: Answer("Unchanged since the `If-None-Match` ETag (also a long-poll's timeout with that baseline).",
                    headers=("ETag",)),
        400: _error("Bad id, query value or If-None-Match version.", ErrorCode.INVALID_JOB_ID, ErrorCode.INVALID_WAIT,
                    ErrorCode.INVALID_SINCE, ErrorCode.INVALID_UNTIL, ErrorCode.INVALID_IF_NONE_MATCH),
        401: _unauthorized(),
        404: _job_404(),
        429: _error("Too many open long-polls for this user.", *WAIT_CODES, headers=("Retry-After",)),
        503: _error("Too many open long-polls on this server, shutting down, or the job store cannot answer.",
                    *JOB_503, headers=("Retry-After",)),
    }, links={200: {"CancelJob": {"operationId": "cancelJob", "parameters": _JOB_FROM_BODY}}},
        description="`wait` (or `Prefer: wait=N`) long-polls: the answer comes when the job differs from the "
                   "baseline (`If-None-Match` version, else `since`, else the current version), or at the deadline.",
        params=("wait", "since_version", "until", "If-None-Match", "Prefer"))},
    "/jobs/{job_id}/cancel": {"post": Operation("Cancel a job", "jobs", {
        200: Answer("The job, now failed with `error_code` `cancelled`.", JobView, headers=_JOB_HEADERS),
        400: _error("Bad id.", ErrorCode.INVALID_JOB_ID),
        401: _unauthorized(),
        404: _job_404(),
        409: _error("The job already finished, or is saving its result (past its commit point): too late to cancel.",
                    ErrorCode.ALREADY_FINISHED),
        503: _error("The job store cannot answer now.", ErrorCode.STORE_UNAVAILABLE, headers=("Retry-After",)),
    }, description="Owner or admin. No body.")},
    "/jobs/{job_id}/events": {"get": Operation("Stream a job's changes (Server-Sent Events)", "jobs", {
        200: Answer("One `event: job` per change; `id:` is the job version.", media="text/event-stream",
                    text_schema=_SSE_EVENT),
        204: Answer("The job is finished and `Last-Event-ID` is already its final version: nothing more will "
                    "come (the event-stream way to tell a client to stop reconnecting)."),
        400: _error("Bad id or Last-Event-ID.", ErrorCode.INVALID_JOB_ID, ErrorCode.INVALID_SINCE),
        401: _unauthorized(),
        404: _job_404(),
        429: _error("Too many open streams for this user.", *WAIT_CODES, headers=("Retry-After",)),
        503: _error("Too many open streams on this server, shutting down, or the job store cannot answer.",
                    *JOB_503, headers=("Retry-After",)),
    }, params=("Last-Event-ID",))},
    "/cases": {
        "get": Operation("List cases", "cases", {
            200: Answer("The caller's cases (admins: all), newest first.", CaseList),
            400: _error("Bad query value.", ErrorCode.INVALID_LIMIT, ErrorCode.INVALID_CURSOR),
            401: _unauthorized(),
            410: _error("The `cursor` page's last case was deleted: list again.", ErrorCode.CURSOR_EXPIRED),
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
            **_case_answers(ErrorCode.MALFORMED_MULTIPART, ErrorCode.MISSING_FILE, ErrorCode.INVALID_DOCUMENT_TYPE,
                            ErrorCode.UNKNOWN_FIELD),
            413: _error("File over MAX_UPLOAD_BYTES.", ErrorCode.FILE_TOO_LARGE),
            415: _error("Not multipart/form-data, or the file is not a PDF, DOCX or UTF-8 text.",
                        ErrorCode.UNSUPPORTED_CONTENT_TYPE, ErrorCode.UNSUPPORTED_FILE_TYPE),
            422: _error("The file cannot be read.", ErrorCode.EMPTY_FILE, ErrorCode.CORRUPT_FILE,
                        ErrorCode.UNSUPPORTED_FILE_TYPE, ErrorCode.ENCRYPTED_FILE, ErrorCode.TRUNCATED_FILE,
                        ErrorCode.DOCX_TOO_LARGE, ErrorCode.EXTRACTION_FAILED, ErrorCode.EXTRACTION_TOO_COSTLY),
            429: _error("The user already has EXTRACTION_PER_USER documents being read.",
                        ErrorCode.TOO_MANY_EXTRACTIONS, headers=("Retry-After",)),
            503: _error("The server is restarting, or the case store cannot answer now.", ErrorCode.SHUTTING_DOWN,
                        *CASE_503, headers=("Retry-After",)),
        }, multipart=True, links={201: {
            "GetDocument": {"operationId": "getDocument",
                            "parameters": {**_CASE_FROM_BODY, "document_id": "$response.body#/document_id"}},
            "AnalyzeWithAgent": {"operationId": "analyzeWithAgent", "parameters": _CASE_FROM_BODY},
            "AnalyzeForm7801": {"operationId": "analyzeForm7801", "parameters": _CASE_FROM_BODY},
        }}),
    },
    "/cases/{case_id}/documents/{document_id}": {
        "get": Operation("Get a document with its text", "documents", {
            200: Answer("The document.", DocumentWithText), **_case_answers(ErrorCode.INVALID_DOCUMENT_ID)}),
        "delete": Operation("Delete a document", "documents",
                            {204: Answer("Deleted."), **_case_answers(ErrorCode.INVALID_DOCUMENT_ID)}),
    },
    "/vapi/re-analyze-call/{case_id}": {"post": _analysis(
        "Start a call analysis", "Needs the case's call transcript.", (ErrorCode.NO_TRANSCRIPT,))},
    "/cases/{case_id}/analyze-with-agent": {"post": _analysis(
        "Start an agent document analysis", "Needs a document with readable text.", (ErrorCode.NO_DOCUMENTS,))},
    "/cases/{case_id}/analyze-documents-form7801": {"post": _analysis(
        "Start a Form 7801 analysis", "Needs a transcript or a document with readable text.", (ErrorCode.NO_INPUT,))},
    "/": {"get": Operation("The browser page", "page", {
        200: Answer("HTML page.", media="text/html", text_schema=_TEXT)}, public=True)},
    "/dev/tokens": {"get": Operation("Dev tokens for the page's sign-in", "page", {
        200: Answer("One token per dev user.", DevTokens),
        404: _error("Not in dev mode, or not from this machine.", ErrorCode.NO_ROUTE),
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

PATH_PARAMETERS = {
    "job_id": "Job id (a UUID).",
    "case_id": "Case id (a UUID).",
    "document_id": "Document id (a UUID).",
}
