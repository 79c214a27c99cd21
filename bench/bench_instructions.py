"""Instructions per ``GET /jobs/{id}``: this server against the bare Tornado ceiling, counted by callgrind.

CPU time per request moves by 20-40% between runs on this shared virtual machine; instruction counts
do not (callgrind counts the same total for the same code and inputs whatever else the machine runs),
so this is the steady measure of "how much work is a poll" behind issue 19's "0.85 of the ceiling".
Each server runs under ``valgrind --tool=callgrind`` (about 50x slower) with ``--jobs`` finished jobs;
wrk polls them on 4 connections for ``--warmup`` seconds, the counters are zeroed, wrk polls for
``--seconds`` more, and the total is divided by the requests wrk completed.

    apt-get install -y valgrind wrk
    python bench/bench_instructions.py            # about 2 minutes
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_tail import _WRK_SCRIPT, control, polled_ids  # noqa: E402
from harness import ROOT, SECRET, token  # noqa: E402


def under_callgrind(script: str, *args: str, env: dict[str, str]) -> tuple[subprocess.Popen, int, str]:
    """Start ``bench/<script>`` under callgrind; returns the process, its port and its output file."""
    out = os.path.join(tempfile.mkdtemp(prefix="callgrind-"), "callgrind.out")
    full_env = {**os.environ, "JWT_SECRET": SECRET, "PYTHONPATH": ROOT, "LOG_LEVEL": "WARNING", **env}
    process = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,  # noqa: S603, S607
                                os.path.join(ROOT, "bench", script), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=full_env, text=True)
    assert process.stdout is not None
    return process, int(json.loads(process.stdout.readline())["port"]), out


def wrk_requests(port: int, paths: list[str], seconds: float) -> int:
    """Requests wrk completed polling ``paths`` on 4 connections for ``seconds``."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT % ", ".join(f'"{path}"' for path in paths[:200]))
    command = ["wrk", "-t1", "-c4", f"-d{seconds:g}s", "-s", script.name,
               "-H", f"Authorization: Bearer {token('user-0')}", f"http://127.0.0.1:{port}/"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    os.unlink(script.name)
    if "Non-2xx" in output:
        raise RuntimeError(f"wrk saw error answers:\n{output}")
    return int(next(line.split()[0] for line in output.splitlines() if " requests in " in line))


def instructions_per_request(name: str, args: argparse.Namespace) -> dict:
    """Start one server under callgrind, poll it, and count (thousands of instructions per request)."""
    if name == "this server":
        env = {"LOG_LEVEL": "INFO", "MAX_ACTIVE_JOBS_PER_USER": "1000000", "MAX_STORED_JOBS": str(args.jobs * 2)}
        process, port, out = under_callgrind("bench_server.py", env=env)
        control(port, f"/bench/populate?n={args.jobs}&result_bytes=2048")
    else:
        process, port, out = under_callgrind("bare_tornado.py", "--jobs", str(args.jobs), env={})
    paths = [f"/jobs/{job}" for job in polled_ids(args.jobs)]
    try:
        wrk_requests(port, paths, args.warmup)
        subprocess.run(["callgrind_control", "--zero", str(process.pid)], check=True, capture_output=True)  # noqa: S603, S607
        requests = wrk_requests(port, paths, args.seconds)
        subprocess.run(["callgrind_control", "--dump", str(process.pid)], check=True, capture_output=True)  # noqa: S603, S607
        time.sleep(1)
        newest = max(glob.glob(out + "*"), key=os.path.getmtime)
        with open(newest) as dump:
            total = next(int(line.split()[1]) for line in dump if line.startswith(("summary:", "totals:")))
    finally:
        process.terminate()
        process.wait()
    return {"server": name, "requests": requests, "k_instructions_per_request": round(total / requests / 1000, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000, help="finished jobs stored (populated under callgrind too)")
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    results = [instructions_per_request(name, args) for name in ("this server", "bare Tornado")]
    for result in results:
        print(f"{result['server']}: {result['k_instructions_per_request']:,} k instructions per request "
              f"({result['requests']} requests)")
    ours, bare = (result["k_instructions_per_request"] for result in results)
    print(f"ceiling / this server: {bare / ours:.2f} (>= 0.85 is issue 19's target)")


if __name__ == "__main__":
    main()
