"""Issue 19 benchmark: this server side by side with a FastAPI + uvicorn peer and a bare Tornado ceiling.

One command, four parts (each server in its own process pinned to core 1, the load generators, this
process and wrk, pinned to core 0; ``--no-pin`` leaves placement to the scheduler):

1. Throughput: ``GET /jobs/{id}`` with wrk (``--connections`` 50, ``--seconds`` 10 each, ``--rounds`` 3),
   the three servers interleaved within each round; prints the issue's table (req/s, ratios, wrk's p99).
2. Latency at a fixed ``--rate`` (1,000 req/s) with ``--jobs`` (100,000) stored, open loop (counted
   from each request's scheduled send time, ``harness.open_loop``), this server and the ceiling interleaved
   in ``--rate-rounds`` slices; with each server's CPU per request and involuntary context switches, and
   this server's IOLoop callbacks and collections over 3 ms (``StallWatch``: CPU-long = its own work,
   wall-long only = the machine).
3. The longest IOLoop stall (a 1 ms timer's lateness, and the CPU the loop spent between two ticks) in
   this server during a ``--stall-seconds`` (60) run of polls at ``--stall-rate`` (200 req/s, below
   saturation) that includes a sweep expiring every stored job; garbage collections timed.
4. A burst of ``--burst`` (10,000) submissions by wrk (``--connections`` 50, a POST Lua script), against
   this server (``/bench/submit``, JWT checked) and the ceiling's ``POST /jobs`` (JWT check, a new id, no
   store): time until all are answered, server CPU per submission, store changes made until the queue
   drained (this server), and the p99 of polls sent at ``--burst-poll-rate`` (100/s) by a separate client.

    python bench/bench_tail.py                    # the full run, about 6 minutes
    python bench/bench_tail.py --quick            # 3 s rounds, 20,000 jobs, 10 s stall run, 2,000-job burst
    python bench/bench_tail.py --parts fixed,burst   # some parts only
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
import signal
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

# With --pin (the default) every server runs on core 1 and the bench with its load generators (wrk and
# the open-loop clients) on core 0: "one server core, one client core" without the scheduler moving
# either, the same for the three servers.
SERVER_CPU: int | None = None
CLIENT_CPU = 0

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
    process, ready = start_server("bench_server.py", env=env, quiet=True, cpu=SERVER_CPU)
    control(ready["port"], f"/bench/populate?n={jobs}&result_bytes=2048")
    return Server(name, process, ready["port"], polled_ids(jobs))


def start_other(script: str, name: str, jobs: int) -> Server:
    process, ready = start_server(script, "--jobs", str(jobs), quiet=True, cpu=SERVER_CPU)
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
    """Each server in turn at ``args.rate``; besides the latencies, the evidence of where a tail comes
    from: the server's CPU per request, how often the kernel took its core away (involuntary context
    switches), and for this server every IOLoop callback and collection over 3 ms (``StallWatch``): a
    callback long in CPU is this server's own work, one long only in wall time is the machine's."""
    result: dict = {"load_average": load_average()}
    samples: dict[str, list[float]] = {server.name: [] for server in servers}
    errors = dict.fromkeys(samples, 0)
    cpu = dict.fromkeys(samples, 0.0)
    switches = dict.fromkeys(samples, 0)
    ours = next(server for server in servers if server.name.startswith("this server"))
    control(ours.port, "/bench/watch")
    # Interleaved in --rate-rounds slices, a different server first each time: on a shared machine a
    # burst of someone else's work then falls on both, not on whichever ran during it.
    for round_number in range(args.rate_rounds):
        for server in servers[round_number % 2:] + servers[:round_number % 2]:
            pid = server.process.pid
            cpu_before, switches_before = cpu_seconds(pid), involuntary_switches(pid)
            latencies, failed = await open_loop(server.port, server.paths, headers, args.rate,
                                                args.rate_seconds / args.rate_rounds)
            cpu[server.name] += cpu_seconds(pid) - cpu_before
            switches[server.name] += involuntary_switches(pid) - switches_before
            samples[server.name] += latencies
            errors[server.name] += failed
    watched = control(ours.port, "/bench/watched")
    for server in servers:
        result[server.name] = {**_rounded(percentiles(samples[server.name])), "errors": errors[server.name],
                               "cpu_us_per_request": round(cpu[server.name] * 1e6 / max(1, len(samples[server.name]))),
                               "involuntary_switches": switches[server.name]}
    result[ours.name]["loop"] = _loop_evidence(watched)  # over the whole part, the other server's slices included
    return result


def involuntary_switches(pid: int) -> int:
    """How many times the kernel preempted process ``pid`` (all threads; ``/proc/<pid>/status``)."""
    with open(f"/proc/{pid}/status") as status:
        return sum(int(line.split()[1]) for line in status if line.startswith("nonvoluntary_ctxt_switches"))


def _loop_evidence(watched: dict) -> dict:
    """The summary of a ``StallWatch`` report: slow callbacks split by what made them slow."""
    slow = watched["slow_callbacks"]  # (at, wall ms, CPU ms, name)
    by_cpu = sorted((entry for entry in slow if entry[2] >= 3), key=lambda entry: -entry[2])
    return {"max_stall_ms": round(watched["max_stall_ms"], 2),
            "longest_callback_cpu_ms": round(watched["longest_callback_cpu_ms"], 2),
            "longest_callback": watched["longest_callback"][:100],
            "callbacks_over_3ms_cpu": len(by_cpu),
            "top_by_cpu": [(wall, cpu, name[:90]) for _, wall, cpu, name in by_cpu[:5]],
            "callbacks_over_3ms_wall_only": len(slow) - len(by_cpu),
            "gc": {gen: (stats["count"], round(stats["max_ms"], 2)) for gen, stats in watched["gc"].items()}}


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
            "poll_latency": _rounded(percentiles(latencies)), "ticks": watched["ticks"],
            "top_stalls_ms": [round(stall, 2) for stall in watched["top_stalls_ms"]],
            "stalls_over_10ms": watched["stalls_over_10ms"],
            "top_cpu_between_ticks_ms": [round(cpu, 2) for cpu in watched["top_cpu_between_ticks_ms"]],
            **_loop_evidence(watched)}


# -- 4. burst of submissions -----------------------------------------------------------------------

# wrk cannot stop after N requests (a thread's stop() still waits for -d), so the script says when the
# N-th answer arrived and the bench interrupts wrk then (SIGINT: wrk prints its summary).
_WRK_POST = """
total, sent, answered, headers = %d, 0, 0, nil
request = function()
  if headers == nil then
    headers = {["Content-Type"] = "application/json"}
    for name, value in pairs(wrk.headers) do headers[name] = value end
  end
  sent = sent + 1
  return wrk.format("POST", "%s" .. (sent %% 1000), headers, "{}")
end
response = function(status, headers, body)
  answered = answered + 1
  if answered == total then
    io.write("BURST-DONE\\n")
    io.flush()
  end
end
"""


async def burst(server: Server, submit_path: str, poll_paths: list[str], headers: dict[str, str],
                args: argparse.Namespace) -> dict:
    """``args.burst`` submissions by wrk (one thread, ``args.connections`` connections, stopped at the
    last answer: up to ``connections`` - 1 more were in flight), while a separate open-loop client polls
    at ``args.burst_poll_rate`` on 20 connections (each has 20/rate s per poll before it queues)."""
    ours = server.name.startswith("this server")
    before = control(server.port, "/bench/counts")["store_changes"] if ours else 0
    polls: list[tuple[float, float]] = []  # (sent at, latency)
    stop_polling = asyncio.Event()
    poller = asyncio.ensure_future(_poll_until(server.port, poll_paths, headers, args.burst_poll_rate, stop_polling,
                                               polls, connections=20))
    await asyncio.sleep(0.5)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_POST % (args.burst, submit_path))
    command = ["wrk", "-t1", f"-c{args.connections}", "-d600s", "-s", script.name,
               "-H", f"Authorization: {headers['Authorization']}", f"http://127.0.0.1:{server.port}/"]
    cpu = cpu_seconds(server.process.pid)
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    while (line := await process.stdout.readline()) and line.strip() != b"BURST-DONE":
        pass
    accepted_s = time.perf_counter() - started
    cpu = cpu_seconds(server.process.pid) - cpu
    process.send_signal(signal.SIGINT)
    output = (await process.communicate())[0].decode()
    os.unlink(script.name)
    if "Non-2xx" in output:
        raise RuntimeError(f"{server.name}: the burst saw error answers:\n{output}")
    submitted = args.burst  # answered when the clock stopped; wrk's own count includes the few after
    await asyncio.sleep(0.5)
    stop_polling.set()
    await poller
    during = [latency for sent, latency in polls if started <= sent <= started + accepted_s]
    result = {"load_average": load_average(), "submissions": submitted, "accepted_in_s": round(accepted_s, 3),
              "submissions_per_s": round(submitted / accepted_s), "cpu_us_per_submission": round(cpu * 1e6 / submitted),
              "polls_during_burst": _rounded(percentiles(during)) if during else None}
    if ours:
        changes = await _settled_changes(server.port) - before
        result.update(store_changes_until_drained=changes, changes_per_job=round(changes / max(1, submitted), 2))
    return result


async def _poll_until(port: int, paths: list[str], headers: dict[str, str], rate: float, stop: asyncio.Event,
                      samples: list[tuple[float, float]], connections: int) -> None:
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
    parts = set(args.parts.split(","))
    servers: list[Server] = []
    results: dict = {}
    try:
        if "throughput" in parts:
            servers.append(start_other("peer_fastapi.py", "FastAPI peer", args.jobs))
        bare = start_other("bare_tornado.py", "bare Tornado", args.jobs)
        ours = start_ours(args.jobs)
        servers += [bare, ours]
        if args.uvloop and "throughput" in parts:
            servers.append(start_ours(args.jobs, "this server on uvloop", uvloop=True))
        print(f"{args.jobs:,} jobs stored in each server; load average {load_average()}", flush=True)
        for server in servers:  # warm-up: tokens cached, code paths hot
            wrk(server, headers, 1, args.connections)
        if "throughput" in parts:
            print(f"\n## Throughput: wrk, {args.connections} connections, {args.seconds:g} s, {args.rounds} rounds\n")
            print_header([server.name for server in servers])
            results["throughput"] = throughput(servers, headers, args)
        for server in servers:
            if server not in (bare, ours):
                server.process.terminate()
        if "fixed" in parts:
            print(f"\n## Latency at a fixed {args.rate:g} req/s, {args.rate_seconds:g} s, open loop", flush=True)
            fixed = results["fixed_rate"] = await fixed_rate([bare, ours], headers, args)
            _report(fixed, lambda stats: f"p50 {stats['p50_ms']} / p99 {stats['p99_ms']} / max {stats['max_ms']} ms, "
                                         f"CPU {stats['cpu_us_per_request']} µs/request, "
                                         f"preempted {stats['involuntary_switches']} times")
            print(f"  p99 this server / ceiling: {fixed[ours.name]['p99_ms'] / fixed[bare.name]['p99_ms']:.2f}x "
                  f"(target <= 1.5x)\n  this server's IOLoop: {json.dumps(fixed[ours.name]['loop'])}")
        if "stall" in parts:
            print(f"\n## IOLoop stalls during {args.stall_seconds:g} s of polls at {args.stall_rate:g} req/s "
                  f"with a sweep of {args.jobs:,} jobs", flush=True)
            results["stall"] = await stall_run(ours, headers, args)
            print(json.dumps(results["stall"], indent=1))
        if "burst" in parts:
            print(f"\n## Burst of {args.burst:,} submissions (wrk, {args.connections} connections), polls at "
                  f"{args.burst_poll_rate:g}/s alongside", flush=True)
            first = 10_000_000  # after the swept jobs' numbers
            control(ours.port, f"/bench/populate?n=10000&result_bytes=2048&start={first}")
            results["burst"] = {
                bare.name: await burst(bare, "/jobs?owner=burst-", bare.paths, headers, args),
                ours.name: await burst(ours, "/bench/submit?owner=burst-",
                                       [f"/jobs/{job_id(first + index)}" for index in range(0, 10000, 100)],
                                       headers, args)}
            print(json.dumps(results["burst"], indent=1))
        return results
    finally:
        for server in servers:
            server.process.terminate()
            server.process.wait(10)


def _report(result: dict, describe: Callable[[dict], str]) -> None:
    print(f"  load average {result['load_average']}")
    for name, stats in result.items():
        if name != "load_average" and isinstance(stats, dict):
            print(f"  {name}: {describe(stats)}; errors {stats['errors']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10, help="per wrk run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=100_000, help="finished jobs stored in each server")
    parser.add_argument("--rate", type=float, default=1000, help="requests/s of the open-loop parts")
    parser.add_argument("--rate-seconds", type=float, default=10, help="per server, in --rate-rounds slices")
    parser.add_argument("--rate-rounds", type=int, default=5)
    parser.add_argument("--stall-seconds", type=float, default=60)
    parser.add_argument("--stall-rate", type=float, default=200,
                        help="polls/s of the stall run: below saturation, so a stall is one long callback, not a queue")
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--burst-poll-rate", type=float, default=100, help="polls/s alongside the burst")
    parser.add_argument("--parts", default="throughput,fixed,stall,burst",
                        help="comma-separated subset of: throughput,fixed,stall,burst")
    parser.add_argument("--uvloop", action="store_true", help="also run this server on uvloop")
    parser.add_argument("--quick", action="store_true", help="short everything (a smoke run)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="let the scheduler place servers and clients (default: servers on core 1, clients on 0)")
    args = parser.parse_args()
    if args.pin and len(os.sched_getaffinity(0)) >= 2:
        global SERVER_CPU
        SERVER_CPU = 1
        os.sched_setaffinity(0, {CLIENT_CPU})
    if args.quick:
        args.seconds, args.jobs, args.rate_seconds, args.stall_seconds, args.burst = 3, 20_000, 4, 10, 2000
    result = asyncio.run(run(args))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=1)


if __name__ == "__main__":
    main()
