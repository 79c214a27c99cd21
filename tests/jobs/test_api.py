"""The polling API of the seed through real HTTP: GET /jobs/{id}, GET /jobs, cancel."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest

from server.clock import utcnow
from server.pagination import decode_cursor
from server.services import Services
from tests.jobs.conftest import Gates
from tests.waiting import settle

SEED_FIELDS = {"job_id", "job_type", "status", "metadata", "result", "error", "created_at", "started_at",
               "completed_at", "progress", "progress_message"}
ADDED_FIELDS = {"version", "updated_at", "error_code", "queue_position", "attempt", "progress_code",
                "progress_params"}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


async def finished(services: Services, job_id: str) -> None:
    await settle(lambda: services.store._jobs[job_id].is_terminal)


@pytest.mark.gen_test(timeout=10)
async def test_get_job_completed_has_seed_shape_and_result(api, services):
    job = await services.runner.submit("echo", "alice", {"case_id": "c1", "user_id": "alice"}, {"value": "hi"})
    await finished(services, job.job_id)
    reply = await api.get(f"/jobs/{job.job_id}")
    assert reply.status == 200
    body = reply.json
    assert set(body) == SEED_FIELDS | ADDED_FIELDS
    assert body["status"] == "completed" and body["result"] == {"echo": "hi", "case_id": "c1"}
    assert body["progress"] == 100 and body["progress_message"] == "Completed"
    assert body["error"] is None and body["error_code"] is None and body["queue_position"] is None
    for name in ("created_at", "started_at", "completed_at", "updated_at"):
        assert TIMESTAMP.match(body[name]), body[name]
    assert body["version"] >= 4  # created, running, progress, completed
    assert reply.headers["Cache-Control"] == "no-store"
    assert "Retry-After" not in reply.headers
    assert reply.headers["ETag"] == f'"{job.job_id}.{body["version"]}"'


@pytest.mark.gen_test(timeout=10)
async def test_get_job_running_has_retry_after_and_progress(api, services, gates: Gates):
    job = await services.runner.submit("gated", "alice", {}, {"gate": "g"})
    await settle(lambda: services.store._jobs[job.job_id].progress == 10)
    reply = await api.get(f"/jobs/{job.job_id}")
    assert reply.json["status"] == "running" and reply.json["progress_message"] == "Waiting at the gate"
    assert reply.headers["Retry-After"] == "2"
    assert reply.json["completed_at"] is None and reply.json["started_at"] is not None
    gates.open("g")
    await finished(services, job.job_id)


@pytest.mark.gen_test(timeout=10)
async def test_get_job_if_none_match_current_etag_is_304(api, services):
    job = await services.runner.submit("echo", "alice", {})
    await finished(services, job.job_id)
    first = await api.get(f"/jobs/{job.job_id}")
    again = await api.get(f"/jobs/{job.job_id}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304 and again.body == b""
    stale = await api.get(f"/jobs/{job.job_id}", headers={"If-None-Match": f'"{job.job_id}.1"'})
    assert stale.status == 200


@pytest.mark.gen_test(timeout=10)
async def test_get_job_of_another_user_is_404_like_unknown(api, services):
    job = await services.runner.submit("echo", "alice", {})
    theirs = await api.get(f"/jobs/{job.job_id}", user="mallory")
    unknown = await api.get(f"/jobs/{uuid.uuid4()}", user="mallory")
    assert theirs.status == unknown.status == 404
    assert theirs.body == unknown.body
    assert theirs.json == {"detail": "Job not found", "code": "not_found"}
    admin = await api.get(f"/jobs/{job.job_id}", user="root", admin=True)
    assert admin.status == 200


@pytest.mark.gen_test(timeout=10)
async def test_get_job_malformed_id_is_400(api):
    reply = await api.get("/jobs/not-a-uuid")
    assert reply.status == 400 and reply.json["code"] == "invalid_job_id"


@pytest.mark.gen_test(timeout=10)
async def test_get_job_minted_before_start_is_server_restarted(api, services):
    old_v7 = "0180a0b0-0000-7000-8000-000000000000"  # a UUIDv7 from 2022
    reply = await api.get(f"/jobs/{old_v7}")
    assert reply.status == 404 and reply.json["code"] == "server_restarted"


@pytest.mark.gen_test(timeout=10)
async def test_failed_job_has_user_safe_error_and_code(api, services):
    failing = await services.runner.submit("failing", "alice", {})
    crashing = await services.runner.submit("crashing", "alice", {})
    await finished(services, failing.job_id)
    await finished(services, crashing.job_id)
    one = (await api.get(f"/jobs/{failing.job_id}")).json
    assert one["status"] == "failed" and one["error_code"] == "rate_limited"
    assert one["error"] == "The analysis service is busy. Please try again later."
    two = await api.get(f"/jobs/{crashing.job_id}")
    assert two.json["status"] == "failed" and two.json["error_code"] == "internal"
    assert b"secret-token-123" not in two.body and b"Moshe" not in two.body and b"Traceback" not in two.body
    assert two.json["completed_at"] is not None


@pytest.mark.gen_test(timeout=10)
async def test_list_jobs_only_own_newest_first_with_filters(api, services):
    ids = []
    for n in range(3):
        job = await services.runner.submit("echo", "alice", {"case_id": f"case-{n % 2}"})
        ids.append(job.job_id)
    other = await services.runner.submit("failing", "bob", {})
    for job_id in ids + [other.job_id]:
        await finished(services, job_id)
    reply = await api.get("/jobs")
    assert reply.status == 200
    assert [j["job_id"] for j in reply.json["jobs"]] == ids[::-1]
    assert reply.json["count"] == 3 and reply.json["next_cursor"] is None
    by_case = await api.get("/jobs?case_id=case-0")
    assert [j["job_id"] for j in by_case.json["jobs"]] == [ids[2], ids[0]]
    admin = await api.get("/jobs?status=failed", user="root", admin=True)
    assert [j["job_id"] for j in admin.json["jobs"]] == [other.job_id]
    typed = await api.get("/jobs?job_type=failing")
    assert typed.json["jobs"] == []


@pytest.mark.gen_test(timeout=10)
async def test_list_jobs_pagination_walks_every_job_once(api, services):
    ids = [(await services.runner.submit("echo", "alice", {})).job_id for _ in range(7)]
    for job_id in ids:
        await finished(services, job_id)
    seen, cursor = [], None
    while True:
        path = "/jobs?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = (await api.get(path)).json
        seen += [j["job_id"] for j in page["jobs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]


@pytest.mark.gen_test(timeout=10)
async def test_list_jobs_page_cursor_reveals_nothing_of_other_users(api, services):
    ids = [(await services.runner.submit("echo", "alice", {})).job_id for _ in range(3)]
    first = (await api.get("/jobs?limit=2")).json
    for _ in range(5):
        await services.runner.submit("echo", "bob", {})
    again = (await api.get("/jobs?limit=2")).json
    assert first["next_cursor"] == again["next_cursor"]  # bob's activity does not move alice's cursor
    assert decode_cursor(first["next_cursor"]) == ids[1]  # it names a job alice was just shown, nothing more
    rest = (await api.get(f"/jobs?limit=2&cursor={first['next_cursor']}")).json
    assert [j["job_id"] for j in rest["jobs"]] == [ids[0]]
    other_user = await api.get(f"/jobs?limit=2&cursor={first['next_cursor']}", user="bob")
    assert other_user.status == 410 and other_user.json["code"] == "cursor_expired"


@pytest.mark.gen_test(timeout=10)
async def test_list_jobs_page_cursor_of_an_expired_job_is_410(api, services):
    for _ in range(3):
        await finished(services, (await services.runner.submit("echo", "alice", {})).job_id)
    cursor = (await api.get("/jobs?limit=2")).json["next_cursor"]
    await services.store.expire(utcnow() + timedelta(days=365))
    reply = await api.get(f"/jobs?limit=2&cursor={cursor}")
    assert reply.status == 410 and reply.json["code"] == "cursor_expired" and reply.json["detail"]


@pytest.mark.parametrize("query,code", [
    ("limit=0", "invalid_limit"), ("limit=201", "invalid_limit"), ("limit=ten", "invalid_limit"),
    ("status=done", "invalid_status"), ("job_type=nope", "invalid_job_type"), ("cursor=%%%", "invalid_cursor"),
])
@pytest.mark.gen_test(timeout=10)
async def test_list_jobs_bad_query_is_400(api, query, code):
    reply = await api.get(f"/jobs?{query}")
    assert reply.status == 400 and reply.json["code"] == code and reply.json["detail"]


@pytest.mark.gen_test(timeout=10)
async def test_unknown_route_is_json_404(api):
    reply = await api.get("/nope", user=None)
    assert reply.status == 404 and reply.json["code"] == "no_route"
