"""Inputs Schemathesis found that the server answered wrongly, kept as regular tests."""

from __future__ import annotations

import pytest


@pytest.mark.gen_test(timeout=20)
@pytest.mark.parametrize(("method", "path", "allow"), [
    ("TRACE", "/healthz", "GET"),
    ("TRACE", "/jobs/0/cancel", "POST"),
    ("PATCH", "/cases/0", "GET, DELETE"),
    ("TRACE", "/cases/0/documents/0", "GET, DELETE"),
])
async def test_unsupported_method_answers_405_with_allow(api, method, path, allow):
    # Schemathesis ST204: "TRACE returned 405 without required `Allow` header" (RFC 9110 §15.5.6).
    reply = await api.request(method, path)
    assert reply.status == 405
    assert reply.headers["Allow"] == allow
    assert reply.json == {"detail": "Method Not Allowed", "code": "method_not_allowed"}
