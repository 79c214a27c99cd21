"""Issue 19 benchmark: this server side by side with a FastAPI + uvicorn peer and a bare Tornado ceiling.

One command, four parts (each server in its own process, the load generator in this one):

1. Throughput: ``GET /jobs/{id}`` with wrk (``--connections`` 50, ``--seconds`` 10 each, ``--rounds`` 3),
   the three servers interleaved within each round; prints the issue's table (req/s, ratios, wrk's p99).
2. Latency at a fixed ``--rate`` (1,000 req/s) with ``--jobs`` (100,000) stored, open loop (counted
   from each request's scheduled send time, ``harness.open_loop``), this server and the ceiling.
3. The longest IOLoop stall (a 1 ms timer's lateness, and the CPU the loop spent between two ticks) in
   this server during a ``--stall-seconds`` (60) run of polls at ``--stall-rate`` (200 req/s, below
   saturation) that includes a sweep expiring every stored job; garbage collections timed.
4. A burst of ``--burst`` (10,000) submissions over 50 connections: time until all are accepted, store
   changes made (creates, updates, queue-position notifications) until the queue drained, and the p99 of
   polls sent at 200 req/s during the burst.

    python bench/bench_tail.py                    # the full run, about 5 minutes
    python bench/bench_tail.py --quick            # 3 s rounds, 20,000 jobs, 10 s stall run, 2,000-job burst
    python bench/bench_tail.py --uvloop           # also this server under uvloop, as a fourth column

Every part prints the load average next to it: the machine is shared, so read the ratios measured side by
side, not the absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fixtures import job_id  # noqa: E402
from harness import Connection, open_loop, percentiles, start_server, token  # noqa: E402

OWNER = "user-0"  # owns every 100th stored job in every server (``fixtures.fake_jobs``)


def polled_ids(jobs: int) -> list[str]:
    """The stored jobs the load polls: ``OWNER``'s, at most 1,000."""
    return [job_id(index) for index in range(0, jobs, 100)][:1000]


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    ids: list[str]

    @property
    def paths(self) -> list[str]:
        return [f"/jobs/{job_id}" for job_id in self.ids]


def load_average() -> str:
    with open("/proc/loadavg") as loadavg:
        return " ".join(loadavg.read().split()[:3])


def control(port: int, path: str, timeout: float = 900) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


def start_ours(jobs: int, name: str = "this server", uvloop: bool = False) -> Server:
    env = {"LOG_LEVEL": "INFO", "MAX_ACTIVE_JOBS_PER_USER": "1000000", "MAX_STORED_JOBS": str(max(jobs, 1) * 2)}
    if uvloop:
        env["BENCH_UVLOOP"] = "1"
    process, ready = start_server("bench_server.py", env=env, quiet=True)
    control(ready["port"], f"/bench/populate?n={jobs}&result_bytes=2048")
    return Server(name, process, ready["port"], polled_ids(jobs))


def start_other(script: str, name: str, jobs: int) -> Server:
    process, ready = start_server(script, "--jobs", str(jobs), quiet=True)
    return Server(name, process, ready["port"], polled_ids(jobs))


# -- 1. throughput ---------------------------------------------------------------------------------

_WRK_SCRIPT = """
paths = {%s}
i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (all its threads)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(server: Server, headers: dict[str, str], seconds: float, connections: int) -> tuple[float, float, float]:
    """(requests/s, p99 ms, server CPU microseconds per request) of one wrk run cycling over the
    server's job paths. The CPU per request does not depend on how much of a core the server got
    (the machine is shared), so its ratios are the steadier ones."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT % ", ".join(f'"{path}"' for path in server.paths[:200]))
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", script.name]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    cpu_before = cpu_seconds(server.process.pid)
    output = subprocess.run([*command, f"http://127.0.0.1:{server.port}/"], capture_output=True, text=True,  # noqa: S603
                            check=True).stdout
    cpu = cpu_seconds(server.process.pid) - cpu_before
    os.unlink(script.name)
    if "Non-2xx" in output:
        raise RuntimeError(f"{server.name}: wrk saw error answers:\n{output}")
    rps = float(next(line.split()[1] for line in output.splitlines() if line.startswith("Requests/sec")))
    p99 = next(line.split()[1] for line in output.splitlines() if line.strip().startswith("99%"))
    requests = int(next(line.split()[0] for line in output.splitlines() if " requests in " in line))
    return rps, _ms(p99), cpu * 1e6 / requests


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def throughput(servers: list[Server], headers: dict[str, str], args: argparse.Namespace) -> list[dict]:
    rows = []
    for round_number in range(1, args.rounds + 1):
        order = servers[round_number - 1:] + servers[:round_number - 1]  # a different server goes first each round
        row: dict = {"round": round_number, "load_average": load_average()}
        for server in order:
            row[server.name] = wrk(server, headers, args.seconds, args.connections)
        rows.append(row)
        print_row(row, [server.name for server in servers])
    return rows


def print_header(names: list[str]) -> None:
    extra = "".join(f" | {name} | vs ceiling | its CPU/req" for name in names[3:])
    print(f"| round | {names[0]} | {names[1]} | {names[2]} | vs peer | vs ceiling | "
          f"p99: peer / ceiling / this | CPU µs/req: peer / ceiling / this | CPU vs peer / ceiling{extra} | load avg |")
    print("|---|---|---|---|---|---|---|---|---|" + "---|---|---|" * len(names[3:]) + "---|")


def print_row(row: dict, names: list[str]) -> None:
    """One round; the CPU columns compare CPU per request: a ratio above 1 means this server needs less."""
    (peer, peer_p99, peer_cpu), (ceiling, ceiling_p99, ceiling_cpu), (ours, ours_p99, ours_cpu) = (
        row[name] for name in names[:3])
    extra = "".join(f" | {row[name][0]:,.0f} ({row[name][1]:.1f} ms) | {row[name][0] / ceiling:.2f} | "
                    f"{row[name][2]:.0f} µs" for name in names[3:])
    print(f"| {row['round']} | {peer:,.0f} req/s | {ceiling:,.0f} | {ours:,.0f} | {ours / peer:.2f}x | "
          f"{ours / ceiling:.2f} | {peer_p99:.1f} / {ceiling_p99:.1f} / {ours_p99:.1f} ms "
          f"({ours_p99 / ceiling_p99:.2f}x) | {peer_cpu:.0f} / {ceiling_cpu:.0f} / {ours_cpu:.0f} | "
          f"{peer_cpu / ours_cpu:.2f}x / {ceiling_cpu / ours_cpu:.2f}{extra} | {row['load_average']} |", flush=True)


# -- 2. fixed rate ---------------------------------------------------------------------------------

async def fixed_rate(servers: list[Server], headers: dict[str, str], args: argparse.Namespace) -> dict:
    result: dict = {"load_average": load_average()}
    for server in servers:
        latencies, errors = await open_loop(server.port, server.paths, headers, args.rate, args.rate_seconds)
        result[server.name] = {**_rounded(percentiles(latencies)), "errors": errors}
    return result


# -- 3. stall during a sweep -----------------------------------------------------------------------

async def stall_run(server: Server, headers: dict[str, str], args: argparse.Namespace) -> dict:
    control(server.port, "/bench/watch")
    load = asyncio.ensure_future(open_loop(server.port, server.paths, headers, args.stall_rate, args.stall_seconds))
    await asyncio.sleep(args.stall_seconds / 3)
    started = await asyncio.to_thread(control, server.port, "/bench/expire_all")
    latencies, _ = await load
    watched = control(server.port, "/bench/watched")
    counts = control(server.port, "/bench/counts")
    return {"load_average": load_average(), "jobs_swept": started["jobs"], "sweep": counts["sweep"],
            "poll_latency": _rounded(percentiles(latencies)), **watched}


# -- 4. burst of submissions -----------------------------------------------------------------------

async def burst(server: Server, headers: dict[str, str], args: argparse.Namespace) -> dict:
    first = 10_000_000  # after the swept jobs' numbers
    control(server.port, f"/bench/populate?n=10000&result_bytes=2048&start={first}")
    paths = [f"/jobs/{job_id(first + index)}" for index in range(0, 10000, 100)]
    before = control(server.port, "/bench/counts")["store_changes"]
    polls: list[tuple[float, float]] = []  # (sent at, latency)
    stop_polling = asyncio.Event()
    poller = asyncio.ensure_future(_poll_until(server.port, paths, headers, 200, stop_polling, polls))
    await asyncio.sleep(0.5)
    submitted = 0
    started = time.perf_counter()

    async def submitter(offset: int) -> None:
        nonlocal submitted
        connection = await Connection.open(server.port)
        for index in range(offset, args.burst, 50):
            response = await connection.request(f"/bench/submit?owner=burst-{index % 1000}", method="POST")
            if response.status != 200:
                raise RuntimeError(f"submission {index}: {response.status} {response.body[:200]!r}")
            submitted += 1
        connection.close()

    await asyncio.gather(*(submitter(offset) for offset in range(50)))
    accepted_s = time.perf_counter() - started
    at_accept = control(server.port, "/bench/counts")["store_changes"] - before
    await asyncio.sleep(0.5)
    stop_polling.set()
    await poller
    during = [latency for sent, latency in polls if started <= sent <= started + accepted_s]
    changes = await _settled_changes(server.port) - before
    return {"load_average": load_average(), "submissions": submitted, "accepted_in_s": round(accepted_s, 3),
            "store_changes_until_accepted": at_accept, "store_changes_until_drained": changes,
            "changes_per_job": round(changes / max(1, submitted), 2),
            "polls_during_burst": _rounded(percentiles(during)) if during else None}


async def _poll_until(port: int, paths: list[str], headers: dict[str, str], rate: float, stop: asyncio.Event,
                      samples: list[tuple[float, float]], connections: int = 8) -> None:
    start = time.perf_counter()

    async def worker(offset: int) -> None:
        connection = await Connection.open(port)
        index = offset
        while not stop.is_set():
            scheduled = start + index / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await connection.request(paths[index % len(paths)], headers)
            samples.append((scheduled, time.perf_counter() - scheduled))
            index += connections
        connection.close()

    await asyncio.gather(*(worker(offset) for offset in range(connections)))


async def _settled_changes(port: int, quiet_seconds: float = 1.5, limit_seconds: float = 300) -> int:
    """The store's change count once it stopped moving for ``quiet_seconds`` (the queue drained)."""
    last, since, deadline = -1, time.perf_counter(), time.perf_counter() + limit_seconds
    while time.perf_counter() < deadline:
        now = (await asyncio.to_thread(control, port, "/bench/counts"))["store_changes"]
        if now != last:
            last, since = now, time.perf_counter()
        elif time.perf_counter() - since >= quiet_seconds:
            break
        await asyncio.sleep(0.25)
    return last


def _rounded(stats: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 2) for key, value in stats.items()}


# -- main ------------------------------------------------------------------------------------------

async def run(args: argparse.Namespace) -> dict:
    headers = {"Authorization": f"Bearer {token(OWNER)}"}
    servers: list[Server] = []
    try:
        servers.append(start_other("peer_fastapi.py", "FastAPI peer", args.jobs))
        servers.append(start_other("bare_tornado.py", "bare Tornado", args.jobs))
        servers.append(start_ours(args.jobs))
        if args.uvloop:
            servers.append(start_ours(args.jobs, "this server on uvloop", uvloop=True))
        print(f"{args.jobs:,} jobs stored in each server; load average {load_average()}", flush=True)
        for server in servers:  # warm-up: tokens cached, code paths hot
            wrk(server, headers, 1, args.connections)
        print(f"\n## Throughput: wrk, {args.connections} connections, {args.seconds:g} s, {args.rounds} rounds\n")
        print_header([server.name for server in servers])
        rows = throughput(servers, headers, args)
        print(f"\n## Latency at a fixed {args.rate:g} req/s, {args.rate_seconds:g} s, open loop", flush=True)
        fixed = await fixed_rate(servers[1:], headers, args)
        _report(fixed, lambda stats: f"p50 {stats['p50_ms']} / p99 {stats['p99_ms']} / max {stats['max_ms']} ms")
        ours, ceiling = fixed["this server"]["p99_ms"], fixed["bare Tornado"]["p99_ms"]
        print(f"  p99 this server / ceiling: {ours / ceiling:.2f}x (target <= 1.5x)")
        for server in servers:
            if server.name != "this server":
                server.process.terminate()
        print(f"\n## IOLoop stalls during {args.stall_seconds:g} s of polls at {args.stall_rate:g} req/s "
              f"with a sweep of {args.jobs:,} jobs", flush=True)
        stall = await stall_run(servers[2], headers, args)
        print(json.dumps(stall, indent=1))
        print(f"\n## Burst of {args.burst:,} submissions", flush=True)
        burst_result = await burst(servers[2], headers, args)
        print(json.dumps(burst_result, indent=1))
        return {"throughput": rows, "fixed_rate": fixed, "stall": stall, "burst": burst_result}
    finally:
        for server in servers:
            server.process.terminate()
            server.process.wait(10)


def _report(result: dict, describe: Callable[[dict], str]) -> None:
    print(f"  load average {result['load_average']}")
    for name, stats in result.items():
        if name != "load_average":
            print(f"  {name}: {describe(stats)}; errors {stats['errors']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10, help="per wrk run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=100_000, help="finished jobs stored in each server")
    parser.add_argument("--rate", type=float, default=1000, help="requests/s of the open-loop parts")
    parser.add_argument("--rate-seconds", type=float, default=10)
    parser.add_argument("--stall-seconds", type=float, default=60)
    parser.add_argument("--stall-rate", type=float, default=200,
                        help="polls/s of the stall run: below saturation, so a stall is one long callback, not a queue")
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--uvloop", action="store_true", help="also run this server on uvloop")
    parser.add_argument("--quick", action="store_true", help="short everything (a smoke run)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.jobs, args.rate_seconds, args.stall_seconds, args.burst = 3, 20_000, 4, 10, 2000
    result = asyncio.run(run(args))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=1)


if __name__ == "__main__":
    main()
