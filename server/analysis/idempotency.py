"""``Idempotency-Key`` replay: a retried POST with the same key gets the first answer for 24 hours.

Keys are scoped per user (two users may use the same key). Only accepted (202) answers are
stored: a refused request (400, 404, 429...) is evaluated again on retry, since its cause may
have been fixed. Reusing a key for another endpoint or case is refused (422), as the IETF
idempotency-key draft recommends.

The answers live in the job store's key/value (``JobStore.put_value``), so every process sharing
the store replays them. Concurrent requests with the same key, in one process or several, are
serialised by an atomic claim: the first stores a "pending" marker (put-if-absent), the others
wait for its answer and replay it, so one job is started, never two. A marker whose process died
lapses after ``PENDING_SECONDS``; a request still waiting after ``WAIT_SECONDS`` gets 409.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from server.error_codes import ErrorCode
from server.errors import Conflict, InvalidInput, Unprocessable
from server.jobs.store import JobStore

HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 255
TTL_SECONDS = 86400  # how long an answer is replayed (24 h, as the issue asks)
PENDING_SECONDS = 30  # a claim's life when its process dies before answering
WAIT_SECONDS = 35  # longest a concurrent request waits for the first one's answer
_POLL_SECONDS = (0.01, 0.25)  # first and longest pause between reads of a pending claim


@dataclass(frozen=True)
class StoredResponse:
    """A response to replay: ``status``, JSON ``body`` and the headers that matter."""

    fingerprint: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Claim:
    """The outcome of ``IdempotencyStore.claim``: ``replay`` is the first answer to send again, or
    None when this request holds the key and should ``remember`` its answer."""

    replay: StoredResponse | None
    _store: JobStore | None = None
    _name: str = ""
    _fingerprint: str = ""
    _ttl: float = TTL_SECONDS
    remembered: bool = False

    async def remember(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        """Store this request's answer (a JSON body), replayed for the store's TTL."""
        if self._store is None:
            raise RuntimeError("only the request holding the key remembers an answer")
        answer = {"fingerprint": self._fingerprint, "status": status, "body": body, "headers": headers}
        await self._store.put_value(self._name, json.dumps(answer), self._ttl)
        self.remembered = True


def parse_key(raw: str | None) -> str | None:
    """The header value, or None when absent; raises ``InvalidInput`` for an unusable key."""
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY_CHARS or not key.isascii() or not key.isprintable():
        raise InvalidInput(f"{HEADER} must be 1-{MAX_KEY_CHARS} printable ASCII characters",
                           code=ErrorCode.INVALID_IDEMPOTENCY_KEY)
    return key


class IdempotencyStore:
    """Answers by (user, key), kept ``ttl_seconds`` in the job store (shared like the jobs).

    Args:
        store: the job store whose key/value holds the answers.
        ttl_seconds: how long an answer is replayed.
    """

    def __init__(self, store: JobStore, ttl_seconds: float = TTL_SECONDS):
        self._store = store
        self._ttl = ttl_seconds

    @contextlib.asynccontextmanager
    async def claim(self, user_id: str, key: str, fingerprint: str) -> AsyncIterator[Claim]:
        """Hold (user, key) for one request, or find the answer to replay.

        Yields a ``Claim``; the holder calls ``remember`` with its answer inside the block. When the
        block exits without an answer (the request was refused or failed), the key is released so a
        retry is evaluated again.

        Raises:
            Unprocessable: (422 ``idempotency_key_reused``) the key was used for a different request.
            Conflict: (409 ``idempotency_key_in_use``) the first request with the key is still running
                after ``WAIT_SECONDS``.
        """
        name = f"idem:{len(user_id)}:{user_id}:{key}"  # the length keeps "a:b"+"c" apart from "a"+"b:c"
        marker = json.dumps({"fingerprint": fingerprint, "pending": secrets.token_hex(8)})
        loop = asyncio.get_running_loop()
        deadline, pause = loop.time() + WAIT_SECONDS, _POLL_SECONDS[0]
        while (current := await self._store.put_value(name, marker, PENDING_SECONDS, only_if_absent=True)) is not None:
            stored = json.loads(current)
            if stored["fingerprint"] != fingerprint:
                raise Unprocessable(f"This {HEADER} was already used for a different request",
                                    code=ErrorCode.IDEMPOTENCY_KEY_REUSED)
            if "pending" not in stored:
                yield Claim(StoredResponse(fingerprint, stored["status"], stored["body"], stored["headers"]))
                return
            if loop.time() > deadline:
                raise Conflict(f"A request with this {HEADER} is still being processed; retry shortly",
                               code=ErrorCode.IDEMPOTENCY_KEY_IN_USE, retry_after=1)
            await asyncio.sleep(pause)
            pause = min(_POLL_SECONDS[1], pause * 2)
        claim = Claim(None, self._store, name, fingerprint, self._ttl)
        try:
            yield claim
        finally:
            if not claim.remembered:
                await self._store.delete_value(name, only_if=marker)
