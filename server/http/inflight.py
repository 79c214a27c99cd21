"""API requests in flight, counted so shutdown can let them finish."""

from __future__ import annotations

import asyncio


class InflightRequests:
    """How many API requests are being answered, so shutdown can let them finish before it closes
    the connections (Tornado's ``close_all_connections`` drops a response not yet written).
    """

    def __init__(self) -> None:
        self.count = 0
        self._idle: asyncio.Event | None = None

    def enter(self) -> None:
        """A request started."""
        self.count += 1

    def leave(self) -> None:
        """A request finished or its client went away."""
        self.count -= 1
        if self.count <= 0 and self._idle is not None:
            self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is in flight, at most ``timeout`` seconds; True when idle."""
        if self.count <= 0:
            return True
        self._idle = asyncio.Event()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        finally:
            self._idle = None
        return True
