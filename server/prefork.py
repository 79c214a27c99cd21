"""Pre-fork: N worker processes accept on the sockets the parent bound (``WEB_CONCURRENCY`` with a
shared job store). Pre-fork rather than ``SO_REUSEPORT``: one bind, one port, and the kernel hands
each connection to whichever worker accepts first; it works the same on Linux and macOS.

The parent forwards SIGTERM/SIGINT to the workers and waits for them; each worker runs its own
graceful shutdown (``server.__main__.serve``). A worker that dies while the parent is not shutting
down (killed by the OOM killer or SIGKILL, or crashed) is replaced in the same slot, after a delay
that doubles with each quick death of that slot (``RESTART_DELAY_SECONDS`` up to
``MAX_RESTART_DELAY_SECONDS``), so a worker that cannot start does not make the parent spin.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from dataclasses import dataclass

log = logging.getLogger("server")

RESTART_DELAY_SECONDS = 0.5
"""Wait before replacing a dead worker the first time (and after a worker that lived long enough)."""
MAX_RESTART_DELAY_SECONDS = 30.0
"""Longest wait between two restarts of one slot (a crash loop settles at one start per 30 s)."""
STABLE_SECONDS = 60.0
"""A worker that lived this long died of something new: its slot's delay starts over."""
_POLL_SECONDS = 0.1  # how often the parent looks for exits while a restart is scheduled


@dataclass
class _Slot:
    index: int
    pid: int = 0
    started: float = 0.0
    delay: float = RESTART_DELAY_SECONDS
    restart_at: float | None = None  # monotonic time of the scheduled replacement, while dead


def fork_workers(count: int) -> int | None:
    """Fork ``count`` workers and supervise them.

    Returns the worker's index (0..count-1) in a worker, which goes on serving (worker 0 is the one
    that prints start-up notes meant once per server, such as the development tokens); returns None
    in the parent once every worker has exited after a shutdown signal. The parent exits with status
    1 (via ``SystemExit``) when a worker it did not signal failed while shutting down.
    """
    slots = [_Slot(index) for index in range(count)]
    for slot in slots:
        if _fork(slot):
            return slot.index
    return _supervise(slots)


def _fork(slot: _Slot) -> bool:
    """Start the worker of ``slot``; True in the child."""
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        return True
    slot.pid, slot.started, slot.restart_at = pid, time.monotonic(), None
    return False


def _supervise(slots: list[_Slot]) -> int | None:
    forwarded: set[int] = set()

    def forward(signum: int, _frame: object) -> None:
        forwarded.add(signum)
        for slot in slots:
            if slot.pid:
                try:
                    os.kill(slot.pid, signum)
                except ProcessLookupError:
                    pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    while any(slot.pid for slot in slots) or (not forwarded and any(slot.restart_at for slot in slots)):
        scheduled = not forwarded and any(slot.restart_at for slot in slots)
        try:
            pid, code = os.waitpid(-1, os.WNOHANG if scheduled else 0)
        except ChildProcessError:
            pid, code = 0, 0
        except InterruptedError:
            continue
        if pid == 0:
            if scheduled:
                time.sleep(_POLL_SECONDS)
                for slot in slots:
                    if slot.restart_at is not None and time.monotonic() >= slot.restart_at and not forwarded:
                        if _fork(slot):
                            return slot.index
            continue
        dead = next((slot for slot in slots if slot.pid == pid), None)
        if dead is None:
            continue
        dead.pid = 0
        exit_code = os.waitstatus_to_exitcode(code)
        if forwarded:
            if exit_code != 0 and -exit_code not in forwarded and status == 0:
                status = exit_code if exit_code > 0 else 1
                print(f"worker {pid} exited with status {exit_code}", file=sys.stderr, flush=True)
            continue  # shutting down: never replaced
        _schedule_restart(dead, pid, exit_code)
    if status:
        sys.exit(status)
    return None


def _schedule_restart(slot: _Slot, pid: int, exit_code: int) -> None:
    """Plan the replacement of the worker ``pid`` that died outside a shutdown."""
    now = time.monotonic()
    if now - slot.started >= STABLE_SECONDS:
        slot.delay = RESTART_DELAY_SECONDS
    slot.restart_at = now + slot.delay
    print(f"worker {pid} exited with status {exit_code}; starting a new worker {slot.index} in {slot.delay:.1f}s",
          file=sys.stderr, flush=True)
    slot.delay = min(MAX_RESTART_DELAY_SECONDS, slot.delay * 2)
