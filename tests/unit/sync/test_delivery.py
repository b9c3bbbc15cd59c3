"""Agent ↔ hub over the real protocol, in process (httpx ASGI transport, no sockets).

Aspects: enrollment and reports flowing; the hub down for a while, then the spool delivered in
order; spool overflow reported to the hub in the next report; a refused report dropped and
counted; crafted hub answers (instructions, unsigned or foreign-signed acks, acks for something
else, 500) change nothing beyond the spool — in fact nothing at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.sync.cycle import Cycle
from agent.sync.errors import HubRejectedError
from agent.sync.policy import SpoolLimits
from agent.sync.state import MemoryStore
from bundle import dsse
from tests.unit.hub.hubkit import (
    HubKit,
    ScriptedTransport,
    SwitchableTransport,
    agent,
    run,
    snapshot,
)
from wire import protocol
from wire.ack import Ack, sign_ack


def enrolled(kit: HubKit, transport: httpx.AsyncBaseTransport | None = None, **options: object):  # type: ignore[no-untyped-def]
    cycle, store = agent(**options)
    client = kit.client(transport)
    assert run(cycle.enroll(client, kit.hub.create_token(), "uid-1", kit.clock()))
    return cycle, store, client


def stored_seqs(kit: HubKit) -> list[int]:
    return [int(r[0]) for r in kit.store.run("SELECT seq FROM reports ORDER BY rowid")]


def test_enrollment_then_reports_reach_the_hub() -> None:
    kit = HubKit()
    cycle, store, client = enrolled(kit)
    assert store.state is not None
    assert store.state.enrolled
    for _ in range(3):
        run(
            cycle.produce(
                snapshot(),
                kit.clock.advance(300),
                protocol.sha256_hex(b"%f" % kit.clock().timestamp()),
            )
        )
        result = run(cycle.deliver(client))
        assert (result.acked, result.remaining) == (1, ())
    assert stored_seqs(kit) == [1, 2, 3]
    run(client.aclose())


def test_enrolling_twice_with_one_token_is_refused_with_a_clear_error() -> None:
    kit = HubKit()
    token = kit.hub.create_token()
    first, _ = agent()
    run(first.enroll(kit.client(), token, "uid-1", kit.clock()))
    second, store = agent()
    with pytest.raises(HubRejectedError, match="refused enrollment"):
        run(second.enroll(kit.client(), token, "uid-2", kit.clock()))
    assert store.state is not None
    assert not store.state.enrolled


def test_reports_spooled_while_the_hub_is_down_arrive_in_order() -> None:
    kit = HubKit()
    transport = SwitchableTransport(kit.app)
    cycle, store, client = enrolled(kit, transport)
    transport.down = True
    for n in range(4):
        run(cycle.produce(snapshot(), kit.clock.advance(300), f"n{n}"))
        result = run(cycle.deliver(client))
        assert result.error is not None
        assert "unreachable" in result.error
    assert len(store.spool) == 4
    transport.down = False
    result = run(cycle.deliver(client))
    assert (result.acked, result.remaining) == (4, ())
    assert store.spool == ()
    assert stored_seqs(kit) == [1, 2, 3, 4]
    reports = [p for p in transport.paths if p.endswith("/reports")]
    assert len(reports) == 4


def test_spool_overflow_is_reported_to_the_hub() -> None:
    kit = HubKit()
    transport = SwitchableTransport(kit.app)
    cycle, store, client = enrolled(kit, transport, limits=SpoolLimits(max_items=3))
    transport.down = True
    for n in range(5):
        run(cycle.produce(snapshot(), kit.clock.advance(300), f"n{n}"))
    assert store.state is not None
    assert store.state.dropped_total == 2
    transport.down = False
    run(cycle.deliver(client))
    run(
        cycle.produce(snapshot(), kit.clock.advance(300), "n5")
    )  # the first report after the outage
    run(cycle.deliver(client))
    assert stored_seqs(kit) == [3, 4, 5, 6]
    latest = kit.store.latest_reports()[store.state.agent_id]
    assert json.loads(latest.payload)["spool"]["dropped_total"] == 2
    oldest = kit.store.reports(store.state.agent_id, 10, None)[-1]
    assert oldest.chain_gap is True  # seq 1 and 2 never arrived, and the hub says so


def test_a_report_the_hub_refuses_is_dropped_and_counted() -> None:
    kit = HubKit()
    cycle, store, client = enrolled(kit)
    run(cycle.produce(snapshot(), kit.clock(), "n1"))
    kit.clock.advance(timedelta(days=8).total_seconds())  # now too old for the live endpoint
    run(cycle.produce(snapshot(), kit.clock(), "n2"))
    result = run(cycle.deliver(client))
    assert (result.rejected, result.acked, result.remaining) == (1, 1, ())
    assert store.state is not None
    assert store.state.rejected == 1


def ack_for(request: httpx.Request, key: Ed25519PrivateKey, **changes: object) -> bytes:
    envelope = dsse.parse(request.content)
    doc = json.loads(envelope.payload)
    fields: dict[str, object] = {
        "kind": "report", "agent_id": doc["agent_id"], "seq": doc["seq"],
        "payload_sha256": protocol.sha256_hex(envelope.payload), "server_time": doc["issued_at"],
    }  # fmt: skip
    fields.update(changes)
    fields["server_time"] = protocol.parse_time(fields["server_time"], "t")
    return sign_ack(Ack(**fields), key)  # type: ignore[arg-type]


HUB_KEY = Ed25519PrivateKey.generate()
STRANGER = Ed25519PrivateKey.generate()
INSTRUCTIONS = {"delete": ["tenants/acme"], "apply": {"kind": "Tenant"}, "seq": 0, "ok": True}


def crafted(status: int, body: Callable[[httpx.Request], bytes]) -> ScriptedTransport:
    return ScriptedTransport(lambda request: httpx.Response(status, content=body(request)))


def unsigned(request: httpx.Request) -> bytes:
    return dsse.parse(ack_for(request, HUB_KEY)).payload


CRAFTED = {
    "instructions": crafted(200, lambda r: json.dumps(INSTRUCTIONS).encode()),
    "unsigned-ack": crafted(202, unsigned),
    "foreign-signed-ack": crafted(202, lambda r: ack_for(r, STRANGER)),
    "ack-for-another-report": crafted(202, lambda r: ack_for(r, HUB_KEY, payload_sha256="0" * 64)),
    "ack-of-wrong-kind": crafted(202, lambda r: ack_for(r, HUB_KEY, kind="enroll")),
    "server-error": crafted(500, lambda r: b'{"reset_seq": 0}'),
    "huge-answer": crafted(202, lambda r: b"x" * 100_000),
}


@pytest.mark.parametrize("transport", list(CRAFTED.values()), ids=list(CRAFTED))
def test_crafted_hub_answers_change_nothing(transport: ScriptedTransport) -> None:
    kit = HubKit(key=HUB_KEY)
    store = MemoryStore()
    cycle = Cycle(store)
    run(cycle.produce(snapshot(), kit.clock(), "n1"))
    before = (store.writes, store.state, store.spool, store.key)
    result = run(cycle.deliver(kit.client(transport)))
    assert result.acked == 0
    assert (store.writes, store.state, store.spool, store.key) == before


def test_a_genuine_ack_from_the_impersonator_key_fixture_is_accepted() -> None:
    # Control for the test above: the same scripted hub, correctly signing, is believed.
    kit = HubKit(key=HUB_KEY)
    cycle, store = agent()
    run(cycle.produce(snapshot(), kit.clock(), "n1"))
    transport = crafted(202, lambda r: ack_for(r, HUB_KEY))
    assert run(cycle.deliver(kit.client(transport))).acked == 1
    assert store.spool == ()


def test_the_agent_rotates_its_key_and_keeps_reporting_under_the_same_id() -> None:
    kit = HubKit()
    cycle, store, client = enrolled(kit)
    old_key, agent_id = store.key, store.state.agent_id if store.state else ""
    run(cycle.rotate(client, kit.clock.advance(60)))
    assert store.key is not old_key
    assert store.state is not None
    assert store.state.agent_id == agent_id
    run(cycle.produce(snapshot(), kit.clock.advance(60), "after-rotation"))
    assert run(cycle.deliver(client)).acked == 1
    stored = kit.store.agent(agent_id)
    assert stored is not None
    assert stored.public_key == protocol.public_key_b64(store.key.public_key())  # type: ignore[union-attr]


def test_a_tick_spools_without_delivering_until_enrolled() -> None:
    kit = HubKit()
    transport = SwitchableTransport(kit.app)
    cycle, _ = agent()
    client = kit.client(transport)
    result = run(cycle.sync_once(client, snapshot(), kit.clock(), None))
    assert (result.acked, len(result.remaining)) == (0, 1)
    assert transport.paths == []
    result = run(cycle.sync_once(client, snapshot(), kit.clock.advance(60), kit.hub.create_token()))
    assert (result.acked, result.remaining) == (2, ())
    assert transport.paths[0] == "/v1/enroll"
