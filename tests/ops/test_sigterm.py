"""A real ``python -m server`` process: SIGTERM answers open long-polls at once, refuses new jobs,
interrupts the running analysis after the grace and exits 0 within it; a second signal exits at once.

The analysis is slow because its provider is the fake OpenAI server (``tests/fakes``) answering
after 60 s.
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
from tests.fakes.fake_provider import FakeProviderServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "sigterm-test-secret-0123456789-abcdefghijkl"
GRACE = 3.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


TRANSCRIPT = "Caller Avraham Ben-David, ID 987654321, says the forklift crushed his left foot in Ashdod."


def fetch(url: str, token: str | None = None, timeout: float = 30, body: dict | None = None,
          headers: dict | None = None) -> tuple[int, dict]:
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


@pytest.fixture
def fake_llm():
    """The fake OpenAI server, answering each request after 60 s (or at once when stopped)."""
    server = FakeProviderServer(delay=60).start()
    yield server
    server.stop()


@pytest.fixture
def grace() -> float:
    return GRACE


@pytest.fixture
def server_process(tmp_path, fake_llm, grace):
    """``python -m server`` on a free port; yields (process, base url); killed if a test leaves it running."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name != "WEB_CONCURRENCY"}
    env.update({"PORT": str(port), "HOST": "127.0.0.1", "JWT_SECRET": SECRET, "SHUTDOWN_GRACE_SECONDS": str(grace),
                "APP_ENV": "test", "CASES_DB": str(tmp_path / "cases.db"), "LOG_FORMAT": "json",
                "OPENAI_API_KEY": "sk-test-key-never-logged", "OPENAI_BASE_URL": fake_llm.openai_base_url,
                "PROVIDER_CALL_ANALYSIS": "openai", "LLM_TIMEOUT_SECONDS": "120", "LLM_MAX_RETRIES": "0"})
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
    assert "development mode: demo data" in logs and "ephemeral secret" not in logs  # JWT_SECRET is set


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


def test_sigterm_mid_analysis_with_a_long_poll_open(server_process, fake_llm):
    process, base = server_process
    job_id = start_slow_analysis(base)
    status, other_case = fetch(f"{base}/cases", token(), body={"title": "Second",
                                                               "call_details": {"transcript": "x", "messages": []}})
    assert status == 201
    with ThreadPoolExecutor(2) as pool:
        poll = pool.submit(fetch, f"{base}/jobs/{job_id}?until=finished&wait=20", token())
        time.sleep(0.5)
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        status, body = poll.result(timeout=GRACE + 5)
        assert time.monotonic() - sent < 1.5  # answered at once with the current state
        assert status == 200 and body["job_id"] == job_id and body["status"] == "running"
        refused = fetch(f"{base}/vapi/re-analyze-call/{other_case['case_id']}", token(), body={})
        assert refused[0] == 503 and refused[1]["code"] == "shutting_down" and refused[1]["_headers"]["Retry-After"]
    assert process.wait(timeout=GRACE + 10) == 0
    exited = time.monotonic() - sent
    records = [json.loads(line) for line in process.communicate()[1].splitlines() if line.startswith("{")]
    assert exited < GRACE + 2, "\n".join(f'{r["asctime"]} {r["message"]}' for r in records[-12:])
    finished = [r["message"] for r in records if r["message"].startswith(f"job finished job_id={job_id}")]
    assert len(finished) == 1 and "outcome=interrupted" in finished[0]
    assert any(r["message"].startswith("shutdown complete in ") for r in records)
    text = json.dumps(records)
    for secret in ("Avraham", "987654321", "Ashdod", "forklift crushed", "sk-test-key-never-logged", SECRET):
        assert secret not in text, secret
    assert len(fake_llm.requests) == 1  # the provider was really called (and never answered)


@pytest.mark.parametrize("grace", [30.0])
def test_second_signal_exits_at_once_without_waiting_for_the_grace(server_process):
    process, base = server_process
    start_slow_analysis(base)
    process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=5) == 1
    assert time.monotonic() - sent < 2
