"""``Idempotency-Key`` replay: a retried POST with the same key gets the first answer for 24 hours.

Keys are scoped per user (two users may use the same key). Only accepted (202) answers are
stored: a refused request (400, 404, 429...) is evaluated again on retry, since its cause may
have been fixed. Reusing a key for another endpoint or case is refused (422), as the IETF
idempotency-key draft recommends. Concurrent requests with the same key are serialised, so the
second one replays the first one's answer instead of starting a second job.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from server.errors import InvalidInput, Unprocessable

HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 255


@dataclass(frozen=True)
class StoredResponse:
    """A response to replay: ``status``, JSON ``body`` and the headers that matter."""

    fingerprint: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    expires_at: float


def parse_key(raw: str | None) -> str | None:
    """The header value, or None when absent; raises ``InvalidInput`` for an unusable key."""
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY_CHARS or not key.isascii() or not key.isprintable():
        raise InvalidInput(f"{HEADER} must be 1-{MAX_KEY_CHARS} printable ASCII characters",
                           code="invalid_idempotency_key")
    return key


class IdempotencyStore:
    """Answers by (user, key), kept ``ttl_seconds`` (in memory, like the jobs they point to).

    Args:
        ttl_seconds: how long an answer is replayed.
        max_entries: oldest answers are dropped beyond this many.
        clock: monotonic seconds (tests pass a fake).
    """

    def __init__(self, ttl_seconds: float = 86400, max_entries: int = 100_000,
                 clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._answers: OrderedDict[tuple[str, str], StoredResponse] = OrderedDict()
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, list[int]]] = {}

    def _prune(self) -> None:
        now = self._clock()
        while self._answers:
            oldest = next(iter(self._answers.values()))
            if oldest.expires_at > now and len(self._answers) <= self._max:
                break
            self._answers.popitem(last=False)

    def lookup(self, user_id: str, key: str, fingerprint: str) -> StoredResponse | None:
        """The stored answer for (user, key), or None; raises ``Unprocessable`` if the key was used
        for a different request."""
        self._prune()
        stored = self._answers.get((user_id, key))
        if stored is not None and stored.fingerprint != fingerprint:
            raise Unprocessable(f"This {HEADER} was already used for a different request",
                                code="idempotency_key_reused")
        return stored

    def remember(self, user_id: str, key: str, fingerprint: str, status: int, body: dict[str, Any],
                 headers: dict[str, str]) -> None:
        """Store an answer to replay."""
        self._answers[(user_id, key)] = StoredResponse(fingerprint, status, body, headers, self._clock() + self._ttl)
        self._prune()

    @contextlib.asynccontextmanager
    async def hold(self, user_id: str, key: str) -> AsyncIterator[None]:
        """Serialise requests that carry the same (user, key)."""
        slot = (user_id, key)
        lock, users = self._locks.setdefault(slot, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                self._locks.pop(slot, None)
