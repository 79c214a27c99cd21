"""The attacks of issue 11 at full size against a real server process; prints one JSON line each.

```sh
python bench/bench_hostile.py            # all attacks (about 3 minutes)
python bench/bench_hostile.py uploads    # one of: uploads, json, slow_headers, ulimit, numbers, tokens, emfile
```

The server is ``tests/ops/hostile_server.py`` (``python -m server`` plus ``GET /test/introspect``,
which reports request handlers alive after ``gc.collect()``, resident memory and open connections).
``/healthz`` latency is always measured on a fresh connection. The tests in ``tests/ops/test_hostile.py``
run smaller versions of the same attacks with assertions.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jwt  # noqa: E402

from tests.ops.hostile import SECRET, ServerProcess, open_raw, raise_own_fd_limit, start_server, token  # noqa: E402

SLOW_HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def healthz_ms(server: ServerProcess, samples: int = 20) -> dict[str, float | int]:
    """/healthz from fresh connections: p50 and max in ms, and how many were answered 200."""
    times, answered = [], 0
    for _ in range(samples):
        started = time.perf_counter()
        try:
            status, _ = server.fetch("/healthz", user=None, timeout=10)
            answered += status == 200
        except OSError:
            pass
        times.append((time.perf_counter() - started) * 1000)
    return {"healthz_p50_ms": round(statistics.median(times), 1), "healthz_max_ms": round(max(times), 1),
            "healthz_answered": answered, "healthz_samples": samples}


def head(path: str, length: int, content_type: str) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token()}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n").encode()


def settle(server: ServerProcess, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        seen = server.introspect()
        if (seen["handlers"] == 0 and seen["in_flight"] == 0) or time.monotonic() > deadline:
            return seen


def log_count(server: ServerProcess, word: str) -> int:
    return sum(1 for line in server.log_lines() if word in line)


def attack_uploads(tmp: Path) -> dict:
    """40 uploads of 25 MiB, each abandoned one byte short."""
    server = start_server(tmp)
    try:
        status, case = server.fetch("/cases", body={"title": "Bench"})
        before = settle(server)["rss_kib"]
        size = 25 * 1024 * 1024
        upload = head(f"/cases/{case['case_id']}/documents", size, "multipart/form-data; boundary=b")
        peak = 0
        for _ in range(4):  # 10 at a time, so the client does not hold 1 GB
            clients = [open_raw(server.port, upload) for _ in range(10)]
            for client in clients:
                client.sendall(b"x" * (size - 1))
            peak = max(peak, server.introspect()["rss_kib"])
            for client in clients:
                client.close()
        after = settle(server)
        return {"attack": "40 x 25 MiB uploads abandoned 1 byte short", "rss_before_mib": before // 1024,
                "rss_peak_mib": peak // 1024, "rss_after_mib": after["rss_kib"] // 1024,
                "handlers_alive_after": after["handlers"], **healthz_ms(server)}
    finally:
        server.stop()


def attack_json(tmp: Path) -> dict:
    """3 rounds of 300 JSON bodies of 1 MB abandoned one byte short."""
    server = start_server(tmp)
    try:
        size = 1_000_000
        rounds = [settle(server)["rss_kib"] // 1024]
        for _ in range(3):
            clients = []
            for _ in range(300):
                clients.append(open_raw(server.port, head("/cases", size, "application/json") + b" " * (size - 1)))
            for client in clients:
                client.close()
            rounds.append(settle(server)["rss_kib"] // 1024)
        return {"attack": "3 rounds x 300 JSON bodies of 1 MB abandoned", "rss_mib_before_and_after_each_round": rounds,
                "handlers_alive_after": server.introspect()["handlers"], **healthz_ms(server)}
    finally:
        server.stop()


def attack_slow_headers(tmp: Path) -> dict:
    """1,000 slow-header connections with MAX_CONNECTIONS=4096."""
    server = start_server(tmp, {"MAX_CONNECTIONS": "4096"})
    clients = []
    try:
        idle = healthz_ms(server)
        clients = [open_raw(server.port, SLOW_HEAD) for _ in range(1000)]
        time.sleep(1)
        seen = server.introspect()
        return {"attack": "1,000 slow-header connections, MAX_CONNECTIONS=4096",
                "open_connections": seen["open_connections"], "rss_mib": seen["rss_kib"] // 1024, "idle": idle,
                "under_attack": healthz_ms(server)}
    finally:
        for client in clients:
            client.close()
        server.stop()


def attack_ulimit(tmp: Path) -> dict:
    """1,100 slow-header connections under ulimit -n 1024 (issue 11: /healthz unreachable until they closed)."""
    server = start_server(tmp, nofile=1024)
    clients = []
    try:
        started = time.monotonic()
        clients = [open_raw(server.port, SLOW_HEAD) for _ in range(1100)]
        time.sleep(0.5)
        during = healthz_ms(server, 5)
        while True:  # the header timeout (10 s) closes the attackers; when does /healthz answer again?
            try:
                if server.fetch("/healthz", user=None, timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        recovered = time.monotonic() - started
        lines = server.log_lines()
        return {"attack": "1,100 slow-header connections, RLIMIT_NOFILE=1024", "during": during,
                "healthz_200_again_after_s": round(recovered, 1), "log_lines_total": len(lines),
                "log_lines_connection_refused": log_count(server, "over_connection_cap"),
                "tracebacks": log_count(server, "Traceback")}
    finally:
        for client in clients:
            client.close()
        server.stop()


def attack_numbers(tmp: Path) -> dict:
    """Integers of 5,000 digits wherever the API reads a number."""
    server = start_server(tmp)
    try:
        status, case = server.fetch("/cases", body={"title": "Bench", "call_details": {"transcript": "t"}})
        job_id = server.fetch(f"/vapi/re-analyze-call/{case['case_id']}", body={})[1]["job_id"]
        digits = "9" * 5000
        probes = [(f"/jobs/{job_id}?since={digits}", {}),
                  (f"/jobs/{job_id}", {"If-None-Match": f'"{job_id}.{digits}"'}),
                  (f"/jobs/{job_id}/events", {"Last-Event-ID": digits}), (f"/jobs?since=x-{digits}", {}),
                  (f"/jobs?limit={digits}", {}), (f"/jobs?cursor={digits}", {}), (f"/jobs/{job_id}?wait={digits}", {})]
        statuses = [server.fetch(path, headers=headers)[0] for path, headers in probes]
        return {"attack": "5,000-digit integers in since, If-None-Match, Last-Event-ID, cursor, limit, wait",
                "statuses": statuses, "uncaught_exceptions": log_count(server, "uncaught exception")}
    finally:
        server.stop()


def attack_tokens(tmp: Path) -> dict:
    """4,000 distinct valid tokens of 60 KB."""
    server = start_server(tmp)
    try:
        server.fetch("/jobs")
        before = settle(server)["rss_kib"]
        pad = "p" * 45_000
        for index in range(4000):
            claims = {"sub": f"u{index}", "exp": int(time.time()) + 3600, "pad": pad}
            big = jwt.encode(claims, SECRET, algorithm="HS256")
            server.fetch("/jobs?limit=1", headers={"Authorization": f"Bearer {big}"})
        after = settle(server)["rss_kib"]
        return {"attack": "4,000 distinct valid 60 KB tokens", "rss_before_mib": before // 1024,
                "rss_after_mib": after // 1024, **healthz_ms(server)}
    finally:
        server.stop()


def attack_emfile(tmp: Path) -> dict:
    """Descriptors run out under the cap (the limit lowered to 64 after start): 600 connections for 10 s."""
    server = start_server(tmp, {"FD_RESERVE": "16"}, nofile=1024)
    resource.prlimit(server.process.pid, resource.RLIMIT_NOFILE, (64, 64))
    clients = []
    try:
        for _ in range(600):
            try:
                clients.append(open_raw(server.port, SLOW_HEAD, timeout=2))
            except OSError:
                break
        time.sleep(10)
        lines = server.log_lines()
        return {"attack": "600 connections with 64 descriptors left, for 10 s", "log_lines_total": len(lines),
                "log_lines_out_of_descriptors": log_count(server, "out_of_descriptors"),
                "tracebacks": log_count(server, "Traceback")}
    finally:
        for client in clients:
            client.close()
        server.stop()


ATTACKS = {"uploads": attack_uploads, "json": attack_json, "slow_headers": attack_slow_headers,
           "ulimit": attack_ulimit, "numbers": attack_numbers, "tokens": attack_tokens, "emfile": attack_emfile}


def main() -> None:
    raise_own_fd_limit()
    chosen = sys.argv[1:] or list(ATTACKS)
    for name in chosen:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(ATTACKS[name](Path(tmp))), flush=True)


if __name__ == "__main__":
    socket.setdefaulttimeout(30)
    main()
