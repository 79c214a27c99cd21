"""Redis lost while the server runs: requests that need the store answer ``503 store_unavailable``
with ``Retry-After`` (never a 500 or a hang), ``/readyz`` fails, a running job goes on and writes
its result once Redis is back, and nothing stored is lost (Redis with an fsynced append-only file,
SIGKILLed and restarted on the same port)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from server.config import StoreSettings
from tests.jobs.conftest import Gates
from tests.jobs.redis_server import RedisServer, require_redis_server
from tests.waiting import settle


@pytest.fixture
def fragile_redis():
    server = RedisServer(require_redis_server(), persist=True).start()
    yield server
    server.cleanup()


@pytest.fixture
def settings(settings, fragile_redis, redis_prefix):
    return replace(settings, store=StoreSettings(url=fragile_redis.url, prefix=redis_prefix))


@pytest.fixture
def services(services, io_loop):
    io_loop.run_sync(services.store.start)
    return services


@pytest.mark.gen_test(timeout=60)
async def test_redis_lost_mid_run_answers_503_and_the_job_completes_when_it_is_back(api, services, fragile_redis,
                                                                                     gates: Gates):
    job = await services.runner.submit("gated", "alice", {}, {"gate": "g"})
    other = await services.runner.submit("echo", "alice", {}, {"value": 7})
    created = await api.get(f"/jobs/{job.job_id}")
    assert created.status == 200
    await settle(lambda: services.runner.running_count() == 1, timeout=10)
    fragile_redis.stop()
    lost = await api.get(f"/jobs/{job.job_id}", timeout=10)
    assert lost.status == 503 and lost.json["code"] == "store_unavailable" and lost.headers["Retry-After"]
    listing = await api.get("/jobs", timeout=10)
    assert listing.status == 503 and listing.json["code"] == "store_unavailable"
    assert (await api.get("/readyz", user=None, timeout=10)).status == 503
    gates.open("g")  # the job finishes while Redis is away: its final write waits for Redis
    fragile_redis.start()
    await settle(lambda: services.runner.running_count() == 0, timeout=20)
    done = await api.get(f"/jobs/{job.job_id}?wait=10&until=finished", timeout=20)
    assert done.status == 200 and done.json["status"] == "completed" and done.json["result"] == {"gate": "g"}
    earlier = await api.get(f"/jobs/{other.job_id}")
    assert earlier.status == 200 and earlier.json["result"]["echo"] == 7  # written before the loss, still there
    assert (await api.get("/readyz", user=None)).status == 200
