"""The real application plus bench-only control routes, in its own process.

Prints one JSON line ``{"port": ..., "bare_port": ...}`` when ready. ``bare_port`` serves a bare
Tornado handler returning a fixed body of a finished job's size: the ceiling on this machine.
Control routes (this process only, never in the server's route table):
  POST /bench/populate?n=N&result_bytes=B&start=S  N finished jobs numbered from S, each with a distinct
                                                    B-byte result (owner user-<number % 100>)
  POST /bench/sweep                         expire everything, measuring the longest IOLoop stall
  POST /bench/gated?n=N&owner=U             N running jobs that wait for /bench/release
  POST /bench/release/{job_id}              let one gated job complete now
  POST /bench/timed?n=N                     N jobs that complete after a random 0.5-4 s
  POST /bench/waiters                       number of open long-polls and streams
  POST /bench/watch                         start timing IOLoop stalls and garbage collections
  POST /bench/watched                       stop timing; the longest stalls and collections (ms)
  POST /bench/expire_all                    start a sweep that expires every finished job (not awaited)
  POST /bench/submit?owner=U                submit one ``queued`` job (4 run at once, 5 ms each); checks the
                                            bearer token as the ceiling's ``POST /jobs`` does
  POST /bench/counts                        store changes recorded so far (memory store), jobs stored
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import socket
import sys
import time
from datetime import timedelta

import tornado.httpserver
import tornado.netutil
import tornado.web

from server.app import build_services, make_app, start_background
from server.auth import bearer_token
from server.clock import utcnow
from server.config import Settings
from server.jobs.models import Job, JobStatus
from server.jobs.runner import JobContext
from server.limits import connection_cap, listen_limited
from server.logs import configure_logging

# What the control routes keep between calls (a stall watch, the sweep result, the store-change count).
BENCH_STATE: dict = {}


class Control(tornado.web.RequestHandler):
    def initialize(self, services, gates) -> None:
        self.services, self.gates = services, gates

    async def post(self, action: str, arg: str | None = None) -> None:
        handler = getattr(self, f"do_{action}")
        self.write(json.dumps(await handler(arg)))

    async def do_populate(self, _):
        n = int(self.get_argument("n"))
        size = int(self.get_argument("result_bytes", "2048"))
        first = int(self.get_argument("start", "0"))
        store = self.services.store
        ids = []
        for index in range(first, first + n):
            now = utcnow()
            job = await store.create(Job(job_id=f"{index:08d}-0000-7000-8000-000000000000", job_type="populated",
                                         owner_id=f"user-{index % 100}", metadata={"case_id": f"case-{index}"},
                                         created_at=now, updated_at=now))
            filler = "".join(random.choices("abcdefghijklmnopqrstuvwxyz ", k=size - 20))  # noqa: S311
            await store.update(job.job_id, status=JobStatus.RUNNING, started_at=now)
            await store.update(job.job_id, status=JobStatus.COMPLETED, completed_at=now, progress=100,
                               result_json=json.dumps({"summary": filler}))
            ids.append(job.job_id)
            if index % 5000 == 0:
                await asyncio.sleep(0)
        gc.collect()
        return {"ids": ids[:: max(1, n // 1000)]}

    async def do_sweep(self, _):
        stalls: list[float] = []
        running = True

        async def monitor() -> None:
            while running:
                before = time.perf_counter()
                await asyncio.sleep(0)
                stalls.append(time.perf_counter() - before)

        watcher = asyncio.ensure_future(monitor())
        await asyncio.sleep(0.01)
        sweeper = self.services.sweeper
        started = time.perf_counter()
        store = self.services.store
        store._ttl = timedelta(seconds=-1)  # everything finished is past retention now
        removed = await sweeper.sweep()
        duration = time.perf_counter() - started
        running = False
        await watcher
        return {"removed": removed, "duration_s": duration, "max_stall_ms": max(stalls) * 1000,
                "remaining": len(store)}

    async def do_gated(self, _):
        n, owner = int(self.get_argument("n")), self.get_argument("owner", "bench")
        ids = []
        for _ in range(n):
            job = await self.services.runner.submit("gated", owner, {})
            ids.append(job.job_id)
        return {"ids": ids}

    async def do_waiters(self, _):
        return {"open": self.services.waiters.open_count}

    async def do_release(self, job_id):
        self.gates.setdefault(job_id, asyncio.Event()).set()
        return {"released": job_id}

    async def do_timed(self, _):
        n = int(self.get_argument("n"))
        return {"ids": [(await self.services.runner.submit("timed", "bench", {})).job_id for _ in range(n)]}


    async def do_watch(self, _):
        BENCH_STATE["stall_watch"] = watch = StallWatch()
        watch.start()
        return {"watching": True}

    async def do_watched(self, _):
        return BENCH_STATE.pop("stall_watch").stop()

    async def do_expire_all(self, _):
        store = self.services.store
        store._ttl = timedelta(seconds=-1)  # everything finished is past retention now
        started = time.perf_counter()
        task = asyncio.ensure_future(self.services.sweeper.sweep())
        task.add_done_callback(lambda done: BENCH_STATE.__setitem__(
            "sweep_result", {"removed": done.result(), "duration_s": time.perf_counter() - started}))
        return {"started": True, "jobs": len(store)}

    async def do_submit(self, _):
        token = bearer_token(self.request.headers.get("Authorization"))
        self.services.tokens.verify(token)  # the same JWT check as the ceiling's POST /jobs
        job = await self.services.runner.submit("queued", self.get_argument("owner", "bench"), {})
        self.set_status(202)
        return {"job_id": job.job_id, "status": job.status.value}

    async def do_counts(self, _):
        return {"store_changes": BENCH_STATE.get("store_changes", [0])[0], "jobs": len(self.services.store),
                "sweep": BENCH_STATE.get("sweep_result")}


class StallWatch:
    """Times the IOLoop's stalls (how late a 1 ms timer fires) and every garbage collection.

    A stall is wall-clock time, so on a shared machine it includes the time the process waited for a
    core; ``max_cpu_between_ticks_ms`` is the CPU this thread spent between two ticks (under saturation,
    many short callbacks), and ``longest_callback_cpu_ms`` the CPU of the longest single IOLoop callback
    (every ``asyncio`` handle is timed while watching): the stall this process's own code made, whatever
    the machine's load (one long callback, a collection inside it, a sweep batch)."""

    TICK = 0.001
    SLOW = 0.003  # a callback that ran longer than this (wall or CPU) is kept with its name

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.slow: list[tuple[float, float, float, str]] = []  # (at s, wall ms, CPU ms, callback)
        self.stalls: list[float] = []
        self.cpu: list[float] = []
        self._cpu_at = time.thread_time()
        self.collections: list[tuple[int, float]] = []  # (generation, seconds)
        self._handle: asyncio.TimerHandle | None = None
        self._gc_started = 0.0

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        gc.callbacks.append(self._on_gc)
        self._schedule(loop)
        self.longest = (0.0, "")
        self._original_run = run = asyncio.events.Handle._run
        watch = self

        def timed(handle: asyncio.Handle) -> None:
            started, wall = time.thread_time(), time.perf_counter()
            run(handle)
            spent, wall = time.thread_time() - started, time.perf_counter() - wall
            if spent > watch.longest[0]:
                watch.longest = (spent, repr(handle)[:160])
            if wall > watch.SLOW or spent > watch.SLOW:
                watch.slow.append((time.perf_counter(), wall * 1000, spent * 1000, repr(handle)[:200]))

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        due = loop.time() + self.TICK
        self._handle = loop.call_at(due, self._tick, loop, due)

    def _tick(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        self.stalls.append(loop.time() - due)
        now = time.thread_time()
        self.cpu.append(now - self._cpu_at)
        self._cpu_at = now
        self._schedule(loop)

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            spent = time.perf_counter() - self._gc_started
            self.collections.append((info["generation"], spent))
            if spent > self.SLOW:
                self.slow.append((time.perf_counter(), spent * 1000, spent * 1000,
                                  f"gc generation {info['generation']} collected {info['collected']}"))

    def stop(self) -> dict:
        assert self._handle is not None
        self._handle.cancel()
        gc.callbacks.remove(self._on_gc)
        asyncio.events.Handle._run = self._original_run  # type: ignore[method-assign]
        stalls = sorted(self.stalls, reverse=True)
        by_gen = {gen: sorted((s for g, s in self.collections if g == gen), reverse=True) for gen in (0, 1, 2)}
        return {"ticks": len(stalls), "max_stall_ms": stalls[0] * 1000, "top_stalls_ms": [s * 1000 for s in stalls[:5]],
                "stalls_over_10ms": sum(s > 0.010 for s in stalls),
                "max_cpu_between_ticks_ms": max(self.cpu) * 1000,
                "top_cpu_between_ticks_ms": [c * 1000 for c in sorted(self.cpu, reverse=True)[:5]],
                "longest_callback_cpu_ms": self.longest[0] * 1000, "longest_callback": self.longest[1],
                "slow_callbacks": [(round(at, 3), round(wall, 2), round(cpu, 2), name)
                                   for at, wall, cpu, name in self.slow],
                "gc": {f"gen{gen}": {"count": len(times), "max_ms": times[0] * 1000 if times else 0.0,
                                     "total_ms": sum(times) * 1000} for gen, times in by_gen.items()}}


class Bare(tornado.web.RequestHandler):
    body = b"x" * 2600

    def get(self, _: str) -> None:
        self.set_header("Content-Type", "application/json")
        self.write(self.body)


async def main() -> None:
    settings = Settings.from_env(os.environ)
    configure_logging(settings.observability)  # as `python -m server` does: access lines at LOG_LEVEL
    services = build_services(settings)
    await services.store.start()  # connects a Redis store (JOB_STORE_URL); nothing for the memory store
    gates: dict[str, asyncio.Event] = {}

    async def gated(ctx: JobContext):
        await gates.setdefault(ctx.job_id, asyncio.Event()).wait()
        return {"released": True}

    async def timed(ctx: JobContext):
        await asyncio.sleep(random.uniform(0.5, 4.0))  # noqa: S311
        return {"done": True}

    services.runner.register("gated", gated, concurrency=1_000_000)
    services.runner.register("timed", timed, concurrency=1_000_000)
    services.runner.register("bench", timed)

    async def queued(ctx: JobContext):
        await asyncio.sleep(0.005)
        return {"done": True}

    services.runner.register("queued", queued, concurrency=4)
    count_store_changes(services)
    app = make_app(services)
    gc.freeze()  # as `python -m server` does once started
    app.add_handlers(r".*", [(r"/bench/(\w+)/?([^/]*)", Control, {"services": services, "gates": gates})])
    start_background(services)
    sockets, bare_sockets = loopback_sockets(), loopback_sockets()
    # As `python -m server` listens: connection cap, header and body timeouts.
    limits = services.settings.connections
    listen_limited(services, app, sockets, max_connections=connection_cap(limits.max_connections, limits.fd_reserve)[0])
    tornado.httpserver.HTTPServer(tornado.web.Application([(r"/jobs/(.*)", Bare)])).add_sockets(bare_sockets)
    print(json.dumps({"port": port_of(sockets), "bare_port": port_of(bare_sockets)}), flush=True)
    await asyncio.Event().wait()


def count_store_changes(services) -> None:
    """Count every change the memory store records (creates, updates, queue-position bumps)."""
    store = services.store
    record = getattr(store, "_record_change", None)
    if record is None:
        return
    counter = BENCH_STATE["store_changes"] = [0]

    def counted(*args, **kwargs):
        counter[0] += 1
        return record(*args, **kwargs)

    store._record_change = counted


def loopback_sockets() -> list[socket.socket]:
    """Sockets bound to an ephemeral loopback port, with a backlog for bursts of connections."""
    return tornado.netutil.bind_sockets(0, "127.0.0.1", backlog=16384)


def port_of(sockets: list[socket.socket]) -> int:
    return int(sockets[0].getsockname()[1])


if __name__ == "__main__":
    if os.environ.get("BENCH_UVLOOP"):
        import uvloop

        uvloop.install()
    sys.exit(asyncio.run(main()))
