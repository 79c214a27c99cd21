"""Harness of the hostile-client tests: a real server process (``hostile_server.py``) and raw sockets.

Everything is on 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.auth import mint_token
from server.config import AuthSettings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "hostile-test-secret-0123456789-abcdefghijkl"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def token(user: str = "alice", ttl: int = 3600) -> str:
    return mint_token(AuthSettings(key=SECRET, algorithms=("HS256",)), user, ttl_seconds=ttl)


def raise_own_fd_limit() -> None:
    """Let this test process hold a thousand client sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def wait_until(condition: Callable[[], Any], timeout: float, message: str) -> Any:
    """Poll ``condition`` every 50 ms until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {message}")
        time.sleep(0.05)


@dataclass
class ServerProcess:
    """A running ``hostile_server.py``; ``log_path`` holds its stderr (JSON log lines)."""

    process: subprocess.Popen
    port: int
    log_path: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fetch(self, path: str, *, user: str | None = "alice", body: Any = None, headers: dict | None = None,
              timeout: float = 10) -> tuple[int, Any]:
        """One request on a fresh connection; (status, parsed JSON body or None)."""
        all_headers = {"Authorization": f"Bearer {token(user)}"} if user else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        request = urllib.request.Request(self.base + path, data=data, headers=all_headers,  # noqa: S310
                                         method="POST" if data is not None else "GET")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # loopback
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None

    def introspect(self) -> dict[str, Any]:
        """Handlers alive, RSS (KiB) and open connections inside the server process. A server still
        at its connection cap refuses the request itself (503): asked again until it answers."""
        return wait_until(self._introspection, 60, "introspection answered")

    def _introspection(self) -> dict[str, Any] | None:
        status, body = self.fetch("/test/introspect", user=None, timeout=60)  # a full gc takes seconds under load
        return body if status == 200 else None

    def log_lines(self) -> list[str]:
        with open(self.log_path, errors="replace") as log:
            return log.read().splitlines()

    def healthz_seconds(self) -> float:
        """Time for ``GET /healthz`` on a fresh connection to be answered 200, seconds."""
        started = time.perf_counter()
        try:
            status, _ = self.fetch("/healthz", user=None, timeout=10)
        except OSError as error:  # URLError included: say why, with the server's state and last words
            tail = "\n".join(self.log_lines()[-15:])
            raise AssertionError(f"/healthz: {error!r}; server exit code {self.process.poll()}; log:\n{tail}") \
                from error
        assert status == 200
        return time.perf_counter() - started

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(tmp_path: Any, env: dict[str, str] | None = None, nofile: int | None = None) -> ServerProcess:
    """Start ``hostile_server.py`` on a free port with ``env`` added; ``nofile`` caps its RLIMIT_NOFILE."""
    port = free_port()
    full_env = {name: value for name, value in os.environ.items() if name != "WEB_CONCURRENCY"}
    full_env.update({"PORT": str(port), "HOST": "127.0.0.1", "JWT_SECRET": SECRET, "APP_ENV": "test",
                     "CASES_DB": str(tmp_path / "cases.db"), "LOG_FORMAT": "json", "PYTHONPATH": ROOT,
                     "SHUTDOWN_GRACE_SECONDS": "2", **(env or {})})
    log_path = str(tmp_path / f"server-{port}.log")

    def limit_descriptors() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "ops", "hostile_server.py")],  # noqa: S603
                                   cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL, stderr=log,
                                   preexec_fn=limit_descriptors)  # noqa: PLW1509  # before exec, on purpose
    server = ServerProcess(process, port, log_path)

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {open(log_path).read()[-2000:]}")
        try:
            return server.fetch("/healthz", user=None, timeout=1)[0] == 200
        except OSError:
            return False

    try:
        wait_until(ready, 60, "server start")  # importing the LLM SDKs takes seconds on a loaded machine
    except BaseException:
        server.stop()
        raise
    return server


def open_raw(port: int, first_bytes: bytes = b"", timeout: float = 10) -> socket.socket:
    """A connected socket that has sent ``first_bytes``."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if first_bytes:
        sock.sendall(first_bytes)
    return sock


def closed_by_server(sock: socket.socket, timeout: float) -> bool:
    """True when the server closes ``sock`` (EOF or reset) within ``timeout`` seconds, reading what it sends."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    return False
