"""``/healthz`` and ``/readyz``: public, readiness awaits registered checks and names providers."""

from __future__ import annotations

import asyncio

import pytest

from server.app import stop_jobs


@pytest.mark.gen_test(timeout=10)
async def test_healthz_is_public(api):
    reply = await api.get("/healthz", user=None)
    assert reply.status == 200 and reply.json == {"status": "ok"}


@pytest.mark.gen_test(timeout=10)
async def test_readyz_lists_checks_and_providers_never_keys(api, services):
    async def database() -> bool:
        return True

    services.readiness_checks["database"] = database
    services.describe_providers = lambda: {"call_analysis": "openai:gpt-4o-mini"}
    reply = await api.get("/readyz", user=None)
    assert reply.status == 200 and reply.json["status"] == "ready"
    assert reply.json["checks"] == {"store": "ok", "database": "ok"}
    assert reply.json["providers"] == {"call_analysis": "openai:gpt-4o-mini"}
    assert reply.json["accepting_jobs"] is True


@pytest.mark.gen_test(timeout=10)
async def test_readyz_is_503_when_a_check_fails_raises_or_hangs(api, services):
    async def down() -> bool:
        return False

    async def broken() -> bool:
        raise OSError("disk gone")

    async def hung() -> bool:
        await asyncio.sleep(60)
        return True

    services.readiness_checks.update({"database": down, "cache": broken})
    reply = await api.get("/readyz", user=None)
    assert reply.status == 503 and reply.json["status"] == "not_ready"
    assert reply.json["checks"] == {"store": "ok", "database": "failing", "cache": "failing"}
    services.readiness_checks.clear()
    services.readiness_checks["slow"] = hung
    reply = await api.get("/readyz", user=None, timeout=10)
    assert reply.status == 503 and reply.json["checks"]["slow"] == "failing"


@pytest.mark.gen_test(timeout=10)
async def test_readyz_is_503_once_shutdown_starts(api, services):
    await stop_jobs(services, 0)
    reply = await api.get("/readyz", user=None)
    assert reply.status == 503 and reply.json["accepting_jobs"] is False
    assert (await api.get("/healthz", user=None)).status == 200
