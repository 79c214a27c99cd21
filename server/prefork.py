"""Pre-fork: N worker processes accept on the sockets the parent bound (``WEB_CONCURRENCY`` with a
shared job store). Pre-fork rather than ``SO_REUSEPORT``: one bind, one port, and the kernel hands
each connection to whichever worker accepts first; it works the same on Linux and macOS.

The parent only forwards SIGTERM/SIGINT to the workers and waits for them; each worker runs its
own graceful shutdown (``server.__main__.serve``).
"""

from __future__ import annotations

import logging
import os
import signal
import sys

log = logging.getLogger("server")


def fork_workers(count: int) -> bool:
    """Fork ``count`` workers. Returns True in a worker (go on serving), False in the parent once
    every worker has exited (its exit status is then the first non-zero status of a worker).
    """
    children: list[int] = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            return True
        children.append(pid)

    forwarded: set[int] = set()

    def forward(signum: int, _frame: object) -> None:
        forwarded.add(signum)
        for child in children:
            try:
                os.kill(child, signum)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    remaining = set(children)
    while remaining:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        remaining.discard(pid)
        exit_code = os.waitstatus_to_exitcode(code)
        if -exit_code in forwarded:
            continue  # stopped by the signal we passed on before it could install its own handler
        if exit_code != 0 and status == 0:
            status = exit_code if exit_code > 0 else 1
            print(f"worker {pid} exited with status {exit_code}", file=sys.stderr, flush=True)
    if status:
        sys.exit(status)
    return False
