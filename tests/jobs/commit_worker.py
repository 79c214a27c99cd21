"""A job-runner process for the cross-process commit-point tests (``test_redis_commit.py``).

``python -m tests.jobs.commit_worker REDIS_URL PREFIX DIR LEASE`` runs a ``JobRunner`` on the
Redis store with one job type, ``probe``. Its job function talks to the test through files in DIR:
it writes ``<id>.ready`` once running, waits for ``<id>.go`` (ignoring task cancellation, so it
reaches its commit point even after a cancel or takeover it has heard of: the race under test),
then calls ``ctx.commit()``. Granted: it writes ``<id>.written`` (the irreversible side effect),
waits for ``<id>.finish`` and returns. Refused (or stopped during the call by the runner, which
heard of the cancel or takeover meanwhile): it writes ``<id>.refused`` and stops.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

from server.jobs.redis_store import RedisJobStore
from server.jobs.runner import CommitRefused, JobContext, JobRunner


def publish(path: Path, text: str) -> None:
    """Write ``path`` whole at once (written aside, then renamed): the test polls for the file and
    reads it as soon as it exists, so it must never see it created but still empty."""
    aside = path.with_name(path.name + ".part")
    aside.write_text(text)
    os.replace(aside, path)


async def wait_file(path: Path) -> None:
    """Wait until ``path`` exists, finishing the wait even when the task is cancelled meanwhile."""
    while not path.exists():
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            continue


async def main(url: str, prefix: str, folder: Path, lease: float) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    store = RedisJobStore(url, prefix=prefix, ttl_seconds=60, max_jobs=1000)
    await store.start()
    runner = JobRunner(store, lease_seconds=lease)

    async def probe(ctx: JobContext) -> dict[str, Any]:
        publish(folder / f"{ctx.job_id}.ready", str(ctx.attempt))
        await wait_file(folder / f"{ctx.job_id}.go")
        try:
            await ctx.commit()
        except (CommitRefused, asyncio.CancelledError):  # refused, or stopped by the news of the cancel
            publish(folder / f"{ctx.job_id}.refused", str(ctx.attempt))
            raise
        written = folder / f"{ctx.job_id}.written"  # appended to: a second write would show
        publish(written, (written.read_text() if written.exists() else "") + f"{ctx.attempt}\n")
        await wait_file(folder / f"{ctx.job_id}.finish")
        return {"written": True}

    runner.register("probe", probe)
    runner.start()
    publish(folder / "worker.started", "1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), float(sys.argv[4])))
