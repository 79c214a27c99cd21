"""Request body limits checked before the body is read, and JSON bodies through the streamed base."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from urllib.parse import urlparse

import pytest
from tornado.httpclient import AsyncHTTPClient

from server.config import HttpSettings, Settings

LIMIT = 4096


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, http=HttpSettings(max_json_body_bytes=LIMIT))


async def raw_exchange(base_url: str, head: str, body_parts: list[bytes] = (), *, wait: float = 3) -> bytes:
    """Send ``head`` (and optional body parts) on a raw socket; return what the server answers."""
    url = urlparse(base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(head.encode())
    for part in body_parts:
        writer.write(part)
    await writer.drain()
    try:
        data = await asyncio.wait_for(reader.read(65536), wait)
    finally:
        writer.close()
    return data


@pytest.mark.gen_test(timeout=10)
async def test_json_body_within_the_limit_is_parsed(api):
    reply = await api.post("/test/jobs", body={"job_type": "quick", "params": {"pad": "x" * (LIMIT - 100)}})
    assert reply.status == 202 and reply.json["status"] == "accepted"
    assert reply.headers["Location"] == f"/jobs/{reply.json['job_id']}"


@pytest.mark.gen_test(timeout=10)
async def test_json_body_errors_still_answer_400_and_415(api):
    bad = await api.post("/test/jobs", body=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status == 400 and bad.json["code"] == "malformed_json"
    unknown = await api.post("/test/jobs", body={"job_type": "quick", "surprise": 1})
    assert unknown.status == 400 and unknown.json["code"] == "invalid_body"
    wrong_type = await api.post("/test/jobs", body=b"job_type=quick", headers={"Content-Type": "text/plain"})
    assert wrong_type.status == 415 and wrong_type.json["code"] == "unsupported_content_type"


@pytest.mark.gen_test(timeout=10)
async def test_declared_body_over_the_limit_is_413_before_any_byte_is_sent(api, base_url):
    token = api.token()
    head = (f"POST /test/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {50 * 1024 * 1024}\r\n\r\n")
    answer = await raw_exchange(base_url, head)  # no body sent at all: the server must not wait for it
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'"code": "body_too_large"' in answer and b"4096 byte limit" in answer


@pytest.mark.gen_test(timeout=10)
async def test_expect_continue_over_the_limit_gets_413_not_100(api, base_url):
    head = (f"POST /test/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {api.token()}\r\n"
            f"Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {LIMIT + 1}\r\n\r\n")
    answer = await raw_exchange(base_url, head)
    assert answer.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in answer


@pytest.mark.gen_test(timeout=10)
async def test_chunked_body_is_refused_when_it_passes_the_limit(api, base_url):
    head = (f"POST /test/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {api.token()}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * 1000
    parts = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 5  # 5000 bytes > 4096; no final chunk is ever sent
    answer = await raw_exchange(base_url, head, parts)
    assert answer.startswith(b"HTTP/1.1 413 ") and b"body_too_large" in answer


@pytest.mark.gen_test(timeout=10)
async def test_real_client_sending_a_big_body_gets_413(api, base_url):
    response = await AsyncHTTPClient().fetch(
        f"{base_url}/test/jobs", method="POST", body=b"x" * (LIMIT * 4), raise_error=False,
        headers={"Authorization": f"Bearer {api.token()}", "Content-Type": "application/json"})
    assert response.code == 413


@pytest.mark.gen_test(timeout=10)
async def test_body_limit_applies_before_authentication_and_the_server_keeps_serving(api, base_url):
    head = f"POST /test/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: {LIMIT + 1}\r\n\r\n"
    assert (await raw_exchange(base_url, head)).startswith(b"HTTP/1.1 413 ")
    assert (await api.get("/healthz")).status == 200
