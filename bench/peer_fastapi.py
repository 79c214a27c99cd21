"""The peer for issue 19: the same ``GET /jobs/{id}`` contract on FastAPI + uvicorn (bench only).

Written the way a FastAPI service usually is: jobs in a dict of pydantic models, an ``HTTPBearer``
dependency that verifies the HS256 token with PyJWT on every request, the view returned through
``response_model`` with the version ETag; ``async def`` throughout (nothing blocks, so no thread
pool); plain polling (no long-poll). uvicorn runs with its
defaults (``loop="auto"``, ``http="auto"``: uvloop and httptools when installed, as
``fastapi[standard]`` installs them), one process, access log off.

    python bench/peer_fastapi.py --jobs 100000
Prints one JSON line ``{"port": ..., "ids": [...]}`` when ready (``ids``: up to 1,000 stored job ids).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import datetime
from typing import Any

import jwt
import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fixtures import bound_socket, fake_jobs  # noqa: E402

SECRET = os.environ["JWT_SECRET"]


class JobView(BaseModel):
    job_id: str
    job_type: str
    status: str
    metadata: dict[str, Any]
    error: str | None
    error_code: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    updated_at: datetime
    progress: int
    progress_message: str
    progress_code: str | None
    progress_params: dict[str, Any] | None
    queue_position: int | None
    attempt: int
    version: int
    result: dict[str, Any] | None
    owner_id: str  # kept for the ownership check; excluded from the answer


class Caller(BaseModel):
    user_id: str
    is_admin: bool


app = FastAPI()
bearer = HTTPBearer()
JOBS: dict[str, JobView] = {}


async def caller(credentials: HTTPAuthorizationCredentials = Depends(bearer)) -> Caller:  # noqa: B008 (FastAPI idiom)
    try:
        claims = jwt.decode(credentials.credentials, SECRET, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError:
        raise HTTPException(401, {"detail": "Invalid token", "code": "invalid_token"}) from None
    return Caller(user_id=claims["sub"], is_admin=claims.get("role") == "admin")


@app.get("/jobs/{job_id}", response_model=JobView, response_model_exclude={"owner_id"})
async def get_job(job_id: str, response: Response, who: Caller = Depends(caller)) -> JobView:  # noqa: B008
    job = JOBS.get(job_id)
    if job is None or not (who.is_admin or job.owner_id == who.user_id):
        raise HTTPException(404, {"detail": "Job not found", "code": "not_found"})
    response.headers["ETag"] = f'"{job.job_id}.{job.version}"'
    response.headers["Cache-Control"] = "no-store"
    return job


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    args = parser.parse_args()
    for job in fake_jobs(args.jobs):
        JOBS[job["job_id"]] = JobView(**job)
    sock = bound_socket()
    ids = list(JOBS)[:: max(1, len(JOBS) // 1000)]
    print(json.dumps({"port": sock.getsockname()[1], "ids": ids}), flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    asyncio.run(server.serve(sockets=[sock]))


if __name__ == "__main__":
    main()
