"""Issue 5 benchmark: how fast clients learn of a change, and what waiting costs.

1. Detection latency (job completion -> client knows) for 2-second polling, long-poll and SSE,
   with requests made per job.
2. With 10,000 concurrent long-polls on distinct jobs: latency from a change to its waiter, against
   the same with 10 waiters; resident memory per waiter.
3. Conditional-GET (304) poll throughput against full-body poll throughput.

    python bench/bench_push.py [--jobs 60] [--waiters 10000] [--changes 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from datetime import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (  # noqa: E402
    Connection,
    percentiles,
    raise_fd_limit,
    read_sse_until_terminal,
    rss_kib,
    start_server,
    token,
    wrk_rps,
)


def completed_epoch(job: dict) -> float:
    return datetime.fromisoformat(job["completed_at"].replace("Z", "+00:00")).timestamp()


async def control(port: int, path: str) -> dict:
    connection = await Connection.open(port)
    response = await connection.request(path, method="POST")
    connection.close()
    return json.loads(response.body)


async def follow_by_polling(port: int, job_id: str, headers: dict) -> tuple[float, int]:
    connection = await Connection.open(port)
    await asyncio.sleep(random.uniform(0, 2))  # noqa: S311 (clients start out of phase)
    requests = 0
    while True:
        response = await connection.request(f"/jobs/{job_id}", headers)
        requests += 1
        job = json.loads(response.body)
        if job["status"] in ("completed", "failed"):
            connection.close()
            return time.time() - completed_epoch(job), requests
        await asyncio.sleep(2)


async def follow_by_long_poll(port: int, job_id: str, headers: dict) -> tuple[float, int]:
    connection = await Connection.open(port)
    requests = 0
    while True:
        response = await connection.request(f"/jobs/{job_id}?wait=25&until=finished", headers)
        requests += 1
        job = json.loads(response.body)
        if job["status"] in ("completed", "failed"):
            connection.close()
            return time.time() - completed_epoch(job), requests


async def follow_by_sse(port: int, job_id: str, headers: dict) -> tuple[float, int]:
    job = await read_sse_until_terminal(port, f"/jobs/{job_id}/events", headers)
    return time.time() - completed_epoch(job), 1


async def detection(port: int, headers: dict, jobs: int) -> dict:
    results = {}
    for name, follow in (("poll_2s", follow_by_polling), ("long_poll", follow_by_long_poll),
                         ("sse", follow_by_sse)):
        ids = (await control(port, f"/bench/timed?n={jobs}"))["ids"]
        outcomes = await asyncio.gather(*(follow(port, job_id, headers) for job_id in ids))
        stats = percentiles([max(0.0, latency) for latency, _ in outcomes])
        stats["requests_per_job"] = sum(requests for _, requests in outcomes) / len(outcomes)
        results[name] = {k: round(v, 3) for k, v in stats.items()}
    return results


async def hold_long_poll(port: int, job_id: str, headers: dict, opened: asyncio.Event | None,
                         done: dict[str, float]) -> None:
    connection = await Connection.open(port)
    try:
        while True:
            if opened is not None:
                opened.set()
            response = await connection.request(f"/jobs/{job_id}?wait=25&until=finished", headers)
            if json.loads(response.body)["status"] == "completed":
                done[job_id] = time.perf_counter()
                return
    finally:
        connection.close()


async def park(port: int, pid: int, headers: dict, count: int) -> tuple[list[str], dict[str, float], list, float]:
    """Create ``count`` gated jobs and park one long-poll on each; returns once the server holds them
    all, with the server's resident memory per parked long-poll (bytes; the jobs themselves excluded)."""
    ids = (await control(port, f"/bench/gated?n={count}"))["ids"]
    await asyncio.sleep(0.5)
    rss_before = rss_kib(pid)
    done: dict[str, float] = {}
    tasks = []
    for batch_start in range(0, count, 500):
        for job_id in ids[batch_start:batch_start + 500]:
            tasks.append(asyncio.ensure_future(hold_long_poll(port, job_id, headers, None, done)))
        await asyncio.sleep(0.05)
    while (await control(port, "/bench/waiters"))["open"] < count:
        await asyncio.sleep(0.2)
    await asyncio.sleep(1)
    return ids, done, tasks, (rss_kib(pid) - rss_before) * 1024 / count


async def release_and_time(port: int, ids: list[str], done: dict[str, float]) -> list[float]:
    """Release each job in turn; time from the release request to its waiter's answer (seconds)."""
    releaser = await Connection.open(port)
    latencies = []
    for job_id in ids:
        sent = time.perf_counter()
        await releaser.request(f"/bench/release/{job_id}", method="POST")
        while job_id not in done:
            await asyncio.sleep(0.0002)
        latencies.append(done[job_id] - sent)
    releaser.close()
    return latencies


async def change_latency(port: int, pid: int, headers: dict, waiters: int, changes: int) -> dict:
    """Latency of one change to its waiter while ``waiters`` long-polls are open; rounds are repeated
    until ``changes`` samples exist (10 waiters give 10 samples a round)."""
    latencies: list[float] = []
    rss_per_waiter = []
    while len(latencies) < changes:
        ids, done, tasks, per_waiter = await park(port, pid, headers, waiters)
        rss_per_waiter.append(per_waiter)
        sample = random.sample(ids, min(changes - len(latencies), waiters))  # noqa: S311
        latencies += await release_and_time(port, sample, done)
        for job_id in ids:
            await control(port, f"/bench/release/{job_id}")  # finish the round's other jobs
        await asyncio.gather(*tasks, return_exceptions=True)
    stats = {k: round(v, 3) for k, v in percentiles(latencies).items()}
    stats["rss_per_waiter_bytes"] = round(rss_per_waiter[0])
    return stats


async def run(args: argparse.Namespace) -> dict:
    raise_fd_limit()
    env = {"LONGPOLL_MAX_PER_USER": str(args.waiters * 2), "LONGPOLL_MAX_TOTAL": str(args.waiters * 2),
           "MAX_ACTIVE_JOBS_PER_USER": str(args.waiters * 3)}
    process, ready = start_server("bench_server.py", env=env)
    port = ready["port"]
    headers = {"Authorization": f"Bearer {token('bench')}"}
    try:
        results: dict = {"detection_latency": await detection(port, headers, args.jobs)}
        results["change_to_waiter_10"] = await change_latency(port, process.pid, headers, 10, args.changes)
        results[f"change_to_waiter_{args.waiters}"] = await change_latency(port, process.pid, headers,
                                                                           args.waiters, args.changes)
        job_id = (await control(port, "/bench/timed?n=1"))["ids"][0]
        await asyncio.sleep(4.5)
        etag = (await (await Connection.open(port)).request(f"/jobs/{job_id}", headers)).headers["etag"]
        path = f"/jobs/{job_id}"
        results["poll_throughput_rps"] = {
            "full_body_200": wrk_rps(port, path, headers, 5),
            "not_modified_304": wrk_rps(port, path, {**headers, "If-None-Match": etag}, 5),
        }
        return results
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=60, help="jobs followed per strategy")
    parser.add_argument("--waiters", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=200)
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
