"""A keyed work queue: every trigger becomes "reconcile this key", processed one worker per key.

Edge triggers (watch events) and the level trigger (resync) both call `add(key)`. A key waiting
in the queue is stored once (dedup, the earliest due time wins); a key added while a worker is
on it is marked dirty and runs again right after, so no change is lost and no key ever runs
twice at once. Failures retry with per-key exponential backoff. In-memory only: the cluster
holds all state, a restart simply enqueues everything again.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Handler = Callable[[str], Awaitable[float | None]]
BASE_BACKOFF = 1.0
MAX_BACKOFF = 300.0


class WorkQueue:
    """Dedup, one worker per key, bounded concurrency, delayed re-adds, backoff on failure.

    The handler returns None when done, or seconds after which the key should be looked at again
    (e.g. waiting for a Deployment to become Available).
    """

    def __init__(
        self, handler: Handler, concurrency: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._handler = handler
        self._concurrency = concurrency
        self._clock = clock
        self._heap: list[tuple[float, int, str]] = []
        self._due: dict[str, float] = {}
        self._processing: set[str] = set()
        self._dirty: set[str] = set()
        self._failures: dict[str, int] = {}
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self.last_progress = clock()
        self.processed = 0

    def add(self, key: str, delay: float = 0.0) -> None:
        """Ask for `key` to be reconciled after `delay` seconds (or sooner if already asked)."""
        if key in self._processing and delay <= 0:
            self._dirty.add(key)
            return
        due = self._clock() + max(delay, 0.0)
        if key in self._due and self._due[key] <= due:
            return
        self._due[key] = due
        heapq.heappush(self._heap, (due, next(self._seq), key))
        self._wake.set()

    def __len__(self) -> int:
        return len(self._due) + len(self._dirty)

    @property
    def busy(self) -> int:
        """Keys being worked on now."""
        return len(self._processing)

    def stalled_for(self) -> float:
        """Seconds without a finished item while work is ready (0 when idle or moving)."""
        now = self._clock()
        ready = bool(self._processing) or any(d <= now for d in self._due.values())
        return now - self.last_progress if ready else 0.0

    async def run(self) -> None:
        """Run the workers until cancelled."""
        self.last_progress = self._clock()
        async with asyncio.TaskGroup() as group:
            for _ in range(self._concurrency):
                group.create_task(self._work())

    async def _work(self) -> None:
        while True:
            key = await self._next()
            self._processing.add(key)
            try:
                again = await self._handler(key)
                self._failures.pop(key, None)
            except Exception:
                failures = self._failures[key] = self._failures.get(key, 0) + 1
                again = min(BASE_BACKOFF * 2 ** (failures - 1), MAX_BACKOFF)
                log.exception(
                    "reconcile of %s failed (attempt %d); retrying in %.0fs", key, failures, again
                )
            finally:
                self._processing.discard(key)
                self.last_progress = self._clock()
                self.processed += 1
            if key in self._dirty:
                self._dirty.discard(key)
                self.add(key)
            elif again is not None:
                self.add(key, again)

    async def _next(self) -> str:
        while True:
            timeout = self._pop_ready()
            if isinstance(timeout, str):
                return timeout
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _pop_ready(self) -> str | float | None:
        """A ready key, or how long to wait for the next one (None: nothing queued)."""
        while self._heap:
            due, _, key = self._heap[0]
            if self._due.get(key) != due:
                heapq.heappop(self._heap)  # superseded by an earlier due time
                continue
            wait = due - self._clock()
            if wait > 0:
                return wait
            heapq.heappop(self._heap)
            del self._due[key]
            if key in self._processing:
                self._dirty.add(key)
                continue
            return key
        return None
