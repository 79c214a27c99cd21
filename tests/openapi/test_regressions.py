"""Inputs Schemathesis found that the server answered wrongly, kept as regular tests."""

from __future__ import annotations

import pytest

from tests.cases.files import new_case, upload


@pytest.mark.gen_test(timeout=20)
@pytest.mark.parametrize(("method", "path", "allow"), [
    ("TRACE", "/healthz", "GET, HEAD"),
    ("TRACE", "/jobs/0/cancel", "POST"),
    ("PATCH", "/cases/0", "GET, HEAD, DELETE"),
    ("TRACE", "/cases/0/documents/0", "GET, HEAD, DELETE"),
])
async def test_unsupported_method_answers_405_with_allow(api, method, path, allow):
    # Schemathesis ST204: "TRACE returned 405 without required `Allow` header" (RFC 9110 §15.5.6).
    reply = await api.request(method, path)
    assert reply.status == 405
    assert reply.headers["Allow"] == allow
    assert reply.json == {"detail": "Method Not Allowed", "code": "method_not_allowed"}


@pytest.mark.gen_test(timeout=20)
async def test_unsupported_method_with_a_body_answers_405_not_413(api):
    # Schemathesis ST204: "Unsupported method PUT returned 413, expected 405" (PUT /cases/{id}/documents
    # with a small multipart body: the upload handler's body limit answered before the method check).
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="f.pdf"\r\n\r\n%PDF-\r\n--b--\r\n'
    reply = await api.request("PUT", "/cases/00000000-0000-4000-8000-000000000000/documents", body=body,
                              headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert reply.status == 405 and reply.headers["Allow"] == "GET, HEAD, POST"
    assert reply.json["code"] == "method_not_allowed"


@pytest.mark.gen_test(timeout=20)
async def test_upload_with_an_unknown_form_field_is_400_and_not_stored(api):
    # Schemathesis ST201: "Schema-violating request accepted: in body - object with unexpected
    # properties" (a multipart upload with an extra field got 201). JSON bodies refuse unknown fields too.
    case_id = await new_case(api)
    reply = await upload(api, case_id, "a.txt", b"Medical summary", document_type="general", note="extra")
    assert reply.status == 400 and reply.json["code"] == "unknown_field"
    listed = await api.get(f"/cases/{case_id}/documents")
    assert listed.json["count"] == 0
