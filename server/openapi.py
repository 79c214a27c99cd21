"""The OpenAPI 3.1 document of this server, built once at start-up from the response and request
models the handlers use (``server/*/views.py``, ``CaseCreate``, ``CallDetails``).

What pydantic cannot see (paths, parameters, status codes, error ``code`` values, headers) is
declared in ``server.api_spec.PATHS``, one entry per route of ``server.app.routes``; a test walks
the route table and fails when a route or method is missing. Every error answer has the body
``{"detail", "code"}`` (``server.web.write_error``); the ``code`` values each status can carry are
listed as an ``enum``, so a client can switch on them and Schemathesis checks them.

Examples come from real answers: ``openapi_examples.json`` is written by
``python -m tests.openapi.capture`` from a running server, and a test checks each still
validates against its schema.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pydantic
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from server.analysis import schemas as analysis_schemas
from server.api_spec import HEADERS, OPERATION_IDS, PARAMETERS, PATH_PARAMETERS, PATHS, Answer, Operation
from server.cases.models import DocumentType
from server.error_codes import JOB_CODES, ErrorCode
from server.views import ErrorBody

EXAMPLES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "openapi_examples.json")
_REF = "#/components/schemas/{model}"


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
    _describe_codes(schemas)
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


def _describe_codes(schemas: dict[str, Any]) -> None:
    """Add the ``ErrorCode`` schema (every code of ``server.error_codes``, each with its statuses and
    meaning), point ``ErrorBody.code`` at it, and list the job codes on ``JobView.error_code``."""
    schemas["ErrorCode"] = {
        "type": "string",
        "description": "Every `code` of an error answer or of a failed job's `error_code`. The codes each "
                       "answer can carry are listed with it; these may come from any route: "
                       + ", ".join(f"`{code.value}` ({_statuses(code) or 'any 4xx'})"
                                   for code in ErrorCode if code.info.any_route) + ".",
        "oneOf": [{"const": code.value, "description": _code_description(code)} for code in ErrorCode],
    }
    schemas["ErrorBody"]["properties"]["code"] = {
        "allOf": [{"$ref": _REF.format(model="ErrorCode")}],
        "description": schemas["ErrorBody"]["properties"]["code"]["description"]}
    job_code = schemas["JobView"]["properties"]["error_code"]
    job_code["anyOf"] = [{"type": "string", "enum": [code.value for code in JOB_CODES]}, {"type": "null"}]


def _statuses(code: ErrorCode) -> str:
    return ", ".join(str(status) for status in code.info.statuses)


def _code_description(code: ErrorCode) -> str:
    statuses = _statuses(code)
    where = f"HTTP {statuses}" if statuses else ("HTTP 4xx" if code.info.any_route else "")
    if code.info.job_message is not None:
        where = f"{where}; job `error_code`" if where else "Job `error_code`"
    return f"{where}. {code.info.summary}"


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
    return {"name": name, "in": "path", "required": True, "description": PATH_PARAMETERS[name],
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
