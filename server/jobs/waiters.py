"""Waiters: the open long-polls and event streams, bounded per user and in total, woken only by
changes of what they watch, and all released at once on shutdown.

Wake-ups come from the store's change notifications (``JobStore.subscribe*``), never from the
runner, so a store shared by several processes wakes the waiters of every process. A watch
subscribes synchronously when it is opened, before the handler yields to the IOLoop, so no change
can slip between "read the state" and "start waiting".
"""

from __future__ import annotations

import abc
import asyncio
import enum
from collections.abc import Callable
from typing import TypeVar

from server.error_codes import ErrorCode
from server.errors import TooManyRequests, Unavailable
from server.jobs.models import Job
from server.jobs.store import ChangeCallback, JobStore


class WakeReason(str, enum.Enum):
    """Why a wait ended."""

    CHANGED = "changed"
    TIMEOUT = "timeout"
    SHUTDOWN = "shutdown"
    CLOSED = "closed"  # the client went away


HeldT = TypeVar("HeldT", bound="Held")


class Held(abc.ABC):
    """An open wait or stream: holds a user's slot and a store subscription until closed.

    A plain class rather than generator context managers, and no ``asyncio.wait_for``: with ten
    thousand parked long-polls every frame and closure per waiter shows in resident memory.
    Subclasses declare ``__slots__`` for the same reason.
    """

    __slots__ = ("_waiters", "_user_id", "_unsubscribe")

    def __init__(self, waiters: Waiters, user_id: str):
        self._waiters = waiters
        self._user_id = user_id
        self._unsubscribe: Callable[[], None] | None = None

    def __enter__(self: HeldT) -> HeldT:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """True once closed (and before ``Waiters`` registered it)."""
        return self._unsubscribe is None

    def close(self) -> None:
        """Unsubscribe and give the slot back (idempotent)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
            self._waiters._release(self._user_id, self)

    @abc.abstractmethod
    def wake(self, reason: WakeReason) -> None:
        """End the wait or stream with ``reason`` (shutdown, client gone...)."""


class Watch(Held):
    """One open wait on the list change feed: ``await watch.wait(timeout)`` gives the first
    ``WakeReason``. (Long-polls on one job are parked instead: ``server.http.parking``.)"""

    __slots__ = ("_future", "_timer")

    def __init__(self, waiters: Waiters, user_id: str):
        super().__init__(waiters, user_id)
        self._future: asyncio.Future[WakeReason] = asyncio.get_running_loop().create_future()
        self._timer: asyncio.TimerHandle | None = None

    def wake(self, reason: WakeReason = WakeReason.CHANGED) -> None:
        """End the wait with ``reason`` (no effect once it ended)."""
        if not self._future.done():
            self._future.set_result(reason)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def wait(self, timeout: float) -> asyncio.Future[WakeReason]:
        """The future of the wait, which resolves ``TIMEOUT`` after ``timeout`` seconds at the latest."""
        if not self._future.done():
            self._timer = asyncio.get_running_loop().call_later(timeout, self.wake, WakeReason.TIMEOUT)
        return self._future

    def close(self) -> None:
        """Release the slot and the subscription; cancel the deadline timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().close()


class JobStream(Held):
    """One open event stream: a queue of job snapshots, one per change."""

    __slots__ = ("_queue",)

    def __init__(self, waiters: Waiters, user_id: str):
        super().__init__(waiters, user_id)
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
        self._open: set[Held] = set()
        self._closing = False

    @property
    def open_count(self) -> int:
        """Open waits and streams right now (tests and metrics)."""
        return len(self._open)

    @property
    def stream_count(self) -> int:
        """Open event streams right now."""
        return sum(isinstance(item, JobStream) for item in self._open)

    def hold_job(self, held: HeldT, job_id: str, on_change: ChangeCallback) -> HeldT:
        """Register ``held``; ``on_change`` hears every change of job ``job_id`` until it closes.

        Only this job's changes reach it: the cost of a change does not grow with the waits on
        other jobs. During shutdown ``held`` is woken (``SHUTDOWN``) at once. Raises like
        ``_take_slot``, before anything is registered.
        """
        return self._open_held(held, lambda: self._store.subscribe(job_id, on_change))

    def watch_owner(self, user_id: str, owner_id: str | None) -> Watch:
        """Open a watch woken by any change of ``owner_id``'s jobs (None: of any job)."""
        watch = Watch(self, user_id)
        return self._open_held(watch, lambda: self._store.subscribe_owner(owner_id, lambda job: watch.wake()))

    def stream(self, user_id: str, job_id: str) -> JobStream:
        """Open an event stream receiving every change of job ``job_id``."""
        stream = JobStream(self, user_id)
        return self.hold_job(stream, job_id, stream.push)

    def _open_held(self, held: HeldT, subscribe: Callable[[], Callable[[], None]]) -> HeldT:
        self._take_slot(held._user_id)
        held._unsubscribe = subscribe()
        self._open.add(held)
        if self._closing:
            held.wake(WakeReason.SHUTDOWN)
        return held

    def _take_slot(self, user_id: str) -> None:
        """Count one more wait for ``user_id``.

        Raises:
            TooManyRequests: the user holds ``max_per_user`` (429, ``Retry-After``).
            Unavailable: the process holds ``max_total`` (503, ``Retry-After``).
        """
        held = self._by_user.get(user_id, 0)
        if held >= self._max_per_user:
            raise TooManyRequests(f"At most {self._max_per_user} open long-polls or streams per user",
                                  code=ErrorCode.TOO_MANY_WAITS, retry_after=2)
        if len(self._open) >= self._max_total:
            raise Unavailable("The server holds too many open long-polls; poll instead",
                              code=ErrorCode.TOO_MANY_WAITS, retry_after=2)
        self._by_user[user_id] = held + 1

    def _release(self, user_id: str, held: Held) -> None:
        self._open.discard(held)
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
