"""Case storage, SQLite vs PostgreSQL side by side: ``GET /cases/{id}``, ``GET /cases?limit=50`` and an
upload of the demo PDF, against a real ``python -m server`` process on each database.

PostgreSQL is a throwaway server started from the installed binaries (``tests/postgres.py``; run as
the ``postgres`` user when this runs as root) with its default durability (fsync on, synchronous
commit), as SQLite keeps its own (WAL, synchronous=NORMAL).

    python bench/bench_cases.py --cases 200 --seconds 10 --rate 200 --uploads 40
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.harness import ROOT, SECRET, closed_loop, free_port, open_loop, percentiles, token  # noqa: E402
from tests.postgres import PostgresServer  # noqa: E402

DEMO_PDF = os.path.join(ROOT, "server", "cases", "demo_files", "medical_summary_he.pdf")
TRANSCRIPT = "המבוטח מסר כי נפגע בגבו בעבודה, ונבדק אצל רופא תעסוקתי. " * 300  # ~17 KB of Hebrew


def start_server(database_url: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "APP_ENV": "test", "JWT_SECRET": SECRET, "DATABASE_URL": database_url,
           "PORT": str(port), "LOG_LEVEL": "WARNING", "PYTHONPATH": ROOT}
    process = subprocess.Popen([sys.executable, "-m", "server"], cwd=ROOT, env=env,  # noqa: S603
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):  # noqa: S310
                return process, port
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("server did not start") from None
            time.sleep(0.2)


def call(port: int, method: str, path: str, headers: dict[str, str], body: bytes | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def seed(port: int, headers: dict[str, str], count: int) -> list[str]:
    body = json.dumps({"title": "תיק בדיקה", "call_details": {"transcript": TRANSCRIPT, "messages": []}}).encode()
    ids = []
    for _ in range(count):
        status, data = call(port, "POST", "/cases", {**headers, "Content-Type": "application/json"}, body)
        assert status == 201, status
        ids.append(json.loads(data)["case_id"])
    return ids


def uploads(port: int, headers: dict[str, str], case_id: str, count: int) -> tuple[float, dict[str, float]]:
    with open(DEMO_PDF, "rb") as file:
        pdf = file.read()
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"summary.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode() + pdf + f"\r\n--{boundary}--\r\n".encode()
    upload_headers = {**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    latencies = []
    started = time.perf_counter()
    for _ in range(count):
        sent = time.perf_counter()
        status, _ = call(port, "POST", f"/cases/{case_id}/documents", upload_headers, body)
        assert status == 201, status
        latencies.append(time.perf_counter() - sent)
    return count / (time.perf_counter() - started), percentiles(latencies)


def measure(name: str, database_url: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    process, port = start_server(database_url)
    headers = {"Authorization": f"Bearer {token('bench')}"}
    try:
        ids = seed(port, headers, args.cases)
        results: dict[str, dict[str, float]] = {}
        for label, paths in (("GET /cases/{id}", [f"/cases/{case_id}" for case_id in ids]),
                             ("GET /cases?limit=50", ["/cases?limit=50"])):
            rps = asyncio.run(closed_loop(port, paths, headers, args.seconds, connections=8))
            latencies, errors = asyncio.run(open_loop(port, paths, headers, args.rate, args.seconds, connections=8))
            results[label] = {"rps": rps, **percentiles(latencies), "errors": errors}
        rps, stats = uploads(port, headers, ids[0], args.uploads)
        results["POST upload (demo PDF)"] = {"rps": rps, **stats, "errors": 0}
        print(f"{name}: done", file=sys.stderr)
        return results
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=200, help="cases seeded before measuring")
    parser.add_argument("--seconds", type=float, default=10, help="seconds per closed-loop and open-loop run")
    parser.add_argument("--rate", type=float, default=200, help="open-loop request rate for the p99 (req/s)")
    parser.add_argument("--uploads", type=int, default=40, help="demo PDF uploads (one at a time)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        sqlite = measure("sqlite", f"sqlite:///{directory}/cases.db", args)
    server = PostgresServer(durable=True).initdb()
    try:
        server.start()
        server.psql('CREATE DATABASE "bench"')
        postgres = measure("postgresql", server.url("bench", scheme="postgres"), args)
    finally:
        server.cleanup()

    print(f"\n{'measure':<26}{'SQLite rps':>12}{'p50 ms':>9}{'p99 ms':>9}{'PG rps':>10}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'p99 PG/SQLite':>15}")
    for label in sqlite:
        a, b = sqlite[label], postgres[label]
        print(f"{label:<26}{a['rps']:>12,.0f}{a['p50_ms']:>9.1f}{a['p99_ms']:>9.1f}{b['rps']:>10,.0f}"
              f"{b['p50_ms']:>9.1f}{b['p99_ms']:>9.1f}{b['p99_ms'] / a['p99_ms']:>15.2f}")
        if a["errors"] or b["errors"]:
            print(f"  errors: sqlite={a['errors']} postgresql={b['errors']}")


if __name__ == "__main__":
    main()
