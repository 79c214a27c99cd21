"""A throwaway ``redis-server`` from its binary, on a free port, in a temporary directory.

Never the Redis on the standard port (other work may use it), never a mock or fakeredis.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

INSTALL_HINT = ("redis-server not found: install it (apt-get install redis-server, or brew install redis) "
                "to run the Redis store tests")


def require_redis_server() -> str:
    """Path of ``redis-server``; skips the test when missing, but fails it under ``CI=true``."""
    path = shutil.which("redis-server")
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{INSTALL_HINT} (CI=true: the Redis tests may not be skipped)")
        pytest.skip(INSTALL_HINT)
    return path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answering_pid(port: int) -> int | None:
    """The ``process_id`` of the Redis serving on 127.0.0.1:``port``, or None while nothing there
    answers ``PING`` with ``PONG`` (not listening yet, or still loading its data: ``-LOADING``)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
            conn.settimeout(1)
            conn.sendall(b"PING\r\nINFO server\r\n")
            reply = b""
            while not reply.startswith(b"-") and b"\r\n" not in reply.partition(b"process_id:")[2]:
                chunk = conn.recv(65536)
                if not chunk:
                    return None
                reply += chunk
    except OSError:
        return None
    if not reply.startswith(b"+PONG"):
        return None
    return int(reply.partition(b"process_id:")[2].split(b"\r\n", 1)[0])


class RedisServer:
    """One ``redis-server`` process; ``stop()`` kills it, ``start()`` brings it back on the same port."""

    def __init__(self, binary: str, port: int | None = None, *, persist: bool = False):
        self.binary = binary
        self.persist = persist  # append-only file fsynced on every write: a SIGKILL loses nothing
        self._own_port = port is None  # picked here: another may be picked until the first start
        self.port = port or free_port()
        self.directory = tempfile.mkdtemp(prefix="redis-test-")
        self.process: subprocess.Popen[bytes] | None = None
        self._started = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start ``redis-server`` and wait until *it* answers on ``self.port``.

        The port was free when it was picked, but another process (another xdist worker's server,
        another test run on the machine) may bind it before ``redis-server`` does: then our process
        exits ("Address already in use") while a PING to the port is answered by the other server,
        and the test would go on against a Redis it does not own (and that ``stop()`` or SIGSTOP
        never reach). So the answer must come from our own process (``INFO server``'s
        ``process_id``). A port picked here is replaced by a fresh one; a port that must stay (a
        restart, or one given by the caller) is an error that says so.
        """
        for _ in range(5):
            logged = os.path.getsize(self.log_file) if os.path.exists(self.log_file) else 0
            if self._start_once():
                return self
            with open(self.log_file, "rb") as log:
                log.seek(logged)
                said = log.read().decode(errors="replace")
            # Only a taken port moves: any other failure (bad binary, option, directory) is reported as it is.
            if not self._own_port or self._started or "Address already in use" not in said:
                break
            self.port = free_port()
        raise RuntimeError(f"redis-server did not start on 127.0.0.1:{self.port}; it said: {said.strip()[-1500:]!r}")

    @property
    def log_file(self) -> str:
        """What ``redis-server`` printed, every start appended."""
        return os.path.join(self.directory, "redis-server.log")

    def _start_once(self) -> bool:
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603  (our own argument list, no shell)
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "yes" if self.persist else "no", "--appendfsync", "always",
                 "--dir", self.directory, "--protected-mode", "no"],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            if answering_pid(self.port) == self.process.pid:
                self._started = True
                return True
            time.sleep(0.02)
        self.stop()
        return False

    def stop(self) -> None:
        """Kill the server (SIGKILL) and wait for it; ``start()`` brings it back on the same port."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
