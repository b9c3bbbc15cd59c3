"""The outbox: what the hub received is reviewable in the cluster, byte for byte.

Aspects: sent reports kept whole and equal to what the hub stored; pending reports listed from
the spool; a dropped report listed without its body; retention forgets old entries; bodies
beyond the size budget are dropped newest-last; `outbox show` prints exactly the envelope.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.sync import outbox
from agent.sync.policy import SpoolLimits
from tests.unit.hub.hubkit import HubKit, SwitchableTransport, run, snapshot
from tests.unit.sync.test_delivery import enrolled
from wire import protocol

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def produce(cycle: object, kit: HubKit) -> None:
    now = kit.clock.advance(300)
    run(cycle.produce(snapshot(), now, protocol.sha256_hex(b"%f" % now.timestamp())))  # type: ignore[attr-defined]


def test_the_outbox_holds_exactly_what_the_hub_received() -> None:
    kit = HubKit()
    cycle, store, client = enrolled(kit)
    for _ in range(3):
        produce(cycle, kit)
        run(cycle.deliver(client))
    sent = {e.seq: e for e in store.outbox if e.status == "sent"}
    assert sorted(sent) == [1, 2, 3]
    agent_id = store.state.agent_id  # type: ignore[union-attr]
    for stored in kit.store.reports(agent_id, 10, None):
        assert sent[stored.seq].envelope == stored.envelope
        assert sent[stored.seq].sha256 == protocol.sha256_hex(stored.envelope)
    assert set(sent[1].categories) == {"health", "usage", "versions"}
    run(client.aclose())


def test_pending_and_dropped_reports_are_listed() -> None:
    kit = HubKit()
    down = SwitchableTransport(kit.app)
    cycle, store, client = enrolled(kit, down, limits=SpoolLimits(max_items=2))
    down.down = True
    for _ in range(3):
        produce(cycle, kit)
    run(cycle.deliver(client))
    assert [(e.seq, e.status, e.envelope) for e in store.outbox] == [(1, "dropped", None)]
    assert len(store.spool) == 2  # pending: what `outbox` lists from the spool
    run(client.aclose())


def test_retention_and_the_size_budget() -> None:
    old = outbox.Entry(1, "sent", "2026-11-01T00:00:00Z", 10, "x", (), 0, b"a" * 10)
    new = [outbox.Entry(i, "sent", "2026-11-30T00:00:00Z", 200_000, "y", (), 0, b"b" * 200_000)
           for i in (2, 3, 4)]  # fmt: skip
    kept = outbox.record([old], new, T0, timedelta(days=7))
    assert [e.seq for e in kept] == [2, 3, 4]
    assert [e.envelope is not None for e in kept] == [False, True, True]
