"""The Redis job store side by side with the memory store (issue 13), in one run on this machine.

1. Poll throughput and p99 (closed loop, Python generator: wrk is not installed here) of
   ``GET /jobs/{id}`` on finished jobs with 2 KB results: memory store, Redis with one process,
   Redis with two processes (two server processes on one Redis, the load split over both, as a
   router would); the three run side by side and are polled in turns (``--rounds``), and each
   round gives its own Redis / memory ratio.
2. Change-to-waiter latency across processes: N long-polls (default 10,000) split over processes A
   and B; each job is cancelled through the other process; latency from that answer to the
   long-poll's answer.
3. Redis memory per stored job: ``INFO memory`` ``used_memory`` delta / jobs, 2 KB results (English
   prose, and letters drawn at random), with ``MEMORY USAGE`` per kind of key (``structures``: bytes
   per job; a structure's own overhead, not the keyspace's table). ``--only memory`` runs this part
   alone (a few seconds; bytes do not depend on the machine's load).

Takeover time after SIGKILL is measured by ``tests/jobs/test_redis_processes.py`` (it prints it).
Starts its own ``redis-server`` on a free port. Run: ``python bench/bench_redis.py [--seconds 5]``
(``--only memory`` or ``--only throughput``: that part alone).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROOT = Path(__file__).resolve().parents[1]

from harness import Connection, free_port, percentiles, start_server, token  # noqa: E402


def start_redis() -> tuple[subprocess.Popen, str, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server not found: apt-get install redis-server")
    port, directory = free_port(), tempfile.mkdtemp(prefix="bench-redis-")
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",  # noqa: S603
                                "--appendonly", "no", "--dir", directory], stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    return process, f"redis://127.0.0.1:{port}/0", directory


def control(port: int, path: str, timeout: float = 600) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


async def closed_loop(ports: list[int], paths: list[str], headers: dict[str, str], seconds: float,
                      connections: int = 32) -> tuple[list[float], float]:
    """``connections`` keep-alive connections spread over ``ports``, each sending its next request
    when the last is answered, for ``seconds``; returns (latencies in seconds, elapsed seconds)."""
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        connection = await Connection.open(ports[offset % len(ports)])
        index = offset
        while time.perf_counter() < stop:
            sent = time.perf_counter()
            await connection.request(paths[index % len(paths)], headers)
            latencies.append(time.perf_counter() - sent)
            index += connections
        connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(connections)))
    return latencies, time.perf_counter() - started


async def read_each_once(ports: list[int], paths: list[str], headers: dict[str, str]) -> None:
    """Request every path once from every port: a Redis-backed process then holds the finished jobs
    in its cache, as it does after their first poll in service (otherwise the first measured round
    pays for the cache's fill and the others do not)."""
    for port in ports:
        connection = await Connection.open(port)
        for path in paths:
            await connection.request(path, headers)
        connection.close()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes ``pids`` used so far (``/proc``: Linux)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def poll_throughput(ports: list[int], ids: list[str], seconds: float, pids: list[int]) -> dict:
    """Closed-loop polls; ``cpu_us_per_poll`` is the server processes' (``pids``) CPU time per poll,
    which the machine's load does not change the way it changes the request rate."""
    paths = [f"/jobs/{job_id}" for job_id in ids]
    headers = {"Authorization": f"Bearer {token('bench-admin', admin=True)}"}
    await read_each_once(ports, paths, headers)  # steady state: every process has read every job once
    await closed_loop(ports, paths, headers, 1)  # warm-up
    used = cpu_seconds(pids)
    latencies, elapsed = await closed_loop(ports, paths, headers, seconds)
    used = cpu_seconds(pids) - used
    stats = percentiles(latencies)
    return {"rps": round(len(latencies) / elapsed), "p99_ms": round(stats["p99_ms"], 2),
            "p50_ms": round(stats["p50_ms"], 2), "cpu_us_per_poll": round(used / len(latencies) * 1e6)}


async def queued_jobs(url: str, prefix: str, count: int) -> list[str]:
    """``count`` pending jobs of a type no server runs (they stay queued), created straight in Redis."""
    from server.clock import utcnow
    from server.jobs.ids import new_job_id
    from server.jobs.models import Job
    from server.jobs.redis_store import RedisJobStore

    store = RedisJobStore(url, prefix=prefix, ttl_seconds=3600, max_jobs=1_000_000)
    ids = []
    for _ in range(count):
        now = utcnow()
        job = await store.create(Job(job_id=new_job_id(), job_type="never-run", owner_id="bench", metadata={},
                                     created_at=now, updated_at=now))
        ids.append(job.job_id)
    await store.aclose()
    return ids


async def cross_process_latency(url: str, prefix: str, port_a: int, port_b: int, waiters: int) -> dict:
    """``waiters`` long-polls on queued jobs, half held by process A and half by B; each job is then
    cancelled through the *other* process, one cancel at a time (the next once the last is
    answered). Latency: from the cancel's answer to the long-poll's answer, in the generator."""
    ids = await queued_jobs(url, prefix, waiters)
    headers = {"Authorization": f"Bearer {token('bench')}"}
    admin = {"Authorization": f"Bearer {token('bench-admin', admin=True)}"}
    answered: dict[str, float] = {}
    held_by = {job_id: (port_a, port_b)[index % 2] for index, job_id in enumerate(ids)}

    async def hold(job_id: str) -> None:
        for _ in range(5):  # a connection refused while the listen backlog is full: try again
            try:
                connection = await Connection.open(held_by[job_id])
                break
            except OSError:
                await asyncio.sleep(1)
        await connection.request(f"/jobs/{job_id}?wait=300&until=finished", headers)
        answered[job_id] = time.perf_counter()
        connection.close()

    holders = []
    for start in range(0, len(ids), 100):  # 200 new long-polls a second: a burst of 10,000 queues for
        holders += [asyncio.ensure_future(hold(job_id)) for job_id in ids[start:start + 100]]
        await asyncio.sleep(0.5)  # the store's connection pool past its 5 s wait on a loaded machine
    deadline = time.monotonic() + 300
    while control(port_a, "/bench/waiters")["open"] + control(port_b, "/bench/waiters")["open"] < waiters:
        assert time.monotonic() < deadline, "the long-polls did not all park"
        await asyncio.sleep(0.5)
    changers = {port_a: await Connection.open(port_a), port_b: await Connection.open(port_b)}
    cancelled: dict[str, float] = {}
    for job_id in ids:
        other = port_b if held_by[job_id] == port_a else port_a
        await changers[other].request(f"/jobs/{job_id}/cancel", admin, method="POST")
        cancelled[job_id] = time.perf_counter()
    for connection in changers.values():
        connection.close()
    await asyncio.gather(*holders)
    stats = percentiles([max(0.0, answered[job_id] - cancelled[job_id]) for job_id in ids])
    return {"waiters": waiters, "processes": 2, "p50_ms": round(stats["p50_ms"], 2),
            "p99_ms": round(stats["p99_ms"], 2), "max_ms": round(stats["max_ms"], 2)}


def note(figures: dict, name: str, value: object) -> None:
    """Record one figure and print it at once (a later failure keeps what was measured)."""
    figures[name] = value
    print(f"{name}: {json.dumps(value)}", file=sys.stderr, flush=True)


async def structures(client: Any, prefix: str, jobs: int) -> dict[str, float]:
    """``MEMORY USAGE`` of every key under ``prefix``, summed per kind of key (its name up to the
    first ``:`` after the prefix), in bytes per job, largest first."""
    sizes: dict[str, int] = {}
    async for key in client.scan_iter(f"{prefix}*".encode(), count=1000):
        kind = key[len(prefix):].split(b":")[0].decode()
        sizes[kind] = sizes.get(kind, 0) + (await client.memory_usage(key, samples=0) or 0)
    return {kind: round(size / jobs, 1) for kind, size in sorted(sizes.items(), key=lambda item: -item[1])
            if size / jobs >= 0.5}


async def memory_per_job(url: str, jobs: int, random_results: bool = False, database: int = 1) -> dict:
    import redis.asyncio as aioredis

    from server.clock import utcnow
    from server.jobs.models import Job, JobStatus
    from server.jobs.redis_store import RedisJobStore

    # A database of its own per run, under the default prefix: key names as long as in production.
    url = f"{url.rpartition('/')[0]}/{database}"
    client = aioredis.from_url(url)
    store = RedisJobStore(url, prefix="jobs:", ttl_seconds=86400, max_jobs=jobs * 2)
    await store.start()
    await store.get("warm-up")  # loads the script and opens a connection: per deployment, not per job
    before = (await client.info("memory"))["used_memory"]
    # Each result is 2 KB of English prose (a slice of this project's README at a different offset per
    # job; an analysis is English JSON) or, with ``--random-results``, of letters and spaces drawn at
    # random, which compresses about as badly as text can (to ~60%).
    prose = (ROOT / "README.md").read_text(encoding="utf-8")
    rng = random.Random(13)

    def result_of(index: int) -> str:
        if random_results:
            return json.dumps({"summary": "".join(rng.choices("abcdefghijklmnopqrstuvwxyz ", k=2030))})
        start = (index * 997) % (len(prose) - 2100)
        return json.dumps({"summary": prose[start:start + 2030]}, ensure_ascii=False)

    for index in range(jobs):
        now = utcnow()
        job_id = f"{index:08d}-0000-7000-8000-000000000000"  # a canonical UUID, as the server mints
        await store.create(Job(job_id=job_id, job_type="populated", owner_id=f"user-{index % 100}",
                               metadata={"case_id": f"case-{index}"}, created_at=now, updated_at=now))
        await store.update(job_id, status=JobStatus.RUNNING, started_at=now)
        result = result_of(index)
        await store.update(job_id, status=JobStatus.COMPLETED, completed_at=now, progress=100, result_json=result)
    after = (await client.info("memory"))["used_memory"]
    await store.aclose()
    breakdown = await structures(client, "jobs:", jobs)
    await client.aclose()
    return {"jobs": jobs, "result_bytes": len(result.encode()), "results": "random" if random_results else "prose",
            "bytes_per_job": round((after - before) / jobs), "structures": breakdown}


async def flush(url: str, database: int) -> None:
    """``FLUSHDB`` of ``database`` on the Redis at ``url``."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(f"{url.rpartition('/')[0]}/{database}")
    await client.flushdb()
    await client.aclose()


async def run(args: argparse.Namespace) -> dict:
    redis_process, url, directory = start_redis()
    processes = []
    try:
        figures: dict = {}
        if args.only in (None, "memory"):
            # The first jobs stored after Redis starts cost ~0.3 MB once (not per job: a second fill,
            # after FLUSHDB, does not pay it again), so a warm-up fill comes first.
            await memory_per_job(url, 500, database=3)
            await flush(url, 3)
            note(figures, "memory_per_job", await memory_per_job(url, args.jobs))
            note(figures, "memory_per_job_random", await memory_per_job(url, args.jobs, random_results=True,
                                                                        database=2))
        if args.only == "memory":
            return figures
        note(figures, "load_average", list(os.getloadavg()))
        # All three set-ups run at once and are polled in turns (memory, Redis 1 process, Redis 2
        # processes, three rounds), so a change of the machine's load hits each alike.
        memory, ready = start_server("bench_server.py")
        processes.append(memory)
        memory_ids = control(ready["port"], f"/bench/populate?n={args.jobs}&result_bytes=2048")["ids"]
        env = {"JOB_STORE_URL": url, "JOB_STORE_PREFIX": "poll-bench:", "MAX_ACTIVE_JOBS_PER_USER": "100000",
               "LONGPOLL_MAX_PER_USER": "100000", "LONGPOLL_MAX_TOTAL": "100000", "LONGPOLL_MAX_SECONDS": "300"}
        first, ready_a = start_server("bench_server.py", env=env)
        second, ready_b = start_server("bench_server.py", env=env)
        processes += [first, second]
        ids = control(ready_a["port"], f"/bench/populate?n={args.jobs}&result_bytes=2048")["ids"]
        rounds: dict[str, list[dict]] = {"poll_memory_store": [], "poll_redis_1_process": [],
                                         "poll_redis_2_processes": []}
        for _ in range(args.rounds):
            rounds["poll_memory_store"].append(
                await poll_throughput([ready["port"]], memory_ids, args.seconds, [memory.pid]))
            rounds["poll_redis_1_process"].append(
                await poll_throughput([ready_a["port"]], ids, args.seconds, [first.pid]))
            rounds["poll_redis_2_processes"].append(
                await poll_throughput([ready_a["port"], ready_b["port"]], ids, args.seconds, [first.pid, second.pid]))
        note(figures, "load_average_after_polls", list(os.getloadavg()))
        for name, runs in rounds.items():
            note(figures, name, runs)
        pairs = list(zip(rounds["poll_redis_1_process"], rounds["poll_memory_store"], strict=True))
        note(figures, "redis_vs_memory_1_process", [round(redis["rps"] / memory["rps"], 3) for redis, memory in pairs])
        # The same ratio from CPU per poll: a process's poll capacity once the CPU is its limit.
        note(figures, "redis_vs_memory_1_process_by_cpu", [
            round(memory["cpu_us_per_poll"] / redis["cpu_us_per_poll"], 3) for redis, memory in pairs])
        memory.terminate()
        note(figures, "change_to_waiter_other_process", await cross_process_latency(
            url, "poll-bench:", ready_a["port"], ready_b["port"], args.waiters))
        return figures
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
        redis_process.kill()
        redis_process.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each throughput run")
    parser.add_argument("--jobs", type=int, default=2000, help="stored finished jobs polled")
    parser.add_argument("--rounds", type=int, default=3, help="turns of the three poll set-ups")
    parser.add_argument("--waiters", type=int, default=10_000, help="long-polls held, split over both processes")
    parser.add_argument("--only", choices=["memory", "throughput"], help="run only the memory part, or only the "
                        "poll throughput and wake-up latency parts")
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
