"""A holder that stalled past its lease, whose job another process took over (queued again,
attempt 2), must not write anything once it wakes: not even a failure. Its failure path
(JobFailed, CommitRefused, crash, deadline) must name its attempt in that write, so the store refuses
it; it once looked the attempt up after the run's bookkeeping was gone and wrote ``failed`` over the
queued second run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.jobs.models import Job, JobStatus
from server.jobs.redis_store import RedisJobStore
from server.jobs.runner import JobRunner
from tests.jobs.test_redis_store import T0
from tests.waiting import settle, settle_on

LEASE = 2.0
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def here(redis_server, redis_prefix, io_loop):
    store = RedisJobStore(redis_server.url, prefix=redis_prefix, ttl_seconds=60, max_jobs=1000)
    io_loop.run_sync(store.start)
    yield store, JobRunner(store, lease_seconds=LEASE)  # no job types: it only takes over
    io_loop.run_sync(store.aclose)


@pytest.mark.parametrize("mode", ["fail", "commit"])
@pytest.mark.gen_test(timeout=90)
async def test_a_stalled_holder_does_not_fail_the_job_it_lost(here, redis_server, redis_prefix, tmp_path, mode):
    store, runner = here
    log = tmp_path / "worker.log"
    with open(log, "wb") as sink:
        worker = subprocess.Popen([sys.executable, "-m", "tests.jobs.stall_worker", redis_server.url,  # noqa: S603
                                   redis_prefix, str(tmp_path), str(LEASE), mode],
                                  cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=sink, stderr=sink)
    try:
        await settle(lambda: (tmp_path / "worker.started").exists(), timeout=60)
        await store.create(Job(job_id="j-stall", job_type="stall", owner_id="alice", metadata={},
                               created_at=T0, updated_at=T0))
        await settle(lambda: (tmp_path / "j-stall.ready").exists(), timeout=20)
        # The holder is stalled past its lease (judged on Redis's clock, from its last renewal).
        assert await settle_on(runner.take_over_lost, timeout=LEASE + 10) == 1
        taken = await store.get("j-stall")
        assert (taken.status, taken.attempt) == (JobStatus.PENDING, 2)
        (tmp_path / "j-stall.go").write_text("")  # the holder wakes up
        await asyncio.sleep(3)
        final = await store.get("j-stall")
        # Attempt 2 must survive: queued again, or running it in the worker (its slot is free again).
        assert final.status in (JobStatus.PENDING, JobStatus.RUNNING), (
            final.status, final.error_code, final.attempt, log.read_text()[-1500:])
    finally:
        worker.kill()
        worker.wait(10)
