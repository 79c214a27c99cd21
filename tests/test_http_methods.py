"""HEAD on every GET route and ``Allow`` on every 405, walking the route table (issue 16, item 5).

HEAD is mandatory for a resource that answers GET (RFC 9110 §9.3.2): the same status and headers,
no body. A 405 must say which methods the resource answers (RFC 9110 §15.5.6).
"""

from __future__ import annotations

import re

import pytest
from tornado.httpclient import AsyncHTTPClient

from server.app import UUID_PATTERN, routes
from server.web import ApiHandler
from tests.waiting import settle

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
UNKNOWN_ID = "0190b5d2-0000-7000-8000-000000000000"
VARYING = {"date", "content-length", "etag"}  # compared apart (Content-Length) or per answer (Date)


async def real_ids(api, services) -> dict[str, str]:
    """A case with a transcript and a finished call analysis of it, so GETs answer 200."""
    case = await api.post("/cases", body={"title": "Methods", "call_details": {"transcript": "Hello", "messages": []}})
    assert case.status == 201, case.json
    case_id = case.json["case_id"]
    job = await api.post(f"/vapi/re-analyze-call/{case_id}", body={})
    assert job.status == 202, job.json
    job_id = job.json["job_id"]
    await settle(lambda: services.store._jobs[job_id].is_terminal, timeout=20)
    return {"cases": case_id, "re-analyze-call": case_id, "jobs": job_id, "documents": UNKNOWN_ID}


def concrete(pattern: str, ids: dict[str, str]) -> str:
    """The route pattern with each id group replaced by the id its preceding segment names."""
    def replace(match: re.Match[str]) -> str:
        segment = match.string[:match.start()].rstrip("/").rsplit("/", 1)[-1]
        return ids.get(segment, UNKNOWN_ID)
    return re.sub(re.escape(UUID_PATTERN), replace, pattern.rstrip("$"))


def table(services):
    return [(pattern, handler) for pattern, handler, _ in routes(services) if issubclass(handler, ApiHandler)]


@pytest.mark.gen_test(timeout=60)
async def test_head_on_every_get_route_has_the_get_status_and_headers_without_a_body(api, services):
    ids = await real_ids(api, services)
    checked = 0
    for pattern, handler in table(services):
        if "GET" not in handler.allowed_methods():
            continue
        path = concrete(pattern, ids)
        get = await api.get(path)
        head = await api.request("HEAD", path)
        assert head.status == get.status, (pattern, get.status, head.status)
        assert head.body == b"", pattern
        get_names = {name.lower() for name in get.headers} - VARYING
        head_names = {name.lower() for name in head.headers} - VARYING
        assert head_names == get_names - {"transfer-encoding"}, pattern
        if "Content-Length" in head.headers and pattern != "/metrics":  # the metrics change between requests
            assert head.headers["Content-Length"] == str(len(get.body)), pattern
        if get.status == 200:
            checked += 1
    assert checked >= 8  # the real ids made most of them 200, not only 404s


@pytest.mark.gen_test(timeout=60)
async def test_every_405_carries_allow_with_the_methods_the_route_answers(api, services):
    ids = await real_ids(api, services)
    for pattern, handler in table(services):
        path = concrete(pattern, ids)
        allowed = handler.allowed_methods()
        assert "GET" not in allowed or "HEAD" in allowed, pattern
        for method in METHODS:
            if method in allowed:
                continue
            reply = await api.request(method, path, body=b"{}" if method in ("POST", "PUT", "PATCH") else None)
            assert reply.status == 405, (method, pattern, reply.status)
            assert reply.headers["Allow"] == ", ".join(allowed), (method, pattern)
            if method != "HEAD":  # a HEAD answer has no body
                assert reply.json["code"] == "method_not_allowed", (method, pattern)


@pytest.mark.gen_test(timeout=20)
async def test_a_method_tornado_does_not_know_is_405_with_allow(api, base_url):
    reply = await AsyncHTTPClient().fetch(f"{base_url}/jobs", method="TRACE", raise_error=False,
                                          allow_nonstandard_methods=True)
    assert reply.code == 405 and reply.headers["Allow"] == "GET, HEAD"


@pytest.mark.gen_test(timeout=20)
async def test_head_of_a_long_poll_answers_at_once(api, services):
    ids = await real_ids(api, services)
    job = services.store._jobs[ids["jobs"]]
    reply = await api.request("HEAD", f"/jobs/{job.job_id}?wait=20", headers={"If-None-Match": job.etag}, timeout=5)
    assert reply.status == 304 and reply.headers["ETag"] == job.etag
    assert services.waiters.open_count == 0


@pytest.mark.gen_test(timeout=30)
async def test_error_in_prepare_announces_the_close_and_a_keep_alive_client_goes_on(api):
    # Adversarial review: a 401/405/400 raised in prepare closed the keep-alive connection without
    # saying so, and httpx's next request on it failed with "Connection reset by peer" (36 of 100).
    import httpx

    async with httpx.AsyncClient(base_url=api.base_url, timeout=10) as client:
        for _ in range(20):
            expired = await client.get("/jobs", headers={"Authorization": "Bearer not-a-token"})
            assert expired.status_code == 401 and expired.headers.get("Connection") == "close"
            created = await client.post("/cases", json={"title": "After a 401"},
                                        headers={"Authorization": f"Bearer {api.token()}"})
            assert created.status_code == 201 and created.headers.get("Connection") != "close"
