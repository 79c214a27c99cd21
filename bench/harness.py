"""Benchmark harness: a server process with bench-only control routes, and a raw HTTP/1.1 load
generator on asyncio streams (light enough that one core drives thousands of requests a second).

Not imported by the server; used by the ``bench_*.py`` scripts.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "bench-secret-that-is-long-enough-for-hs256-000000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def token(user: str, admin: bool = False) -> str:
    sys.path.insert(0, ROOT)
    from server.auth import mint_token
    from server.config import AuthSettings

    return mint_token(AuthSettings(key=SECRET, algorithms=("HS256",)), user, admin=admin, ttl_seconds=36000)


def start_server(script: str, *args: str, env: dict[str, str] | None = None,
                 quiet: bool = False, cpu: int | None = None) -> tuple[subprocess.Popen, dict]:
    """Start ``bench/<script>`` in a subprocess; it prints one JSON line with its ports when ready.
    ``quiet``: its stderr (the logs) goes to /dev/null instead of this terminal. ``cpu``: the one
    core it may run on (``sched_setaffinity``), None for any."""
    full_env = {**os.environ, "JWT_SECRET": SECRET, "PYTHONPATH": ROOT, "LOG_LEVEL": "WARNING", **(env or {})}
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "bench", script), *args],  # noqa: S603
                               stdout=subprocess.PIPE, env=full_env, text=True,
                               stderr=subprocess.DEVNULL if quiet else None,
                               preexec_fn=None if cpu is None else lambda: os.sched_setaffinity(0, {cpu}))
    assert process.stdout is not None
    ready = json.loads(process.stdout.readline())
    return process, ready


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class Connection:
    """One keep-alive HTTP/1.1 connection; one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(self, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Response:
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if method == "POST":
            lines.append("Content-Length: 0")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        response_headers: dict[str, str] = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            response_headers[name.strip().lower()] = value.strip()
        length = int(response_headers.get("content-length", "0"))
        body = await self.reader.readexactly(length) if length else b""
        return Response(status, response_headers, body)

    def close(self) -> None:
        self.writer.close()


def percentiles(samples: list[float]) -> dict[str, float]:
    """mean/p50/p99/max of samples in seconds, reported in milliseconds."""
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"n": len(ordered), "mean_ms": statistics.fmean(ordered) * 1000, "p50_ms": at(0.50),
            "p99_ms": at(0.99), "max_ms": ordered[-1] * 1000}


async def open_loop(port: int, paths: list[str], headers: dict[str, str], rate: float, seconds: float,
                    connections: int = 16) -> tuple[list[float], int]:
    """Send requests on a fixed schedule of ``rate`` requests/s for ``seconds``; latency counts from the
    scheduled send time, so a stalled server is not hidden (no coordinated omission).

    Each of ``connections`` keep-alive connections owns every ``connections``-th slot of the schedule.
    Returns (latencies in seconds, number of non-200/304 answers).
    """
    latencies: list[float] = []
    errors = 0
    total = int(rate * seconds)
    start = time.perf_counter() + 0.2

    async def worker(offset: int) -> None:
        nonlocal errors
        connection = await Connection.open(port)
        for index in range(offset, total, connections):
            scheduled = start + index / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            response = await connection.request(paths[index % len(paths)], headers)
            latencies.append(time.perf_counter() - scheduled)
            if response.status not in (200, 304):
                errors += 1
        connection.close()

    await asyncio.gather(*(worker(i) for i in range(connections)))
    return latencies, errors


async def closed_loop(port: int, paths: list[str], headers: dict[str, str], seconds: float,
                      connections: int = 32) -> float:
    """As many requests as the server answers for ``seconds``; returns requests/s."""
    done = 0
    stop = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        nonlocal done
        connection = await Connection.open(port)
        index = offset
        while time.perf_counter() < stop:
            await connection.request(paths[index % len(paths)], headers)
            done += 1
            index += connections
        connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(connections)))
    return done / (time.perf_counter() - started)


def wrk_rps(port: int, path: str, headers: dict[str, str], seconds: float, connections: int = 32) -> float | None:
    """Closed-loop requests/s measured by wrk (a C load generator), or None when wrk is not installed."""
    if shutil.which("wrk") is None:
        return None
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,  # noqa: S603
                            check=True).stdout
    return float(next(line.split()[1] for line in output.splitlines() if line.startswith("Requests/sec")))


async def read_sse_until_terminal(port: int, path: str, headers: dict[str, str]) -> dict:
    """Open an event stream and return the data of its terminal ``job`` event (chunked encoding)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1"] + [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    while (await reader.readline()) not in (b"\r\n", b""):
        pass  # status line and headers
    buffer = b""
    try:
        while True:
            size = int((await reader.readline()).strip() or b"0", 16)
            if size == 0:
                raise RuntimeError("stream ended without a terminal event")
            buffer += await reader.readexactly(size)
            await reader.readline()
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                for line in block.decode().splitlines():
                    if line.startswith("data: "):
                        job = json.loads(line[6:])
                        if job["status"] in ("completed", "failed"):
                            return job
    finally:
        writer.close()
