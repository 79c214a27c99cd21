"""Draining: the shutdown state request handlers read, so that no waiting client loops.

From SIGTERM until the process exits, a long-poll or event stream that is open is answered once
with the current state and ``Retry-After``; one that arrives during the grace is refused with
``503``, ``Retry-After`` and ``Connection: close``. ``Retry-After`` is the time left until the
server stops (rounded up, plus one second), so a client that honours it comes back to the next
server instead of polling this one in a loop (issue 16). Shutdown sets ``Services.drain``.
"""

from __future__ import annotations

import math
import time


class Drain:
    """When a draining server expects to stop.

    Args:
        seconds: time from now until the server stops (its remaining shutdown grace), seconds.
    """

    def __init__(self, seconds: float):
        self._until = time.monotonic() + max(0.0, seconds)

    def retry_after(self) -> int:
        """Whole seconds a client should wait before its next request: the time left, rounded up,
        plus one second; at least 1."""
        return max(1, math.ceil(self._until - time.monotonic()) + 1)
