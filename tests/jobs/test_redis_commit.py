"""The commit point across real processes on one Redis (issue 13: "a job's result write-back to the
case happens at most once per successful attempt").

A worker process (``tests.jobs.commit_worker``) runs ``probe`` jobs that reach ``ctx.commit()`` when
the test says so; this test process is the other process: it cancels, takes over and reads through
its own store and runner on the same Redis. The worker's job function deliberately ignores task
cancellation before its commit point, so the store's guard alone decides each race.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from server.error_codes import ErrorCode
from server.errors import Conflict
from server.jobs.models import Job, JobStatus
from server.jobs.redis_store import RedisJobStore
from server.jobs.runner import JobRunner
from tests.jobs.test_redis_store import T0
from tests.waiting import settle, settle_on

LEASE = 2.0
ROOT = Path(__file__).resolve().parents[2]


class Worker:
    """The job-running process; ``path(job_id, step)`` names the files it and the test exchange."""

    def __init__(self, url: str, prefix: str, folder: Path):
        self.folder = folder
        self.log = folder / "worker.log"
        with open(self.log, "wb") as sink:
            self.process = subprocess.Popen(  # noqa: S603  (our own argument list)
                [sys.executable, "-m", "tests.jobs.commit_worker", url, prefix, str(folder), str(LEASE)],
                cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=sink, stderr=sink)

    def path(self, job_id: str, step: str) -> Path:
        return self.folder / f"{job_id}.{step}"

    async def reached(self, job_id: str, step: str, timeout: float = 20) -> None:
        """Wait for the job function's file ``step``; the failure shows the worker's log."""
        try:
            await settle(lambda: self.path(job_id, step).exists(), timeout=timeout)
        except AssertionError:
            raise AssertionError(f"{job_id} did not reach {step}: {self.log.read_text()[-3000:]}") from None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


@pytest.fixture
def here(redis_server, redis_prefix, io_loop):
    """This process's store and runner (no job types: it never runs a job itself)."""
    store = RedisJobStore(redis_server.url, prefix=redis_prefix, ttl_seconds=60, max_jobs=1000)
    io_loop.run_sync(store.start)
    yield store, JobRunner(store, lease_seconds=LEASE)
    io_loop.run_sync(store.aclose)


@pytest.fixture
def worker(redis_server, redis_prefix, tmp_path):
    process = Worker(redis_server.url, redis_prefix, tmp_path)
    yield process
    process.stop()


async def running_probe(store: RedisJobStore, worker: Worker, job_id: str) -> Job:
    """Queue a ``probe`` job and wait until the worker process runs it."""
    await settle(lambda: (worker.folder / "worker.started").exists(), timeout=60)
    await store.create(Job(job_id=job_id, job_type="probe", owner_id="alice", metadata={}, created_at=T0,
                           updated_at=T0))
    await worker.reached(job_id, "ready")
    job = await store.get(job_id)
    assert job is not None and job.status is JobStatus.RUNNING
    return job


@pytest.mark.gen_test(timeout=90)
async def test_cancel_from_another_process_before_the_commit_point_means_nothing_is_written(here, worker):
    store, runner = here
    await running_probe(store, worker, "j-cancel-first")
    cancelled = await runner.cancel("j-cancel-first")
    assert cancelled.status is JobStatus.FAILED and cancelled.error_code == "cancelled"
    worker.path("j-cancel-first", "go").write_text("")  # the job function goes on to its commit point anyway
    await worker.reached("j-cancel-first", "refused")
    assert not worker.path("j-cancel-first", "written").exists()
    final = await store.get("j-cancel-first")
    assert final is not None and (final.error_code, final.version) == ("cancelled", cancelled.version)


@pytest.mark.gen_test(timeout=90)
async def test_after_the_commit_point_a_cancel_from_another_process_is_409_and_the_job_completes(here, worker):
    store, runner = here
    await running_probe(store, worker, "j-commit-first")
    heard: list[JobStatus] = []
    store.subscribe("j-commit-first", lambda job: heard.append(job.status))
    worker.path("j-commit-first", "go").write_text("")
    await worker.reached("j-commit-first", "written")
    with pytest.raises(Conflict) as refused:
        await runner.cancel("j-commit-first")
    assert refused.value.code == "already_finished"
    worker.path("j-commit-first", "finish").write_text("")
    await settle(lambda: JobStatus.COMPLETED in heard, timeout=10)
    final = await store.get("j-commit-first")
    assert final is not None and final.status is JobStatus.COMPLETED and final.error_code is None
    assert worker.path("j-commit-first", "written").read_text() == "1\n"


@pytest.mark.gen_test(timeout=90)
async def test_a_job_lost_while_committing_fails_instead_of_running_again(here, worker):
    store, runner = here
    await running_probe(store, worker, "j-lost")
    worker.path("j-lost", "go").write_text("")
    await worker.reached("j-lost", "written")
    worker.process.send_signal(signal.SIGKILL)
    worker.process.wait(10)
    assert await settle_on(runner.take_over_lost, timeout=LEASE + 10) == 1  # once its lease ran out
    final = await store.get("j-lost")
    assert final is not None and final.status is JobStatus.FAILED
    lost_message = ErrorCode.INTERRUPTED.job_error("while_saving")
    assert (final.error_code, final.error, final.attempt) == ("interrupted", lost_message, 1)
    assert await store.claim("probe", worker="other", lease_until=1e10) is None  # not queued for a second run


@pytest.mark.gen_test(timeout=90)
async def test_a_stalled_holder_whose_job_was_taken_over_writes_nothing(here, worker):
    """Issue 13's "a Redis stall longer than the lease": modelled by stopping the holder (SIGSTOP)
    past its lease, so another process takes the job over while the holder is still alive."""
    store, runner = here
    await running_probe(store, worker, "j-stall")
    worker.process.send_signal(signal.SIGSTOP)
    try:
        assert await settle_on(runner.take_over_lost, timeout=LEASE + 10) == 1  # once its lease ran out
        # Read while the holder is still stopped: once resumed, it may claim attempt 2 at once.
        taken = await store.get("j-stall")
        assert taken is not None and (taken.status, taken.attempt) == (JobStatus.PENDING, 2)
    finally:
        worker.process.send_signal(signal.SIGCONT)
    worker.path("j-stall", "go").write_text("")  # the old holder wakes and tries to commit attempt 1
    await worker.reached("j-stall", "refused")
    assert worker.path("j-stall", "refused").read_text() == "1"
    # The worker then runs attempt 2 (the job was queued again), which commits: one write, by attempt 2.
    worker.path("j-stall", "finish").write_text("")
    await worker.reached("j-stall", "written")
    heard: list[Job] = []
    store.subscribe("j-stall", heard.append)
    final = await store.get("j-stall")
    if final is not None and not final.is_terminal:
        await settle(lambda: any(job.is_terminal for job in heard), timeout=10)
        final = heard[-1]
    assert final is not None and (final.status, final.attempt) == (JobStatus.COMPLETED, 2)
    assert worker.path("j-stall", "written").read_text() == "2\n"
