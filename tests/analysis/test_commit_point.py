"""The analyses' write-back after the commit point (``server.analysis.jobs._commit``) runs to completion:
a deadline firing during the write is absorbed, and so is a shutdown cancelling the job again after it
(the second cancellation once reached the write itself, and the job ended failed/timeout after its
side effect had begun)."""

from __future__ import annotations

import asyncio

import pytest

from server.analysis.jobs import _commit
from server.jobs.memory_store import MemoryJobStore
from server.jobs.models import JobStatus
from server.jobs.runner import JobRunner


@pytest.mark.gen_test(timeout=20)
async def test_a_write_past_the_commit_point_survives_a_deadline_then_a_shutdown():
    store = MemoryJobStore(ttl_seconds=60, max_jobs=100)
    runner = JobRunner(store, timeout_seconds=0.3)
    writing, release = asyncio.Event(), asyncio.Event()
    writes: list[str] = []

    async def slow_write():  # e.g. the case row is locked by another writer for a while
        writing.set()
        await release.wait()
        writes.append("done")
        return object()

    async def job(ctx):
        await _commit(ctx, slow_write)
        return {"saved": True}

    runner.register("save", job)
    submitted = await runner.submit("save", "alice", {})
    await writing.wait()
    await asyncio.sleep(0.5)  # the 0.3 s deadline fires during the write: the first cancellation
    stopping = asyncio.ensure_future(runner.shutdown(grace_seconds=0))  # SIGTERM: the second one
    await asyncio.sleep(0.1)
    release.set()
    await stopping
    final = await store.get(submitted.job_id)
    assert writes == ["done"]
    assert (final.status, final.result_json) == (JobStatus.COMPLETED, '{"saved":true}'), final.error_code
