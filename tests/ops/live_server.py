"""A real ``python -m server`` process on a free port, for the tests that signal it (SIGTERM).

Its analyses go to the fake OpenAI server (``tests/fakes``), which the tests make slow, so a job is
still running when the signal comes.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from server.auth import mint_token
from server.config import AuthSettings
from tests.fakes.fake_provider import FakeProviderServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "sigterm-test-secret-0123456789-abcdefghijkl"
TRANSCRIPT = "Caller Avraham Ben-David, ID 987654321, says the forklift crushed his left foot in Ashdod."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def token(user: str = "alice", admin: bool = False) -> str:
    """A token the live server accepts."""
    return mint_token(AuthSettings(key=SECRET, algorithms=("HS256",)), user, admin=admin)


def fetch(url: str, token: str | None = None, timeout: float = 30, body: dict | None = None,
          headers: dict | None = None) -> tuple[int, dict]:
    """One request with urllib: (status, JSON body); error bodies get their headers as ``_headers``."""
    all_headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    request = urllib.request.Request(url, data=data, headers=all_headers,  # noqa: S310  # http://127.0.0.1 only
                                     method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, {**json.loads(error.read() or b"null"), "_headers": dict(error.headers)}


@contextmanager
def live_server(tmp_path: Path, fake_llm: FakeProviderServer, grace: float,
                env_extra: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen, str]]:
    """``python -m server`` on a free port; yields (process, base url); killed if left running."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name != "WEB_CONCURRENCY"}
    env.update({"PORT": str(port), "HOST": "127.0.0.1", "JWT_SECRET": SECRET, "SHUTDOWN_GRACE_SECONDS": str(grace),
                "APP_ENV": "test", "CASES_DB": str(tmp_path / "cases.db"), "LOG_FORMAT": "json",
                "OPENAI_API_KEY": "sk-test-key-never-logged", "OPENAI_BASE_URL": fake_llm.openai_base_url,
                "PROVIDER_CALL_ANALYSIS": "openai", "LLM_TIMEOUT_SECONDS": "120", "LLM_MAX_RETRIES": "0",
                **(env_extra or {})})
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
    try:
        yield process, base
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()  # closes the pipes


def open_waits(base: str) -> float:
    """Open long-polls and streams, from ``/metrics`` (public in APP_ENV=test without METRICS_TOKEN)."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:  # noqa: S310 (127.0.0.1)
        text = response.read().decode()
    return sum(float(value) for value in re.findall(r"^(?:longpolls_open|event_streams_open) (\S+)$", text, re.M))


def wait_for_open_waits(base: str, count: int, timeout: float = 15) -> None:
    """Return once ``count`` long-polls and streams are open (a signal sent earlier would find them
    not yet waiting, and a new wait during shutdown is refused)."""
    deadline = time.monotonic() + timeout
    while (found := open_waits(base)) < count:
        assert time.monotonic() < deadline, f"{found} of {count} waits open"
        time.sleep(0.05)


def start_slow_analysis(base: str) -> str:
    """Create a case with a transcript and start its call analysis; return the job id once it runs."""
    status, case = fetch(f"{base}/cases", token(), body={"title": "Forklift",
                                                         "call_details": {"transcript": TRANSCRIPT, "messages": []}})
    assert status == 201, case
    status, accepted = fetch(f"{base}/vapi/re-analyze-call/{case['case_id']}", token(), body={})
    assert status == 202, accepted
    job_id = accepted["job_id"]
    deadline = time.monotonic() + 10
    while fetch(f"{base}/jobs/{job_id}", token())[1]["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return job_id
