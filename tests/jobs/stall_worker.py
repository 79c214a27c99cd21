"""A job-runner process whose ``stall`` job blocks its whole event loop past its lease (a GC pause,
a Redis stall, SIGSTOP: the process hears nothing meanwhile), then fails or commits at once.

python -m tests.jobs.stall_worker URL PREFIX DIR LEASE MODE   (MODE: fail | commit)
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path
from typing import Any

from server.jobs.errors import JobFailed
from server.jobs.redis_store import RedisJobStore
from server.jobs.runner import JobContext, JobRunner


async def main(url: str, prefix: str, folder: Path, lease: float, mode: str) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    store = RedisJobStore(url, prefix=prefix, ttl_seconds=60, max_jobs=1000)
    await store.start()
    runner = JobRunner(store, lease_seconds=lease)

    async def stall(ctx: JobContext) -> dict[str, Any]:
        (folder / f"{ctx.job_id}.ready").write_text(str(ctx.attempt))
        if ctx.attempt > 1:
            await asyncio.Event().wait()  # the second run: keep running
        while not (folder / f"{ctx.job_id}.go").exists():
            time.sleep(0.01)  # the stall: the event loop is blocked, no renewal, no news heard
        if mode == "commit":
            await ctx.commit()  # refused (attempt 1 was taken over): CommitRefused
            return {"written": True}
        raise JobFailed("rate_limited", "The analysis service is busy")  # e.g. the provider call failed

    runner.register("stall", stall, concurrency=1)
    runner.start()
    (folder / "worker.started").write_text("1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), float(sys.argv[4]), sys.argv[5]))
