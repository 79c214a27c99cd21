"""The ceiling for issue 19: a bare Tornado handler for ``GET /jobs/{id}`` with the server's own JWT
check (``server.auth.TokenVerifier``: HS256 through PyJWT, verified tokens cached until ``exp``), an
ownership check, and each job's answer pre-rendered as bytes; and ``POST /jobs`` with the same JWT
check answering a new job id (the submission ceiling: no store, no queue). Nothing else: no routing
table, no error bodies, no access log, no metrics. Bench only.

    python bench/bare_tornado.py --jobs 100000
Prints one JSON line ``{"port": ..., "ids": [...]}`` when ready.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

import tornado.httpserver
import tornado.web

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fixtures import bound_socket, fake_jobs  # noqa: E402

from server.auth import TokenVerifier  # noqa: E402
from server.config import AuthSettings  # noqa: E402
from server.errors import Unauthenticated  # noqa: E402
from server.jobs.ids import new_job_id  # noqa: E402


class Bare(tornado.web.RequestHandler):
    def initialize(self, jobs: dict[str, tuple[str, str, bytes]], tokens: TokenVerifier) -> None:
        self.jobs, self.tokens = jobs, tokens

    def get(self, job_id: str) -> None:
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        try:
            principal = self.tokens.verify(token)
        except Unauthenticated:
            self.set_status(401)
            return
        job = self.jobs.get(job_id)
        if job is None or not (principal.is_admin or job[0] == principal.user_id):
            self.set_status(404)
            return
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("ETag", job[1])
        self.write(job[2])


class BareSubmit(tornado.web.RequestHandler):
    """``POST /jobs``: the JWT check, then a fresh job id in a small JSON answer (202)."""

    def initialize(self, tokens: TokenVerifier) -> None:
        self.tokens = tokens

    def post(self) -> None:
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        try:
            self.tokens.verify(token)
        except Unauthenticated:
            self.set_status(401)
            return
        self.set_status(202)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.write(b'{"job_id":"%s","status":"pending"}' % new_job_id().encode())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    args = parser.parse_args()
    jobs: dict[str, tuple[str, str, bytes]] = {}
    for job in fake_jobs(args.jobs):
        owner = job.pop("owner_id")
        body = json.dumps(job, default=lambda moment: moment.isoformat(), separators=(",", ":")).encode()
        jobs[job["job_id"]] = (owner, f'"{job["job_id"]}.{job["version"]}"', body)
    tokens = TokenVerifier(AuthSettings(key=os.environ["JWT_SECRET"], algorithms=("HS256",)))
    sock = bound_socket()
    ids = list(jobs)[:: max(1, len(jobs) // 1000)]

    async def serve() -> None:
        app = tornado.web.Application([(r"/jobs/([^/]+)", Bare, {"jobs": jobs, "tokens": tokens}),
                                       (r"/jobs", BareSubmit, {"tokens": tokens})])
        tornado.httpserver.HTTPServer(app).add_sockets([sock])
        print(json.dumps({"port": sock.getsockname()[1], "ids": ids}), flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
