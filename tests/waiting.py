"""Event-driven waiting for tests: no fixed sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def settle(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Yield to the IOLoop until ``condition()`` is true; AssertionError after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)
