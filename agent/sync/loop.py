"""The long-running sync loop the agent runs on the leader when a hub is configured.

Orchestration over injected seams: `clock`, `sleep` and `rng` are passed in (tests never sleep),
the snapshot gatherer and the stores are awaited on the agent's one async client, and
`policy.RetryPolicy` decides how soon a failed delivery is retried. A new report is produced
once per interval whatever happens; in between, only the spool is retried, with backoff.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.sync.client import Delivery, HubClient
from agent.sync.cycle import Cycle
from agent.sync.policy import RetryPolicy
from agent.sync.snapshot import ClusterSnapshot
from agent.sync.state import ensure_identity


@dataclass(frozen=True)
class LoopSeams:
    clock: Callable[[], datetime]
    sleep: Callable[[float], Awaitable[None]]
    rng: random.Random
    stop: Callable[[], bool]


def next_wake(
    now: datetime,
    next_report: datetime,
    failures: int,
    retry: RetryPolicy,
    rng: random.Random,
) -> datetime:
    """Next report time, or earlier when a failed delivery should be retried first."""
    if failures == 0:
        return next_report
    return min(next_report, retry.next_attempt(failures, now, rng))


@dataclass(frozen=True)
class SyncLoop:
    cycle: Cycle
    client: HubClient
    gather: Callable[[], Awaitable[ClusterSnapshot]]
    token: str | None
    interval: timedelta
    retry: RetryPolicy
    seams: LoopSeams

    async def step(self, now: datetime, report_due: bool) -> Delivery:
        """One wake-up: a new report when due, else a retry of the spool."""
        if report_due:
            snapshot = await self.gather()
            return await self.cycle.sync_once(self.client, snapshot, now, self.token)
        _, state = await ensure_identity(self.cycle.stores, self.cycle.stores)
        if not state.enrolled:
            return Delivery(await self.cycle.stores.load_spool(), 0, 0, "not enrolled")
        return await self.cycle.deliver(self.client)

    async def run(self) -> None:
        """Report every `interval`; retry undelivered reports with backoff; return when stopped."""
        seams = self.seams
        next_report = seams.clock()
        failures = 0
        while not seams.stop():
            now = seams.clock()
            due = now >= next_report
            result = await self.step(now, due)
            if due:
                next_report = now + self.interval
            failures = failures + 1 if result.remaining else 0
            wake = next_wake(now, next_report, failures, self.retry, seams.rng)
            await seams.sleep(max(0.0, (wake - seams.clock()).total_seconds()))
