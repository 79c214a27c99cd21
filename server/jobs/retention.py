"""The retention sweep: removes finished jobs ``JOB_TTL_SECONDS`` after they finished."""

from __future__ import annotations

import asyncio
import logging
import time

import tornado.ioloop

from server.clock import utcnow
from server.jobs.store import JobStore

log = logging.getLogger(__name__)

BATCH = 25  # jobs asked of one ``store.expire`` call (one round trip on a shared store)
# IOLoop time one slice of the sweep may take before it yields: the slice ends at the first batch
# past it (a batch of 25 is 0.2-0.6 ms here). A 1 ms timer, or a poll, that becomes ready during one
# slice runs after the next one (asyncio runs what was queued before it), so it waits for up to two
# slices: with 2 ms slices of 100 jobs, 4.8 ms of CPU between two ticks of a 1 ms timer in a sweep
# of 100,000 jobs; with 1 ms slices of 25, 2.3 ms, and the sweep takes as long (issue 19).
SLICE_SECONDS = 0.001


class Sweeper:
    """Runs ``store.expire`` every ``interval_seconds`` on the IOLoop, in small batches.

    Args:
        store: the job store.
        interval_seconds: time between sweeps (``JOB_SWEEP_INTERVAL_SECONDS``, default 60).
    """

    def __init__(self, store: JobStore, interval_seconds: float):
        self._store = store
        self._callback = tornado.ioloop.PeriodicCallback(self.sweep, interval_seconds * 1000)

    def start(self) -> None:
        """Schedule the sweep on the current IOLoop."""
        self._callback.start()

    def stop(self) -> None:
        """Stop scheduling sweeps."""
        self._callback.stop()

    async def sweep(self) -> int:
        """Remove every job whose retention ended, in batches of ``BATCH``; yields to the IOLoop
        whenever a slice has run ``SLICE_SECONDS`` (elapsed time, not a count: a batch's cost varies).

        Returns the number of jobs removed.
        """
        now = utcnow()
        total = 0
        slice_ends = time.perf_counter() + SLICE_SECONDS
        while True:
            removed = await self._store.expire(now, limit=BATCH)
            total += removed
            if removed < BATCH:
                break
            if time.perf_counter() >= slice_ends:
                await asyncio.sleep(0)
                slice_ends = time.perf_counter() + SLICE_SECONDS
        if total:
            log.info("retention sweep removed %d finished jobs", total)
        return total
