"""Document upload through real HTTP with real PDF, DOCX and text files, broken ones, and the size limit."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from urllib.parse import urlparse

import pytest

from server.cases.extraction import DOCX, PDF, TEXT
from server.cases.uploads import ENVELOPE_BYTES
from tests.cases import files
from tests.cases.conftest import UPLOAD_LIMIT
from tests.cases.files import new_case, upload


async def document_text(api, location: str) -> str:
    reply = await api.get(location)
    assert reply.status == 200
    return reply.json["text"]


@pytest.mark.gen_test(timeout=20)
async def test_upload_hebrew_pdf_keeps_text_intact(api):
    case_id = await new_case(api)
    data = files.pdf(pages=2)
    reply = await upload(api, case_id, "סיכום רפואי.pdf", data, document_type="medical_report")
    assert reply.status == 201, reply.json
    doc = reply.json
    assert reply.headers["Location"] == f"/cases/{case_id}/documents/{doc['document_id']}"
    assert doc["file_name"] == "סיכום רפואי.pdf" and doc["content_type"] == PDF
    assert doc["document_type"] == "medical_report" and doc["uploaded_by"] == "alice"
    assert doc["page_count"] == 2 and doc["text_found"] is True
    assert doc["size_bytes"] == len(data) and doc["sha256"] == hashlib.sha256(data).hexdigest()
    text = await document_text(api, reply.headers["Location"])
    assert files.HEBREW_MEDICAL in text  # logical order, not the visual order the PDF stores
    assert files.HEBREW_MIXED in text
    assert files.ENGLISH_LINE in text
    assert (await api.get(f"/cases/{case_id}")).json["documents_count"] == 1


@pytest.mark.gen_test(timeout=20)
async def test_upload_hebrew_docx_with_table(api):
    case_id = await new_case(api)
    data = files.docx(table=[["שכר ברוטו", "12,500 ₪"], ["Employer", "Acme Ltd"]])
    reply = await upload(api, case_id, "payslip.docx", data, document_type="pay_slip")
    assert reply.status == 201 and reply.json["content_type"] == DOCX and reply.json["text_found"] is True
    assert reply.json["warnings"] == []
    text = await document_text(api, reply.headers["Location"])
    assert files.HEBREW_MEDICAL in text and files.ENGLISH_LINE in text
    assert "שכר ברוטו\t12,500 ₪" in text and "Employer\tAcme Ltd" in text


@pytest.mark.gen_test(timeout=20)
async def test_upload_utf8_text_file(api):
    case_id = await new_case(api)
    content = "\ufeff" + files.HEBREW_MEDICAL + "\r\nline two\r\n"
    reply = await upload(api, case_id, "notes.txt", content.encode())
    assert reply.status == 201 and reply.json["content_type"] == TEXT and reply.json["page_count"] is None
    assert reply.json["document_type"] == "general"
    assert await document_text(api, reply.headers["Location"]) == files.HEBREW_MEDICAL + "\nline two"


@pytest.mark.gen_test(timeout=20)
async def test_upload_pdf_without_text_is_stored_with_warning(api):
    case_id = await new_case(api)
    reply = await upload(api, case_id, "scan.pdf", files.scanned_pdf())
    assert reply.status == 201
    assert reply.json["text_found"] is False and reply.json["page_count"] == 1
    assert any("scanned" in warning for warning in reply.json["warnings"])


@pytest.mark.gen_test(timeout=20)
@pytest.mark.parametrize(("make", "status", "code"), [
    (files.truncated_pdf, 422, "truncated_file"),
    (files.corrupt_pdf, 422, "corrupt_file"),
    (files.encrypted_pdf, 422, "encrypted_file"),
    (files.damaged_docx, 422, "corrupt_file"),
    (lambda: files.docx()[:-200], 422, "corrupt_file"),
    (lambda: b"", 422, "empty_file"),
    (files.plain_zip, 415, "unsupported_file_type"),
    (lambda: bytes(range(256)) * 8, 415, "unsupported_file_type"),
    (lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, 415, "unsupported_file_type"),
    (lambda: "שלום".encode("cp1255"), 415, "unsupported_file_type"),
])
async def test_upload_broken_or_unsupported_file_is_refused_and_not_stored(api, make, status, code):
    case_id = await new_case(api)
    reply = await upload(api, case_id, "file.pdf", make())
    assert reply.status == status, reply.json
    assert reply.json["code"] == code and reply.json["detail"]
    assert (await api.get(f"/cases/{case_id}/documents")).json["count"] == 0


@pytest.mark.gen_test(timeout=20)
async def test_upload_pdf_with_empty_user_password_is_read(api):
    case_id = await new_case(api)
    reply = await upload(api, case_id, "owner-only.pdf", files.encrypted_pdf(user_password=""))
    assert reply.status == 201 and reply.json["text_found"] is True


@pytest.mark.gen_test(timeout=10)
async def test_upload_invalid_document_type_is_400(api):
    case_id = await new_case(api)
    reply = await upload(api, case_id, "a.txt", b"hello", document_type="love_letter")
    assert reply.status == 400 and reply.json["code"] == "invalid_document_type"


@pytest.mark.gen_test(timeout=10)
async def test_upload_without_file_part_is_400(api):
    case_id = await new_case(api)
    body, content_type = files.multipart(None, None, document_type="general")
    reply = await api.post(f"/cases/{case_id}/documents", body=body, headers={"Content-Type": content_type})
    assert reply.status == 400 and reply.json["code"] == "missing_file"


@pytest.mark.gen_test(timeout=10)
async def test_upload_not_multipart_is_415(api):
    case_id = await new_case(api)
    reply = await api.post(f"/cases/{case_id}/documents", body=b"hello", headers={"Content-Type": "text/plain"})
    assert reply.status == 415 and reply.json["code"] == "unsupported_content_type"


@pytest.mark.gen_test(timeout=10)
async def test_upload_to_another_users_case_is_404(api):
    case_id = await new_case(api, user="alice")
    reply = await upload(api, case_id, "a.txt", b"hello", user="mallory")
    unknown = await upload(api, str(uuid.uuid4()), "a.txt", b"hello", user="mallory")
    assert reply.status == unknown.status == 404 and reply.body == unknown.body


@pytest.mark.gen_test(timeout=10)
async def test_upload_file_over_limit_inside_envelope_is_413(api):
    case_id = await new_case(api)
    reply = await upload(api, case_id, "big.txt", b"a" * (UPLOAD_LIMIT + 1))
    assert reply.status == 413 and reply.json["code"] == "file_too_large"
    exactly = await upload(api, case_id, "limit.txt", b"a" * UPLOAD_LIMIT)
    assert exactly.status == 201


async def raw_exchange(base_url: str, head: bytes, chunks: list[bytes]) -> tuple[int, dict]:
    """Send ``head``, then ``chunks`` one at a time until the server answers; return its reply.

    Sending stops at the first byte of the answer: a server that refuses a body closes the
    connection, and bytes still arriving then would make the kernel reset it and drop the answer.
    """
    url = urlparse(base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    answer = asyncio.ensure_future(reader.read(1))
    writer.write(head)
    for chunk in chunks:
        if answer.done():
            break
        try:
            writer.write(chunk)
            await writer.drain()
        except ConnectionError:
            break  # the server has answered and closed
        await asyncio.sleep(0.001)
    raw = await answer + await reader.read()  # the server closes after answering
    writer.close()
    head_part, _, body = raw.partition(b"\r\n\r\n")
    return int(head_part.split(b" ", 2)[1]), json.loads(body)


@pytest.mark.gen_test(timeout=10)
async def test_upload_declared_over_limit_is_413_before_any_body_byte(api, base_url):
    case_id = await new_case(api)
    head = (f"POST /cases/{case_id}/documents HTTP/1.1\r\nHost: test\r\n"
            f"Authorization: Bearer {api.token()}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            f"Content-Length: {1024 ** 3}\r\n\r\n").encode()
    status, body = await raw_exchange(base_url, head, [])  # not one byte of the 1 GB body is sent
    assert status == 413 and body["code"] == "file_too_large"


@pytest.mark.gen_test(timeout=10)
async def test_upload_chunked_over_limit_is_413_without_waiting_for_the_end(api, base_url):
    case_id = await new_case(api)
    head = (f"POST /cases/{case_id}/documents HTTP/1.1\r\nHost: test\r\n"
            f"Authorization: Bearer {api.token()}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    part_head = b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'
    piece = b"a" * 65536
    count = (UPLOAD_LIMIT + ENVELOPE_BYTES - len(part_head)) // len(piece)
    chunks = [b"%x\r\n" % len(part_head) + part_head + b"\r\n"]
    chunks += [b"%x\r\n" % len(piece) + piece + b"\r\n"] * count
    # One more byte passes the limit. Nothing follows it (not even the chunk's CRLF, and no terminating
    # chunk): the server must answer now, and has read every byte sent, so its close cannot turn into
    # a reset that would drop the answer before this client reads it.
    remainder = UPLOAD_LIMIT + ENVELOPE_BYTES - len(part_head) - count * len(piece) + 1
    chunks.append(b"%x\r\n" % (remainder + 1) + b"a" * remainder)
    status, body = await raw_exchange(base_url, head, chunks)
    assert status == 413 and body["code"] == "file_too_large"
    assert (await api.get(f"/cases/{case_id}/documents")).json["count"] == 0


@pytest.mark.gen_test(timeout=20)
async def test_list_and_delete_documents(api):
    case_id = await new_case(api)
    first = await upload(api, case_id, "a.txt", b"first")
    second = await upload(api, case_id, "b.docx", files.docx())
    listing = await api.get(f"/cases/{case_id}/documents")
    assert listing.status == 200 and listing.json["count"] == 2
    assert [d["file_name"] for d in listing.json["documents"]] == ["a.txt", "b.docx"]
    assert "text" not in listing.json["documents"][0]
    assert (await api.get(f"/cases/{case_id}/documents", user="mallory")).status == 404
    location = first.headers["Location"]
    assert (await api.request("DELETE", location, user="mallory")).status == 404
    assert (await api.request("DELETE", location)).status == 204
    assert (await api.get(location)).status == 404
    assert (await api.request("DELETE", location)).status == 404
    remaining = await api.get(f"/cases/{case_id}/documents")
    assert [d["document_id"] for d in remaining.json["documents"]] == [second.json["document_id"]]
    assert (await api.get(f"/cases/{case_id}/documents/not-a-uuid")).status == 400


@pytest.mark.gen_test(timeout=20)
async def test_file_name_is_reduced_to_a_safe_last_segment(api):
    case_id = await new_case(api)
    reply = await upload(api, case_id, "..\\..\\etc/passwd.txt", b"x")
    assert reply.status == 201 and reply.json["file_name"] == "passwd.txt"


@pytest.mark.gen_test(timeout=20)
async def test_deleting_a_case_deletes_its_documents(api, services):
    case_id = await new_case(api)
    await upload(api, case_id, "a.txt", b"first")
    assert (await api.request("DELETE", f"/cases/{case_id}")).status == 204
    assert await services.cases.repository.list_documents(case_id) == []


@pytest.mark.gen_test(timeout=20)
async def test_docx_that_expands_hundreds_of_times_is_refused_before_parsing(api):
    case_id = await new_case(api)
    bomb = files.docx_bomb()
    assert len(bomb) < 100_000  # 2.4 MB of XML
    reply = await upload(api, case_id, "report.docx", bomb)
    assert reply.status == 422 and reply.json["code"] == "docx_too_large"
    assert (await upload(api, case_id, "fine.docx", files.docx())).status == 201


@pytest.mark.gen_test(timeout=20)
@pytest.mark.parametrize(("raw", "stored"), [
    ("medical_summary_2026\u202efdp.exe", "medical_summary_2026fdp.exe"),
    ("\u200f\u05e1\u05d9\u05db\u05d5\u05dd \u05e8\u05e4\u05d5\u05d0\u05d9\u200e.pdf", "סיכום רפואי.pdf"),
    ("a\u202ab\u202bc\u202cd\u202de\u2066f\u2067g\u2068h\u2069.txt", "abcdefgh.txt"),
    ("tab\there\x7f\x85\u2028\u2029\ufeff.txt", "tabhere.txt"),
    ("דוח (2) — €50 ✓ 👩‍⚕️.txt", "דוח (2) — €50 ✓ 👩‍⚕️.txt"),
])
async def test_file_name_loses_bidi_and_other_control_characters_only(api, raw, stored):
    case_id = await new_case(api)
    body, content_type = files.multipart("placeholder", b"x")
    body = body.replace(b'filename="placeholder"', b'filename="' + raw.encode("utf-8") + b'"')
    reply = await api.post(f"/cases/{case_id}/documents", body=body, headers={"Content-Type": content_type})
    assert reply.status == 201 and reply.json["file_name"] == stored
    listed = await api.get(f"/cases/{case_id}/documents")
    assert listed.json["documents"][0]["file_name"] == stored
