"""Real ``python -m server`` processes sharing one throwaway redis-server: one service across
processes (create in one, follow, list, cancel and change-feed from the other), a SIGKILLed
process's job taken over by the other (``attempt`` 2), SIGTERM handing a running job back to the
queue, the same analysis POSTed to both at the same instant (with and without one Idempotency-Key)
starting one job, and exit 2 when Redis cannot be reached at start.

The analysis is slow because its provider is the fake OpenAI server answering after 60 s.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from server.auth import mint_token
from server.config import AuthSettings
from tests.fakes.fake_provider import FakeProviderServer
from tests.jobs.redis_server import RedisServer, free_port, require_redis_server
from tests.ops.live_server import ROOT, TRANSCRIPT, fetch

SECRET = "redis-processes-test-secret-0123456789-abcdef"
LEASE = 3.0


@pytest.fixture
def fake_llm():
    server = FakeProviderServer(delay=60).start()
    yield server
    server.stop()


@pytest.fixture
def redis_for_processes():
    server = RedisServer(require_redis_server()).start()
    yield server
    server.cleanup()


class Servers:
    """Starts ``python -m server`` processes on free ports, all on one Redis and one case database."""

    def __init__(self, tmp_path: Path, redis_url: str, fake_llm: FakeProviderServer):
        self.tmp_path = tmp_path
        self.env = {name: value for name, value in os.environ.items() if name not in ("WEB_CONCURRENCY", "REDIS_URL")}
        self.env.update({"HOST": "127.0.0.1", "JWT_SECRET": SECRET, "APP_ENV": "test", "LOG_FORMAT": "json",
                         "CASES_DB": str(tmp_path / "cases.db"), "JOB_STORE_URL": redis_url,
                         "JOB_LEASE_SECONDS": str(LEASE), "SHUTDOWN_GRACE_SECONDS": "4",
                         "OPENAI_API_KEY": "sk-test-key-never-logged", "OPENAI_BASE_URL": fake_llm.openai_base_url,
                         "PROVIDER_CALL_ANALYSIS": "openai", "LLM_TIMEOUT_SECONDS": "120", "LLM_MAX_RETRIES": "0"})
        self.processes: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, **extra_env: str) -> tuple[subprocess.Popen[bytes], str, Path]:
        port = free_port()
        log = self.tmp_path / f"server-{port}.log"
        with open(log, "wb") as sink:
            process = subprocess.Popen([sys.executable, "-m", "server"], cwd=ROOT,  # noqa: S603
                                       env={**self.env, "PORT": str(port), **extra_env}, stdout=sink, stderr=sink)
        self.processes.append((process, log))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60  # importing the LLM SDKs takes seconds on a loaded machine
        while True:
            try:
                if fetch(f"{base}/readyz", timeout=2)[0] == 200:
                    return process, base, log
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop_all(self) -> None:
        for process, _ in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(10)


@pytest.fixture
def servers(tmp_path, redis_for_processes, fake_llm):
    group = Servers(tmp_path, redis_for_processes.url, fake_llm)
    yield group
    group.stop_all()


def token(user: str = "alice") -> str:
    return mint_token(AuthSettings(key=SECRET, algorithms=("HS256",)), user)


def start_analysis(base: str, title: str) -> str:
    status, case = fetch(f"{base}/cases", token(), body={"title": title,
                                                         "call_details": {"transcript": TRANSCRIPT, "messages": []}})
    assert status == 201, case
    status, accepted = fetch(f"{base}/vapi/re-analyze-call/{case['case_id']}", token(), body={})
    assert status == 202, accepted
    return str(accepted["job_id"])


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def child_pids(parent: int) -> list[int]:
    """Live processes whose parent is ``parent`` (from /proc: Linux)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text() if entry.isdigit() else ""
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if fields and fields[0] != "Z" and int(fields[1]) == parent:
            found.append(int(entry))
    return found


def runs_in(log: Path, job_id: str) -> bool:
    return f"job started job_id={job_id}" in log.read_text()


def test_two_server_processes_on_one_redis_behave_as_one_service(servers):
    first, base_a, log_a = servers.start()
    job_id = start_analysis(base_a, "Forklift")
    wait_for(lambda: fetch(f"{base_a}/jobs/{job_id}", token())[1]["status"] == "running", 20, "job never ran")
    _, base_b, _ = servers.start()
    status, seen = fetch(f"{base_b}/jobs/{job_id}", token())
    assert status == 200 and seen["status"] == "running" and seen["attempt"] == 1
    assert fetch(f"{base_b}/jobs/{job_id}", token("mallory"))[0] == 404
    listing = fetch(f"{base_b}/jobs", token())[1]
    assert [job["job_id"] for job in listing["jobs"]] == [job_id]
    with ThreadPoolExecutor(2) as pool:  # a long-poll and a change-feed wait held by B, woken by a change in A
        poll = pool.submit(fetch, f"{base_b}/jobs/{job_id}?wait=20&until=finished", token())
        feed = pool.submit(fetch, f"{base_b}/jobs?since={listing['cursor']}&wait=20", token())
        time.sleep(0.5)
        sent = time.monotonic()
        status, cancelled = fetch(f"{base_a}/jobs/{job_id}/cancel", token(), body={})
        assert status == 200 and cancelled["error_code"] == "cancelled"
        polled, changes = poll.result(20), feed.result(20)
        woke = time.monotonic() - sent
    assert polled[0] == 200 and polled[1]["error_code"] == "cancelled" and woke < 10
    assert changes[0] == 200 and [job["job_id"] for job in changes[1]["jobs"]] == [job_id]
    # Cancel answered by B stops the job running in A.
    second = start_analysis(base_a, "Crane")
    wait_for(lambda: fetch(f"{base_a}/jobs/{second}", token())[1]["status"] == "running", 20, "second never ran")
    time.sleep(0.2)  # the start is logged just after the write that shows it running
    runner_log = log_a if runs_in(log_a, second) else None
    status, cancelled = fetch(f"{base_b}/jobs/{second}/cancel", token(), body={})
    assert status == 200 and cancelled["status"] == "failed" and cancelled["error_code"] == "cancelled"
    if runner_log is not None:
        wait_for(lambda: f"job finished job_id={second}" in runner_log.read_text(), 5, "A did not stop the job")
    assert first.poll() is None


def post_at_once(urls: list[str], headers: dict | None = None) -> list[tuple[int, dict]]:
    """POST every url from its own thread, released together by a barrier (the same instant)."""
    barrier = threading.Barrier(len(urls))

    def post(url: str) -> tuple[int, dict]:
        barrier.wait(10)
        return fetch(url, token(), body={}, headers=headers)

    with ThreadPoolExecutor(len(urls)) as pool:
        return list(pool.map(post, urls))


def test_same_analysis_posted_to_two_processes_at_once_starts_one_job(servers):
    _, base_a, _ = servers.start()
    _, base_b, _ = servers.start()
    case_ids = []
    for title in ("Forklift", "Crane"):
        status, case = fetch(f"{base_a}/cases", token(), body={"title": title, "call_details": {
            "transcript": TRANSCRIPT, "messages": []}})
        assert status == 201, case
        case_ids.append(case["case_id"])
    plain = post_at_once([f"{base}/vapi/re-analyze-call/{case_ids[0]}" for base in (base_a, base_b) * 4])
    assert {status for status, _ in plain} == {202}, plain
    assert len({body["job_id"] for _, body in plain}) == 1
    assert sum("deduplicated" not in body for _, body in plain) == 1  # the one that started it
    keyed = post_at_once([f"{base}/vapi/re-analyze-call/{case_ids[1]}" for base in (base_a, base_b) * 4],
                         headers={"Idempotency-Key": "same-instant"})
    assert {status for status, _ in keyed} == {202}, keyed
    assert all(body == keyed[0][1] for _, body in keyed) and "deduplicated" not in keyed[0][1]  # the first answer
    for case_id, answers in zip(case_ids, (plain, keyed), strict=True):
        listed = fetch(f"{base_b}/jobs?case_id={case_id}", token())[1]["jobs"]
        assert [job["job_id"] for job in listed] == [answers[0][1]["job_id"]]  # exactly one job per case


def test_sigkilled_process_job_is_taken_over_by_another(servers):
    first, base_a, log_a = servers.start()
    job_id = start_analysis(base_a, "Forklift")
    wait_for(lambda: fetch(f"{base_a}/jobs/{job_id}", token())[1]["status"] == "running", 20, "job never ran")
    wait_for(lambda: runs_in(log_a, job_id), 10, "A did not log the start")  # logged just after the write
    _, base_b, log_b = servers.start()
    first.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    first.wait(10)
    taken = wait_for(lambda: (lambda job: job if job["attempt"] == 2 and job["status"] == "running" else None)(
        fetch(f"{base_b}/jobs/{job_id}", token())[1]), LEASE + 20, "the job was not taken over")
    print(f"takeover after SIGKILL: {time.monotonic() - killed:.2f}s (lease {LEASE}s)")
    assert taken["error_code"] is None
    wait_for(lambda: runs_in(log_b, job_id), 10, "B did not log the start")


def test_sigterm_hands_a_running_job_back_to_another_process(servers):
    first, base_a, log_a = servers.start()
    job_id = start_analysis(base_a, "Forklift")
    wait_for(lambda: fetch(f"{base_a}/jobs/{job_id}", token())[1]["status"] == "running", 20, "job never ran")
    _, base_b, log_b = servers.start()
    first.send_signal(signal.SIGTERM)
    assert first.wait(20) == 0
    assert "handed back" in log_a.read_text()
    job = wait_for(lambda: (lambda job: job if job["status"] == "running" else None)(
        fetch(f"{base_b}/jobs/{job_id}", token())[1]), 10, "not picked up again")
    assert job["attempt"] == 1  # a hand-back is not a failed attempt
    wait_for(lambda: runs_in(log_b, job_id), 10, "B did not log the start")


def test_unreachable_redis_at_start_exits_2_naming_the_setting(tmp_path):
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name not in ("WEB_CONCURRENCY", "REDIS_URL")}
    env.update({"JWT_SECRET": SECRET, "APP_ENV": "test", "JOB_STORE_URL": f"redis://app:hunter2@127.0.0.1:{port}/0",
                "WEB_CONCURRENCY": "2", "CASES_DB": str(tmp_path / "cases.db")})
    done = subprocess.run([sys.executable, "-m", "server"], cwd=ROOT, env=env, capture_output=True,  # noqa: S603
                          text=True, timeout=60, check=False)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "JOB_STORE_URL" in lines[0] and f"127.0.0.1:{port}" in lines[0]
    assert "hunter2" not in done.stderr and json.dumps(done.stderr)


def test_web_concurrency_runs_workers_on_one_port_and_sigterm_stops_them_all(servers):
    parent, base, log = servers.start(WEB_CONCURRENCY="2")
    workers = wait_for(lambda: (lambda pids: pids if len(pids) == 2 else None)(child_pids(parent.pid)),
                       60, "two workers did not start")
    wait_for(lambda: log.read_text().count("listening on") == 2, 60, "both workers listen")
    job_id = start_analysis(base, "Forklift")
    assert fetch(f"{base}/jobs/{job_id}", token())[0] == 200  # whichever worker answers, it knows the job
    wait_for(lambda: fetch(f"{base}/jobs/{job_id}", token())[1]["status"] == "running", 20, "job never ran")
    stopped, grace = terminate_timed(parent, servers)
    print(f"prefork parent with a running job exited {stopped:.2f}s after SIGTERM (grace {grace}s)")
    assert stopped <= grace
    assert log.read_text().count("shutdown complete") == 2
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)


def terminate_timed(parent, servers) -> tuple[float, float]:
    """SIGTERM the prefork parent and wait for its exit (status 0); (seconds it took, SHUTDOWN_GRACE_SECONDS)."""
    grace = float(servers.env["SHUTDOWN_GRACE_SECONDS"])
    parent.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    assert parent.wait(30) == 0
    return time.monotonic() - signalled, grace


def kill_a_worker(parent: int) -> list[int]:
    """SIGKILL the first of the prefork parent's two workers; returns the two pids as they were.
    (Listed at the moment of the kill: a worker that died by itself meanwhile was replaced.)"""
    for _ in range(50):
        workers = child_pids(parent)
        try:
            if len(workers) == 2:
                os.kill(workers[0], signal.SIGKILL)
                return workers
        except ProcessLookupError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the parent never had two live workers to kill one of: {child_pids(parent)}")


def test_prefork_replaces_dead_workers_with_backoff_prints_dev_tokens_once_and_stops_within_the_grace(
        servers, redis_for_processes):
    servers.env.pop("JWT_SECRET")  # development mode: the banner with the tokens
    parent, base, log = servers.start(WEB_CONCURRENCY="2")
    wait_for(lambda: log.read_text().count("listening on") == 2, 60, "both workers listen")
    # Each worker logs "development mode" right before worker 0 alone prints the banner.
    wait_for(lambda: log.read_text().count("development mode") == 2 and "DEVELOPMENT ONLY" in log.read_text(),
             60, "both workers told their mode, worker 0 its tokens")
    assert log.read_text().count("DEVELOPMENT ONLY") == 1  # worker 0 prints it; the workers share the secret
    workers = kill_a_worker(parent.pid)  # as the OOM killer would
    replaced = wait_for(lambda: (lambda pids: pids if len(pids) == 2 and workers[0] not in pids else None)(
        child_pids(parent.pid)), 30, "the killed worker was not replaced")
    wait_for(lambda: log.read_text().count("listening on") == 3, 60, "the new worker listens")
    assert fetch(f"{base}/readyz")[0] == 200
    # A crash loop: the replacement cannot start while Redis is down; each retry waits twice as long.
    redis_for_processes.stop()
    os.kill(next(pid for pid in replaced if pid != workers[1]), signal.SIGKILL)
    delays = wait_for(lambda: (lambda found: found if len(found) >= 3 else None)(
        [line.rpartition(" in ")[2] for line in log.read_text().splitlines() if "starting a new worker" in line]),
        60, "the crash loop was not retried")
    assert delays[:3] == ["0.5s", "1.0s", "2.0s"], delays
    redis_for_processes.start()
    wait_for(lambda: log.read_text().count("listening on") == 4, 60, "no worker started once Redis was back")
    stopped, grace = terminate_timed(parent, servers)
    print(f"prefork parent exited {stopped:.2f}s after SIGTERM (grace {grace}s)")
    assert stopped <= grace  # the parent too: Heroku's SIGKILL follows the grace
    assert not child_pids(parent.pid)
