"""The real application plus bench-only control routes, in its own process.

Prints one JSON line ``{"port": ..., "bare_port": ...}`` when ready. ``bare_port`` serves a bare
Tornado handler returning a fixed body of a finished job's size: the ceiling on this machine.
Control routes (this process only, never in the server's route table):
  POST /bench/populate?n=N&result_bytes=B  N finished jobs, each with a distinct B-byte result
  POST /bench/sweep                         expire everything, measuring the longest IOLoop stall
  POST /bench/gated?n=N&owner=U             N running jobs that wait for /bench/release
  POST /bench/release/{job_id}              let one gated job complete now
  POST /bench/timed?n=N                     N jobs that complete after a random 0.5-4 s
  POST /bench/waiters                       number of open long-polls and streams
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

from server.app import build_services, listen, make_app, start_background
from server.clock import utcnow
from server.config import Settings
from server.jobs.models import Job, JobStatus
from server.jobs.runner import JobContext


class Control(tornado.web.RequestHandler):
    def initialize(self, services, gates) -> None:
        self.services, self.gates = services, gates

    async def post(self, action: str, arg: str | None = None) -> None:
        handler = getattr(self, f"do_{action}")
        self.write(json.dumps(await handler(arg)))

    async def do_populate(self, _):
        n = int(self.get_argument("n"))
        size = int(self.get_argument("result_bytes", "2048"))
        store = self.services.store
        ids = []
        for index in range(n):
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


class Bare(tornado.web.RequestHandler):
    body = b"x" * 2600

    def get(self, _: str) -> None:
        self.set_header("Content-Type", "application/json")
        self.write(self.body)


async def main() -> None:
    settings = Settings.from_env(os.environ)
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
    app = make_app(services)
    app.add_handlers(r".*", [(r"/bench/(\w+)/?([^/]*)", Control, {"services": services, "gates": gates})])
    start_background(services)
    sockets, bare_sockets = loopback_sockets(), loopback_sockets()
    listen(services, app, sockets)
    tornado.httpserver.HTTPServer(tornado.web.Application([(r"/jobs/(.*)", Bare)])).add_sockets(bare_sockets)
    print(json.dumps({"port": port_of(sockets), "bare_port": port_of(bare_sockets)}), flush=True)
    await asyncio.Event().wait()


def loopback_sockets() -> list[socket.socket]:
    """Sockets bound to an ephemeral loopback port, with a backlog for bursts of connections."""
    return tornado.netutil.bind_sockets(0, "127.0.0.1", backlog=16384)


def port_of(sockets: list[socket.socket]) -> int:
    return int(sockets[0].getsockname()[1])


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
