"""Waiters: the open long-polls and event streams, bounded per user and in total, woken only by
changes of what they watch, and all released at once on shutdown.

Wake-ups come from the store's change notifications (``JobStore.subscribe*``), never from the
runner, so a store shared by several processes wakes the waiters of every process. A watch
subscribes synchronously when it is opened, before the handler yields to the IOLoop, so no change
can slip between "read the state" and "start waiting".
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from server.errors import TooManyRequests, Unavailable
from server.jobs.models import Job
from server.jobs.store import JobStore


class WakeReason(str, enum.Enum):
    """Why a wait ended."""

    CHANGED = "changed"
    TIMEOUT = "timeout"
    SHUTDOWN = "shutdown"
    CLOSED = "closed"  # the client went away


class Watch:
    """One open long-poll: ``wait(timeout)`` returns the first ``WakeReason``."""

    def __init__(self) -> None:
        self._future: asyncio.Future[WakeReason] = asyncio.get_running_loop().create_future()

    def wake(self, reason: WakeReason = WakeReason.CHANGED) -> None:
        """End the wait with ``reason`` (no effect once it ended)."""
        if not self._future.done():
            self._future.set_result(reason)

    async def wait(self, timeout: float) -> WakeReason:
        """Wait at most ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(self._future, timeout)
        except asyncio.TimeoutError:
            return WakeReason.TIMEOUT


class JobStream:
    """One open event stream: a queue of job snapshots, one per change."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Job | WakeReason] = asyncio.Queue()

    def push(self, job: Job) -> None:
        """Queue a changed job (store callback)."""
        self._queue.put_nowait(job)

    def wake(self, reason: WakeReason) -> None:
        """End the stream (shutdown or client gone)."""
        self._queue.put_nowait(reason)

    async def next(self, timeout: float) -> Job | WakeReason:
        """The next changed job, ``TIMEOUT`` after ``timeout`` seconds, or the reason it ended."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except asyncio.TimeoutError:
            return WakeReason.TIMEOUT


class Waiters:
    """Registry of open waits and streams.

    Args:
        store: the job store whose notifications wake the waits.
        max_per_user: open waits and streams one user may hold (``LONGPOLL_MAX_PER_USER``).
        max_total: open waits and streams in the process (``LONGPOLL_MAX_TOTAL``).
    """

    def __init__(self, store: JobStore, *, max_per_user: int, max_total: int):
        self._store = store
        self._max_per_user = max_per_user
        self._max_total = max_total
        self._by_user: dict[str, int] = {}
        self._open: set[Watch | JobStream] = set()
        self._closing = False

    @property
    def open_count(self) -> int:
        """Open waits and streams right now (tests and metrics)."""
        return len(self._open)

    @property
    def stream_count(self) -> int:
        """Open event streams right now."""
        return sum(isinstance(item, JobStream) for item in self._open)

    @contextmanager
    def watch_job(self, user_id: str, job_id: str, done: Callable[[Job], bool]) -> Iterator[Watch]:
        """Open a watch woken by the first change of job ``job_id`` that satisfies ``done``.

        Only this job's changes reach it: the cost of a change does not grow with the waits on
        other jobs. Raises like ``_slot``.
        """
        watch = Watch()

        def on_change(job: Job) -> None:
            if done(job):
                watch.wake()

        with self._holding(user_id, watch, self._store.subscribe(job_id, on_change)):
            yield watch

    @contextmanager
    def watch_owner(self, user_id: str, owner_id: str | None) -> Iterator[Watch]:
        """Open a watch woken by any change of ``owner_id``'s jobs (None: of any job)."""
        watch = Watch()
        with self._holding(user_id, watch, self._store.subscribe_owner(owner_id, lambda job: watch.wake())):
            yield watch

    @contextmanager
    def stream(self, user_id: str, job_id: str) -> Iterator[JobStream]:
        """Open an event stream receiving every change of job ``job_id``."""
        stream = JobStream()
        with self._holding(user_id, stream, self._store.subscribe(job_id, stream.push)):
            yield stream

    @contextmanager
    def _holding(self, user_id: str, item: Watch | JobStream, unsubscribe: Callable[[], None]) -> Iterator[None]:
        try:
            self._take_slot(user_id)
        except Exception:
            unsubscribe()
            raise
        self._open.add(item)
        if self._closing:
            item.wake(WakeReason.SHUTDOWN)
        try:
            yield
        finally:
            unsubscribe()
            self._open.discard(item)
            self._release_slot(user_id)

    def _take_slot(self, user_id: str) -> None:
        held = self._by_user.get(user_id, 0)
        if held >= self._max_per_user:
            raise TooManyRequests(f"At most {self._max_per_user} open long-polls or streams per user",
                                  code="too_many_waits", retry_after=2)
        if len(self._open) >= self._max_total:
            raise Unavailable("The server holds too many open long-polls; poll instead",
                              code="too_many_waits", retry_after=2)
        self._by_user[user_id] = held + 1

    def _release_slot(self, user_id: str) -> None:
        left = self._by_user[user_id] - 1
        if left:
            self._by_user[user_id] = left
        else:
            del self._by_user[user_id]

    def release_all(self) -> None:
        """Shutdown: every open wait and stream answers now, and later ones do not wait."""
        self._closing = True
        for item in list(self._open):
            item.wake(WakeReason.SHUTDOWN)
