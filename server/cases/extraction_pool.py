"""Text extraction out of the server process, at a bounded cost.

A small pool of worker processes (``server.cases.extraction_worker``) reads uploaded files. Each
worker's address space is capped (``RLIMIT_AS``, ``EXTRACTION_MEMORY_MB``) and each file has a
wall-clock limit (``EXTRACTION_TIMEOUT_SECONDS``): over either, the worker is killed and replaced
and the upload is answered ``422 extraction_too_costly``, while the server's own memory does not
move (the file travels as a path, only the extracted text comes back). An extraction whose caller
is cancelled (the client went away) kills its worker too, and so does ``stop`` (SIGTERM).

One user runs at most ``per_user`` extractions at once, fewer than the pool has workers, so one
user's files cannot make everyone else's uploads wait; a user's further uploads wait their turn,
and past ``per_user + MAX_WAITING_PER_USER`` get 429.

Workers are forked from a ``forkserver`` (never from the threaded server itself) that has imported
the extraction libraries once, so a replacement starts in milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from server.cases import extraction_worker
from server.cases.extraction import Extracted
from server.cases.extraction_worker import RETIRE
from server.error_codes import ErrorCode
from server.errors import TooManyRequests, Unavailable, Unprocessable, UnsupportedMediaType

log = logging.getLogger(__name__)

MAX_WAITING_PER_USER = 4  # uploads of one user queued behind their running ones before 429
_WORKER_MODULE = "server.cases.extraction_worker"


@dataclass(frozen=True)
class ExtractionLimits:
    """Bounds of the extraction pool.

    Attributes:
        workers: worker processes (extractions running at once, all users).
        memory_bytes: address-space cap of each worker, bytes (its libraries included, about 70 MB).
        timeout_seconds: wall-clock limit per file, seconds.
        per_user: extractions one user may run at once; below ``workers``.
    """

    workers: int = 2
    memory_bytes: int = 256 * 1024 * 1024
    timeout_seconds: float = 30.0
    per_user: int = 1


class _Worker:
    """One worker process and the server's end of its pipe."""

    def __init__(self, context: Any, memory_bytes: int):
        self.connection, child = context.Pipe()
        self.process = context.Process(target=extraction_worker.serve, args=(child, memory_bytes),
                                       name="extraction-worker", daemon=True)
        self.process.start()
        child.close()

    def kill(self) -> None:
        """SIGKILL the process and close the pipe (a blocked ``recv`` then raises ``EOFError``)."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(1.0)
        self.connection.close()


def _exchange(connection: Connection, path: str) -> tuple[str, Any, str, str]:
    """Send ``path`` and wait for the answer (blocking: runs on a thread)."""
    connection.send(path)
    answer: tuple[str, Any, str, str] = connection.recv()
    return answer


class DocumentExtractor:
    """Extracts uploaded files in the worker pool (see the module docstring).

    Args:
        limits: the pool's ``ExtractionLimits``.
    """

    def __init__(self, limits: ExtractionLimits | None = None):
        self.limits = limits or ExtractionLimits()
        self._context: Any = None
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._slots: asyncio.Semaphore | None = None
        self._user_slots: dict[str, asyncio.Semaphore] = {}
        self._user_load: Counter[str] = Counter()
        self._stopped = False
        # Threads that wait on workers' pipes (and start workers): never the IOLoop's own thread.
        self._threads = ThreadPoolExecutor(max_workers=self.limits.workers + 1, thread_name_prefix="extraction")

    def load(self, user_id: str) -> int:
        """Extractions of ``user_id`` running or waiting their turn now."""
        return self._user_load.get(user_id, 0)

    async def extract(self, data: bytes, user_id: str | None = None) -> Extracted:
        """Extract ``data`` (written to a temporary file first); see ``extract_file``."""
        handle, path = tempfile.mkstemp(prefix="upload-", suffix=".bin")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            return await self.extract_file(path, user_id)
        finally:
            os.unlink(path)

    async def extract_file(self, path: str, user_id: str | None = None) -> Extracted:
        """Detect the type of the file at ``path`` and extract its text in a worker.

        Args:
            path: a file the worker can read (the caller deletes it afterwards).
            user_id: whose upload it is, for the per-user limit (None: not limited, e.g. demo data).

        Raises:
            UnsupportedMediaType, Unprocessable: what extraction says of the file; ``Unprocessable``
                with code ``extraction_too_costly`` over the memory cap or the time limit.
            TooManyRequests: the user already has too many uploads being read or waiting.
            Unavailable: the server is shutting down.
            asyncio.CancelledError: the caller was cancelled; the worker was killed.
        """
        if self._stopped:
            raise _shutting_down()
        if user_id is None:
            return await self._in_worker(path)
        if self._user_load[user_id] >= self.limits.per_user + MAX_WAITING_PER_USER:
            raise TooManyRequests(f"You already have {self._user_load[user_id]} documents being read; wait for "
                                  "them to finish, then upload the next",
                                  code=ErrorCode.TOO_MANY_EXTRACTIONS, retry_after=5)
        self._user_load[user_id] += 1
        user_slot = self._user_slots.setdefault(user_id, asyncio.Semaphore(self.limits.per_user))
        try:
            async with user_slot:
                return await self._in_worker(path)
        finally:
            self._user_load[user_id] -= 1
            if not self._user_load[user_id]:
                del self._user_load[user_id]
                self._user_slots.pop(user_id, None)

    async def _in_worker(self, path: str) -> Extracted:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limits.workers)
        async with self._slots:
            if self._stopped:
                raise _shutting_down()
            loop = asyncio.get_running_loop()
            worker = self._idle.pop() if self._idle else await loop.run_in_executor(
                self._threads, _Worker, self._get_context(), self.limits.memory_bytes)
            if self._stopped:  # stop() ran while the worker started
                worker.kill()
                raise _shutting_down()
            self._busy.add(worker)
            healthy = False
            try:
                answer = await asyncio.wait_for(loop.run_in_executor(self._threads, _exchange, worker.connection, path),
                                                self.limits.timeout_seconds)
                healthy = answer[0] != "too_costly" and answer[3] != RETIRE
            except asyncio.TimeoutError:
                raise self._too_costly(f"took longer than the {self.limits.timeout_seconds:g} s limit") from None
            except (EOFError, OSError):
                if self._stopped:
                    raise _shutting_down() from None
                log.warning("extraction worker died exit_code=%s", worker.process.exitcode)
                raise Unprocessable("The file could not be read: reading it stopped the reader; save it again "
                                    "from its editor (or as PDF) and upload that",
                                    code=ErrorCode.EXTRACTION_FAILED) from None
            finally:
                self._busy.discard(worker)
                if self._stopped:
                    worker.kill()  # stop() killed it already; this closes the pipe
                elif healthy:
                    self._idle.append(worker)
                else:
                    self._threads.submit(worker.kill)  # reaping it may take a moment: not on the IOLoop
            return self._result(answer)

    def _result(self, answer: tuple[str, Any, str, str]) -> Extracted:
        status, value, detail, code = answer
        if status == "ok":
            return value  # type: ignore[no-any-return]
        if status == "too_costly":
            raise self._too_costly(f"needs more than the {self.limits.memory_bytes // (1024 * 1024)} MB memory limit")
        if value == "UnsupportedMediaType":
            raise UnsupportedMediaType(detail, code=ErrorCode(code))
        raise Unprocessable(detail, code=ErrorCode(code))

    def _too_costly(self, reason: str) -> Unprocessable:
        log.warning("extraction too costly: %s", reason)
        return Unprocessable(f"Reading this file {reason}, so it was not stored. Upload a smaller file (split a long "
                             "document, or export only the pages needed), a PDF printed from the document, or its "
                             "text as a .txt file", code=ErrorCode.EXTRACTION_TOO_COSTLY)

    def _get_context(self) -> Any:
        if self._context is None:
            self._context = multiprocessing.get_context("forkserver")
            self._context.set_forkserver_preload([_WORKER_MODULE])
        return self._context

    def stop(self) -> None:
        """Kill every worker now (SIGTERM): running extractions end with 503, new ones are refused."""
        self._stopped = True
        for worker in [*self._idle, *self._busy]:
            worker.kill()
        self._idle.clear()
        self._threads.shutdown(wait=False)

    def close(self) -> None:
        """Same as ``stop`` (shutdown closers and test teardown)."""
        self.stop()


def _shutting_down() -> Unavailable:
    return Unavailable("The server is restarting; upload the file again in a moment", code=ErrorCode.SHUTTING_DOWN,
                       retry_after=5)
