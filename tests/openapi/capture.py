"""Write ``server/openapi_examples.json``: real answers of a running server, the document's examples.

Usage (a server in test mode with the same ``JWT_SECRET``, offline analyzers, an empty database)::

    JWT_SECRET=... python -m tests.openapi.capture http://127.0.0.1:8000

Each answer is stored under ``"<METHOD> <path template> <status>"``. The case and transcript are
fictional. ``test_document.py`` checks every example still validates against its schema.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from server.auth import mint_token
from server.config import AuthSettings
from server.openapi import EXAMPLES_FILE
from tests.cases.files import multipart

TRANSCRIPT = ("Agent: National Insurance claims line. Caller: I hurt my back lifting crates at the warehouse "
              "in March; my doctor says I cannot work full days.")


class Capture:
    """Sends requests and keeps the first answer per (method, template, status)."""

    def __init__(self, base_url: str, token: str):
        self.base_url = base_url
        self.token = token
        self.examples: dict[str, Any] = {}

    def call(self, method: str, path: str, template: str, body: Any = None, headers: dict | None = None,
             signed_in: bool = True) -> tuple[int, Any]:
        """Send one request; returns (status, parsed JSON or None) and records the answer."""
        all_headers = dict(headers or {})
        if signed_in:
            all_headers["Authorization"] = f"Bearer {self.token}"
        data = body
        if body is not None and not isinstance(body, bytes):
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base_url + path, data=data, headers=all_headers,  # noqa: S310
                                         method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # a local server
                status, raw, kind = response.status, response.read(), response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            status, raw, kind = error.code, error.read(), error.headers.get("Content-Type", "")
        parsed = json.loads(raw) if raw and "json" in kind else None
        if parsed is not None and template != "/openapi.json":
            self.examples.setdefault(f"{method} {template} {status}", parsed)
        return status, parsed


def capture(base_url: str, user_token: str, admin_token: str) -> dict[str, Any]:
    """Drive one flow of every resource and the common errors; returns the examples."""
    c = Capture(base_url, user_token)
    c.call("GET", "/healthz", "/healthz")
    c.call("GET", "/readyz", "/readyz")
    _, case = c.call("POST", "/cases", "/cases", {"title": "Back injury at the warehouse",
                                                  "call_details": {"transcript": TRANSCRIPT, "messages": []}})
    case_id = case["case_id"]
    c.call("GET", "/cases", "/cases")
    c.call("GET", f"/cases/{case_id}", "/cases/{case_id}")
    c.call("PUT", f"/cases/{case_id}/call-details", "/cases/{case_id}/call-details",
           {"transcript": TRANSCRIPT, "messages": [{"role": "caller", "content": "I hurt my back."}]})
    body, content_type = multipart("medical_summary.txt", b"Medical summary: lumbar disc herniation. "
                                   b"Work capacity 60%.", document_type="medical_report")
    _, document = c.call("POST", f"/cases/{case_id}/documents", "/cases/{case_id}/documents", body,
                         {"Content-Type": content_type})
    c.call("GET", f"/cases/{case_id}/documents", "/cases/{case_id}/documents")
    c.call("GET", f"/cases/{case_id}/documents/{document['document_id']}", "/cases/{case_id}/documents/{document_id}")
    _, started = c.call("POST", f"/vapi/re-analyze-call/{case_id}", "/vapi/re-analyze-call/{case_id}")
    c.call("POST", f"/cases/{case_id}/analyze-with-agent", "/cases/{case_id}/analyze-with-agent")
    c.call("POST", f"/cases/{case_id}/analyze-documents-form7801", "/cases/{case_id}/analyze-documents-form7801")
    job_id = started["job_id"]
    c.call("GET", f"/jobs/{job_id}?wait=10&until=finished", "/jobs/{job_id}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, job = c.call("GET", f"/jobs/{job_id}?wait=5&until=finished", "/jobs/{job_id}")
        if job and job["status"] in ("completed", "failed"):
            c.examples["GET /jobs/{job_id} 200"] = job  # the finished job shows a result
            break
    c.call("GET", "/jobs?limit=2", "/jobs")
    c.call("POST", f"/jobs/{job_id}/cancel", "/jobs/{job_id}/cancel")  # 409: already finished
    _, empty_case = c.call("POST", "/cases", "/cases", {"title": "Empty case"})
    c.call("POST", f"/vapi/re-analyze-call/{empty_case['case_id']}", "/vapi/re-analyze-call/{case_id}")  # 400
    c.call("GET", "/jobs/00000000-0000-4000-8000-000000000000", "/jobs/{job_id}")  # 404
    c.call("GET", "/cases/not-a-uuid", "/cases/{case_id}")  # 400
    c.call("GET", "/cases", "/cases", signed_in=False)  # 401
    c.call("POST", "/cases", "/cases", {"title": ""})  # 400
    admin = Capture(base_url, admin_token)
    admin.call("GET", "/jobs?limit=2", "/jobs")
    for key, value in admin.examples.items():
        c.examples.setdefault(key, value)
    return dict(sorted(c.examples.items()))


def main(argv: list[str]) -> int:
    """Capture from the server at ``argv[0]`` into ``server/openapi_examples.json``."""
    auth = AuthSettings(key=os.environ["JWT_SECRET"], algorithms=("HS256",))
    examples = capture(argv[0].rstrip("/"), mint_token(auth, "example-user"),
                       mint_token(auth, "example-admin", admin=True))
    with open(EXAMPLES_FILE, "w", encoding="utf-8") as file:
        json.dump(examples, file, ensure_ascii=False, indent=1)
        file.write("\n")
    print(f"{len(examples)} examples -> {EXAMPLES_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
