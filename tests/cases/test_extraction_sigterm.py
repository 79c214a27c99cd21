"""A real ``python -m server`` process: SIGTERM during an extraction kills its worker at once, answers
the upload 503 and exits within ``SHUTDOWN_GRACE_SECONDS``, leaving no worker process behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import psutil

from server.auth import mint_token
from server.config import AuthSettings
from tests.cases.costly import sparse_pdf
from tests.cases.files import multipart

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "extraction-sigterm-secret-0123456789-abcdef"
GRACE = 4.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request(url: str, body: bytes | None = None, content_type: str = "application/json",
            timeout: float = 60) -> tuple[int, dict]:
    token = mint_token(AuthSettings(key=SECRET, algorithms=("HS256",)), "alice")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    call = urllib.request.Request(url, data=body, headers=headers,  # noqa: S310  # http://127.0.0.1 only
                                  method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(call, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def start_server(tmp_path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name != "WEB_CONCURRENCY"}
    env.update({"PORT": str(port), "HOST": "127.0.0.1", "JWT_SECRET": SECRET, "SHUTDOWN_GRACE_SECONDS": str(GRACE),
                "APP_ENV": "test", "CASES_DB": str(tmp_path / "cases.db"), "EXTRACTION_TIMEOUT_SECONDS": "300"})
    process = subprocess.Popen([sys.executable, "-m", "server"], cwd=ROOT, env=env,  # noqa: S603
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 40
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1):  # noqa: S310
                return process, base
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"server did not start: {process.communicate()[1][-2000:]}")
        time.sleep(0.05)


def busy_descendant(server: psutil.Process, timeout: float = 30) -> psutil.Process:
    """The worker process reading the upload (a descendant using CPU), once there is one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in server.children(recursive=True):
            try:
                if child.cpu_percent(interval=0.2) > 5:  # idle workers and the forkserver use none
                    return child
            except psutil.NoSuchProcess:
                continue
    raise AssertionError("no extraction worker got busy")


def test_sigterm_during_an_extraction_exits_within_the_grace_and_leaves_no_worker(tmp_path):
    process, base = start_server(tmp_path)
    server = psutil.Process(process.pid)
    try:
        status, case = request(f"{base}/cases", json.dumps({"title": "Slow upload"}).encode())
        assert status == 201
        body, content_type = multipart("slow.pdf", sparse_pdf(20_000, pages=200))
        with ThreadPoolExecutor(1) as pool:
            upload = pool.submit(request, f"{base}/cases/{case['case_id']}/documents", body, content_type)
            worker = busy_descendant(server)
            descendants = server.children(recursive=True)
            sent = time.monotonic()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=GRACE + 5) == 0
            exited = time.monotonic() - sent
            try:
                status, answer = upload.result(timeout=5)
                assert status == 503 and answer["code"] == "shutting_down", process.communicate()[1][-3000:]
            except (ConnectionError, urllib.error.URLError):
                pass  # the connection was closed with the server: also an answer the client can act on
        assert exited < GRACE
        assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
        gone, alive = psutil.wait_procs(descendants, timeout=5)
        assert alive == []
        assert "shutdown complete" in process.communicate()[1]
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
