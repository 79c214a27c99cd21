"""1,000 concurrent job creations by 50 users through real HTTP: per-user limits hold, nothing is lost."""

from __future__ import annotations

import asyncio
import collections
import json
import socket

import pytest
from tornado.httpclient import AsyncHTTPClient

from server.__main__ import LISTEN_BACKLOG
from tests.waiting import settle

USERS = 50
PER_USER = 20
LIMIT = 10  # MAX_ACTIVE_JOBS_PER_USER default


@pytest.fixture
def _unused_port():
    """pytest-tornado's listening socket, with a backlog for 1,000 simultaneous connects (its default is 128,
    and the kernel resets connections beyond it); ``python -m server`` listens with the same backlog.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(LISTEN_BACKLOG)
    sock.setblocking(False)
    yield sock, sock.getsockname()[1]
    sock.close()


@pytest.mark.gen_test(timeout=60)
async def test_thousand_concurrent_creations_by_fifty_users(api, base_url, services, release_held):
    assert services.settings.jobs.max_active_per_user == LIMIT
    client = AsyncHTTPClient(force_instance=True, max_clients=USERS * PER_USER)
    tokens = {f"user{n}": api.token(f"user{n}") for n in range(USERS)}

    async def create(user: str):
        response = await client.fetch(f"{base_url}/test/jobs", method="POST", raise_error=False,
                                      body=json.dumps({"job_type": "held"}), request_timeout=30,
                                      headers={"Authorization": f"Bearer {tokens[user]}",
                                               "Content-Type": "application/json"})
        return user, response

    try:
        replies = await asyncio.gather(*(create(user) for user in tokens for _ in range(PER_USER)))
    finally:
        client.close()
    statuses = collections.Counter(response.code for _, response in replies)
    assert statuses == {202: USERS * LIMIT, 429: USERS * (PER_USER - LIMIT)}, statuses
    accepted: dict[str, list[str]] = collections.defaultdict(list)
    for user, response in replies:
        body = json.loads(response.body)
        if response.code == 202:
            accepted[user].append(body["job_id"])
        else:
            assert body["code"] == "too_many_active_jobs" and response.headers["Retry-After"]
    assert all(len(ids) == LIMIT for ids in accepted.values()) and len(accepted) == USERS
    every_id = [job_id for ids in accepted.values() for job_id in ids]
    assert len(set(every_id)) == USERS * LIMIT == len(services.store)  # nothing lost, nothing extra
    for user, ids in accepted.items():
        assert all(services.store._jobs[job_id].owner_id == user for job_id in ids)
        assert services.runner.active_count(user) == LIMIT

    release_held.set()
    await settle(lambda: all(services.store._jobs[job_id].is_terminal for job_id in every_id), timeout=20)
    assert all(services.store._jobs[job_id].status.value == "completed" for job_id in every_id)
    assert all(services.runner.active_count(user) == 0 for user in tokens)
    again = await api.post("/test/jobs", user="user7", body={"job_type": "quick"})
    assert again.status == 202
    listed = await api.get("/jobs?limit=200", user="user7")
    assert listed.json["count"] == LIMIT + 1
