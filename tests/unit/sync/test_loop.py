"""The sync loop with a fake clock and sleep: reports on the interval, retries with backoff.

Aspects: a report per interval while the hub is up; while it is down, delivery is retried sooner
than the interval with growing (jittered) waits, without producing extra reports; once the hub is
back the spool drains in order.
"""

from __future__ import annotations

import random
from datetime import timedelta

from agent.sync.loop import LoopSeams, SyncLoop
from agent.sync.policy import RetryPolicy
from agent.sync.snapshot import ClusterSnapshot
from tests.unit.hub.hubkit import HubKit, SwitchableTransport, agent, run, snapshot

INTERVAL = timedelta(minutes=5)


def test_the_loop_reports_each_interval_and_backs_off_while_the_hub_is_down() -> None:
    kit = HubKit()
    transport = SwitchableTransport(kit.app)
    waits: list[float] = []
    outage = range(3, 9)  # the hub is down for the 4th to 9th wake-ups

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        kit.clock.advance(seconds)
        transport.down = len(waits) in outage

    async def gather() -> ClusterSnapshot:
        return snapshot()

    cycle, store = agent()
    seams = LoopSeams(kit.clock, sleep, random.Random(3), lambda: len(waits) >= 12)
    retry = RetryPolicy(base_seconds=2, factor=2, cap_seconds=120)
    loop = SyncLoop(cycle, kit.client(transport), gather, kit.hub.create_token(), INTERVAL,
                    retry, seams)  # fmt: skip
    run(loop.run())
    assert waits[:3] == [300.0, 300.0, 300.0]
    backoff = waits[4:8]
    assert all(0 <= w <= 120 for w in backoff)
    assert sum(backoff) < 300  # retries, not new reports
    seqs = [int(r[0]) for r in kit.store.run("SELECT seq FROM reports ORDER BY rowid")]
    assert seqs == list(range(1, len(seqs) + 1))  # every report arrived, in order
    assert store.spool == ()
    assert store.state is not None
    assert store.state.seq == len(seqs)
