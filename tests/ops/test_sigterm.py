"""A real ``python -m server`` process: SIGTERM answers open long-polls at once, refuses new jobs,
interrupts the running analysis after the grace and exits 0 within it; a second signal exits at once.

The analysis is slow because its provider is the fake OpenAI server (``tests/fakes``) answering
after 60 s.
"""

from __future__ import annotations

import json
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.ops.live_server import SECRET, fetch, live_server, start_slow_analysis, token, wait_for_open_waits

GRACE = 3.0


@pytest.fixture
def grace() -> float:
    return GRACE


@pytest.fixture
def server_process(tmp_path, slow_llm, grace):
    """``python -m server`` on a free port; yields (process, base url); killed if a test leaves it running."""
    with live_server(tmp_path, slow_llm, grace) as running:
        yield running


def test_sigterm_answers_open_long_polls_and_exits_0_within_the_grace(server_process):
    process, base = server_process
    status, listing = fetch(f"{base}/jobs", token())
    assert status == 200
    with ThreadPoolExecutor(2) as pool:
        poll = pool.submit(fetch, f"{base}/jobs?since={listing['cursor']}&wait=20", token())
        wait_for_open_waits(base, 1)
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


def test_sigterm_mid_analysis_with_a_long_poll_open(server_process, slow_llm):
    process, base = server_process
    job_id = start_slow_analysis(base)
    status, other_case = fetch(f"{base}/cases", token(), body={"title": "Second",
                                                               "call_details": {"transcript": "x", "messages": []}})
    assert status == 201
    with ThreadPoolExecutor(2) as pool:
        poll = pool.submit(fetch, f"{base}/jobs/{job_id}?until=finished&wait=20", token())
        wait_for_open_waits(base, 1)
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        status, body = poll.result(timeout=GRACE + 5)
        assert time.monotonic() - sent < GRACE - 0.5  # answered at once with the current state, not at the grace's end
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
    assert len(slow_llm.requests) == 1  # the provider was really called (and never answered)


@pytest.mark.parametrize("grace", [30.0])
def test_second_signal_exits_at_once_without_waiting_for_the_grace(server_process):
    process, base = server_process
    start_slow_analysis(base)
    process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=5) == 1
    assert time.monotonic() - sent < 10  # at once, not after the 30 s grace
