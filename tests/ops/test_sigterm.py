"""A real ``python -m server`` process: SIGTERM answers open long-polls at once and exits 0 within
the grace; a second signal exits at once.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from server.auth import mint_token
from server.config import AuthSettings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "sigterm-test-secret-0123456789-abcdefghijkl"
GRACE = 3.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str, token: str | None = None, timeout: float = 30) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310  # http://127.0.0.1 only
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture
def server_process(tmp_path):
    """``python -m server`` on a free port; yields (process, base url); killed if a test leaves it running."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name != "WEB_CONCURRENCY"}
    env.update({"PORT": str(port), "HOST": "127.0.0.1", "JWT_SECRET": SECRET, "SHUTDOWN_GRACE_SECONDS": str(GRACE),
                "APP_ENV": "test", "CASES_DB": str(tmp_path / "cases.db"), "LOG_FORMAT": "json"})
    process = subprocess.Popen([sys.executable, "-m", "server"], cwd=ROOT, env=env,  # noqa: S603
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 40  # importing the LLM SDKs takes seconds
    while True:
        try:
            if fetch(f"{base}/healthz", timeout=1)[0] == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"server did not start: {process.communicate()[1][-2000:]}")
        time.sleep(0.05)
    yield process, base
    if process.poll() is None:
        process.kill()
    process.communicate()  # closes the pipes


def token(user: str = "alice") -> str:
    return mint_token(AuthSettings(key=SECRET, algorithms=("HS256",)), user)


def test_sigterm_answers_open_long_polls_and_exits_0_within_the_grace(server_process):
    process, base = server_process
    status, listing = fetch(f"{base}/jobs", token())
    assert status == 200
    with ThreadPoolExecutor(2) as pool:
        poll = pool.submit(fetch, f"{base}/jobs?since={listing['cursor']}&wait=20", token())
        time.sleep(0.5)  # the long-poll is open
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        status, body = poll.result(timeout=GRACE + 5)
        answered = time.monotonic() - sent
    assert status == 200 and body["jobs"] == [] and answered < 1.5  # at once, not after 20 s
    assert process.wait(timeout=GRACE + 5) == 0
    assert time.monotonic() - sent < GRACE + 2
    logs = process.communicate()[1]
    assert "shutdown complete" in logs and SECRET not in logs
