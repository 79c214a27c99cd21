"""Issue 2 benchmark: GET /jobs/{id} with 100k finished jobs stored.

Reports: requests/s (closed loop) against our handler and a bare Tornado handler (the ceiling),
p50/p99 latency at a fixed 1000 requests/s (open loop, no coordinated omission), resident memory
per stored job (2 KB results), and the longest IOLoop stall while a sweep expires all 100k jobs.

    python bench/bench_poll.py [--jobs 100000] [--rate 1000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import closed_loop, open_loop, percentiles, rss_kib, start_server, token, wrk_rps  # noqa: E402


def control(port: int, path: str, timeout: float = 600) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


async def run(args: argparse.Namespace) -> dict:
    process, ready = start_server("bench_server.py")
    port, bare_port = ready["port"], ready["bare_port"]
    try:
        time.sleep(0.5)
        rss_before = rss_kib(process.pid)
        ids = control(port, f"/bench/populate?n={args.jobs}&result_bytes=2048")["ids"]
        time.sleep(0.5)
        rss_after = rss_kib(process.pid)
        paths = [f"/jobs/{job_id}" for job_id in ids]
        headers = {"Authorization": f"Bearer {token('bench-admin', admin=True)}"}
        await closed_loop(port, paths, headers, 2)  # warm-up
        # Throughput: wrk when installed (the Python generator would be the bottleneck), else Python.
        ours = wrk_rps(port, paths[0], headers, args.seconds) or await closed_loop(port, paths, headers,
                                                                                   args.seconds)
        ceiling = wrk_rps(bare_port, paths[0], {}, args.seconds) or await closed_loop(bare_port, paths, {},
                                                                                      args.seconds)
        latencies, errors = await open_loop(port, paths, headers, args.rate, args.seconds)
        # The same schedule against the bare handler: what the load generator and machine add by themselves.
        bare_latencies, _ = await open_loop(bare_port, paths, {}, args.rate, args.seconds)
        sweep = control(port, "/bench/sweep")
        return {
            "jobs": args.jobs,
            "throughput_rps": round(ours),
            "bare_tornado_rps": round(ceiling),
            "fraction_of_ceiling": round(ours / ceiling, 3),
            f"latency_at_{args.rate}_rps": rounded(percentiles(latencies)),
            "errors": errors,
            f"bare_tornado_latency_at_{args.rate}_rps": rounded(percentiles(bare_latencies)),
            "rss_per_job_bytes": round((rss_after - rss_before) * 1024 / args.jobs),
            "sweep": {k: round(v, 3) if isinstance(v, float) else v for k, v in sweep.items()},
        }
    finally:
        process.terminate()
        process.wait(10)


def rounded(stats: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in stats.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
