"""Schemathesis against a real ``python -m server``: every check, every phase (examples, coverage,
fuzzing, stateful links: create a case -> upload / call details -> start an analysis -> get the
job -> cancel), once with a user's token and once with an admin's (coverage once), both at once.

Settings (examples per operation, expected statuses where a 400 is a state no schema can rule out)
are in ``schemathesis.toml`` next to this file. The seeds are fixed so CI is repeatable; run
``st run`` with another ``--seed`` to explore further.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from typing import IO

import pytest

from server.auth import mint_token
from server.config import AuthSettings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemathesis.toml")
SECRET = "schemathesis-test-secret-0123456789-abcdefgh"
RUN_TIMEOUT_SECONDS = 150  # both runs together: ~35 s idle, ~70 s on a 2-core machine at load 10
# The coverage phase (boundary values of every parameter) does not depend on the role: run it once.
PHASES = {"user": "examples,coverage,fuzzing,stateful", "admin": "examples,fuzzing,stateful"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen, log: IO[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"server exited: {log.read()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):  # noqa: S310  # http://127.0.0.1 only
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError("server did not answer /healthz")


@pytest.fixture
def server_url(tmp_path):
    """A ``python -m server`` (offline analyzers, SQLite in ``tmp_path``) on a free port."""
    port = _free_port()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("OPENAI_", "ANTHROPIC_", "PROVIDER_", "LLM_")) and name != "WEB_CONCURRENCY"}
    env.update({"PORT": str(port), "HOST": "127.0.0.1", "JWT_SECRET": SECRET, "APP_ENV": "test",
                "CASES_DB": str(tmp_path / "cases.db"),
                # Long-polls and streams bounded to seconds: the fuzzer sends `wait` up to the cap.
                "LONGPOLL_MAX_SECONDS": "1", "SSE_KEEPALIVE_SECONDS": "1"})
    log = open(tmp_path / "server.log", "w+", encoding="utf-8")  # noqa: SIM115  # a pipe nobody reads would fill
    process = subprocess.Popen([sys.executable, "-m", "server"], cwd=ROOT, env=env,  # noqa: S603
                               stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _run(url: str, token: str, seed: int, phases: str, output: IO[str]) -> subprocess.Popen:
    command = [os.path.join(os.path.dirname(sys.executable), "st"), "--config-file", CONFIG, "run",
               f"{url}/openapi.json", "--checks", "all", "--phases", phases, "--wait-for-schema", "30",
               "--workers", "1", "--seed", str(seed), "--no-color", "-H", f"Authorization: Bearer {token}"]
    # Output to a file, not a pipe: two runs at once must never block on a full pipe.
    return subprocess.Popen(command, cwd=os.path.dirname(output.name), stdin=subprocess.DEVNULL,  # noqa: S603
                            stdout=output, stderr=subprocess.STDOUT)


@pytest.mark.timeout(RUN_TIMEOUT_SECONDS + 60)
def test_schemathesis_finds_no_failure_as_user_and_admin(server_url, tmp_path):
    auth = AuthSettings(key=SECRET, algorithms=("HS256",))
    tokens = {"user": mint_token(auth, "st-user"), "admin": mint_token(auth, "st-admin", admin=True)}
    outputs = {role: open(tmp_path / f"{role}.log", "w+", encoding="utf-8") for role in tokens}  # noqa: SIM115
    runs = {role: _run(server_url, token, seed, PHASES[role], outputs[role])
            for seed, (role, token) in enumerate(tokens.items(), start=1)}
    failed = {}
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        for role, run in runs.items():
            run.wait(max(1.0, deadline - time.monotonic()))
            if run.returncode != 0:
                outputs[role].seek(0)
                failed[role] = outputs[role].read()[-20000:]
    finally:
        for role, run in runs.items():
            if run.poll() is None:
                run.kill()
                run.wait()
            outputs[role].close()
    assert not failed, "\n\n".join(f"=== Schemathesis as {role} ===\n{text}" for role, text in failed.items())
