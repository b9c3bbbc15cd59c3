"""WorkQueue: dedup, one worker per key, dirty re-runs, requeue-after, backoff on failure."""

from __future__ import annotations

import asyncio

from agent.runtime.queue import WorkQueue


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def _drain(queue: WorkQueue, until: int) -> None:
    task = asyncio.ensure_future(queue.run())
    for _ in range(200):
        await asyncio.sleep(0)
        if queue.processed >= until and not len(queue):
            break
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_duplicate_adds_run_once() -> None:
    seen: list[str] = []

    async def handler(key: str) -> None:
        seen.append(key)

    async def main() -> None:
        queue = WorkQueue(handler, concurrency=2)
        for key in ("Tenant/a", "Tenant/a", "Tenant/b", "Tenant/a"):
            queue.add(key)
        await _drain(queue, 2)

    asyncio.run(main())
    assert sorted(seen) == ["Tenant/a", "Tenant/b"]


def test_add_while_running_reruns_after_not_concurrently() -> None:
    running: set[str] = set()
    overlaps: list[str] = []
    calls: list[str] = []

    async def main() -> None:
        queue: WorkQueue

        async def handler(key: str) -> None:
            if key in running:
                overlaps.append(key)
            running.add(key)
            calls.append(key)
            if len(calls) == 1:
                queue.add(key)  # an event arrives mid-reconcile
                await asyncio.sleep(0)
            running.discard(key)

        queue = WorkQueue(handler, concurrency=4)
        queue.add("Tenant/a")
        await _drain(queue, 2)

    asyncio.run(main())
    assert calls == ["Tenant/a", "Tenant/a"]
    assert overlaps == []


def test_failure_is_retried_with_backoff_and_delayed_keys_wait() -> None:
    clock = FakeClock()
    calls: list[str] = []

    async def handler(key: str) -> float | None:
        calls.append(key)
        if len(calls) == 1:
            raise RuntimeError("API server said no")
        return None

    async def main() -> WorkQueue:
        queue = WorkQueue(handler, concurrency=1, clock=clock)
        queue.add("Application/x")
        await _drain(queue, 1)
        return queue

    queue = asyncio.run(main())
    assert calls == ["Application/x"]
    assert len(queue) == 1  # waiting for its backoff on the fake clock


def test_stalled_for_reports_no_progress_only_when_work_is_ready() -> None:
    clock = FakeClock()

    async def handler(key: str) -> None:
        return None

    queue = WorkQueue(handler, concurrency=1, clock=clock)
    clock.now += 500
    assert queue.stalled_for() == 0.0
    queue.add("Tenant/a")
    clock.now += 30
    assert queue.stalled_for() >= 30
