"""Event-driven waiting for tests: no fixed sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

_T = TypeVar("_T")


async def settle(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Yield to the IOLoop until ``condition()`` is true; AssertionError after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


async def settle_on(probe: Callable[[], Awaitable[_T]], timeout: float = 5.0, every: float = 0.05) -> _T:
    """Await ``probe()`` every ``every`` seconds until it returns something true, and return that;
    AssertionError after ``timeout`` seconds. (For a condition only a store call can answer.)"""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := await probe()):
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(every)
    return result
