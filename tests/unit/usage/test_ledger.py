"""The usage account: integration over windows, checkpoints, late credits and revisions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from agent.core.usage import codec, ledger, windows
from agent.core.usage.meters import (
    CPU,
    MEMORY,
    PODS,
    Item,
    ObjectMeter,
    app_meter,
    meters_of,
    object_item,
    pod_item,
)
from wire import usage

T0 = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
W = 60


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def pod(uid: str, start: float, cpu: str = "500m", memory: str = "1Gi", **extra: object) -> dict:
    meta: dict[str, object] = {"uid": uid, "labels": extra.pop("labels", {})}
    status: dict[str, object] = {"startTime": at(start).strftime("%Y-%m-%dT%H:%M:%SZ")}
    status.update(extra)
    return {
        "metadata": meta,
        "spec": {"containers": [{"resources": {"requests": {"cpu": cpu, "memory": memory}}}]},
        "status": status,
    }


def run(state: ledger.UsageState, items: list[Item], times: list[float]) -> ledger.UsageState:
    for moment in times:
        state = ledger.visit(state, items, ["acme"], at(moment))
    return state


def fresh() -> ledger.UsageState:
    return ledger.UsageState(W, install="c0ffee-uid")


def quantities(state: ledger.UsageState, meter: str) -> dict[datetime, float]:
    return {r.window_start: r.quantity for r in state.pending.values() if r.meter == meter}


def test_window_split_is_exact() -> None:
    pieces = list(windows.split(at(50), at(130), W))
    assert pieces == [(at(0), 10.0), (at(60), 60.0), (at(120), 10.0)]


def test_pod_requests_integrate_per_window_whatever_the_visit_times() -> None:
    item = pod_item(pod("u1", 0), "acme")
    assert item is not None
    state = run(fresh(), [item], [0, 7, 33, 61, 95, 140, 181])
    cpu = quantities(state, CPU)
    assert cpu == {
        at(0): pytest.approx(30.0),
        at(60): pytest.approx(30.0),
        at(120): pytest.approx(30.0),
    }
    assert quantities(state, MEMORY)[at(60)] == pytest.approx(60.0)
    assert quantities(state, PODS)[at(60)] == pytest.approx(60.0)
    assert state.accumulating()[("acme", CPU)] == pytest.approx(0.5)


def test_checkpoint_round_trip_then_restart_counts_the_gap_once() -> None:
    item = pod_item(pod("u1", 0, cpu="2"), "acme")
    assert item is not None
    state = run(fresh(), [item], [0, 20])
    saved = json.loads(json.dumps(codec.to_dict(state)))
    # The process dies; a new one resumes from the checkpoint 70 s later.
    resumed = run(codec.from_dict(saved), [item], [90, 125])
    assert quantities(resumed, CPU) == {at(0): pytest.approx(120.0), at(60): pytest.approx(120.0)}
    # Replaying a visit already made (a crash before the checkpoint write) adds nothing.
    again = run(codec.from_dict(saved), [item], [20, 90, 125])
    assert quantities(again, CPU) == quantities(resumed, CPU)


def test_completed_pod_seen_late_is_counted_from_its_timestamps() -> None:
    done = pod(
        "u2", 10, cpu="1", phase="Succeeded",
        containerStatuses=[{"state": {"terminated": {"finishedAt": "2027-03-01T12:00:40Z"}}}],
    )  # fmt: skip
    item = pod_item(done, "acme")
    assert item is not None
    assert item.end == at(40)
    state = run(fresh(), [item], [0, 50, 61])
    assert quantities(state, CPU)[at(0)] == pytest.approx(30.0)


def test_late_credit_reissues_a_closed_window_with_a_higher_revision() -> None:
    state = run(fresh(), [], [0, 61])
    first = {r.meter: r for r in state.pending.values() if r.window_start == at(0)}
    assert first[CPU].quantity == 0.0
    assert first[CPU].revision == 1
    state = ledger.acknowledge(state, state.pending.values())
    late = Item("pod/late", "acme", at(10), at(40), {CPU: 1.0})
    state = ledger.visit(state, [late], ["acme"], at(70))
    again = [r for r in state.pending.values() if r.window_start == at(0)]
    assert [(r.meter, r.quantity, r.revision) for r in again] == [(CPU, 30.0, 2)]
    assert again[0].id == first[CPU].id


def test_application_pods_accrue_application_scoped_meters() -> None:
    item = pod_item(pod("u3", 0, cpu="250m", labels={"app.kubernetes.io/instance": "db"}), "acme")
    assert item is not None
    state = run(fresh(), [item], [0, 61])
    assert quantities(state, app_meter("db", CPU))[at(0)] == pytest.approx(15.0)


def test_acknowledge_keeps_a_newer_revision_and_restore_puts_records_back() -> None:
    item = Item("pod/x", "acme", at(0), None, {CPU: 1.0})
    state = run(fresh(), [item], [0, 61])
    spooled = ledger.take_pending(state, 100)
    state = ledger.acknowledge(state, spooled)
    assert not state.pending
    state = ledger.restore(state, spooled)
    assert len(state.pending) == len(spooled)


def test_records_are_valid_events_with_stable_ids() -> None:
    item = Item("pod/x", "acme", at(0), None, {CPU: 1.0})
    state = run(fresh(), [item], [0, 61])
    record = next(r for r in state.pending.values() if r.meter == CPU)
    event = record.to_event("agt_" + "0" * 32)
    assert usage.from_event(json.loads(json.dumps(event))) == record
    assert record.id == usage.record_id("c0ffee-uid", "acme", CPU, at(0))
    forged = {**event, "id": "f" * 64}
    with pytest.raises(usage.ProtocolError):
        usage.from_event(forged)


def test_resize_issues_the_open_window_and_counts_on() -> None:
    item = Item("pod/x", "acme", at(0), None, {CPU: 1.0})
    state = run(fresh(), [item], [0, 30])
    state = ledger.resize(state, 120, at(30))
    assert quantities(state, CPU)[at(0)] == pytest.approx(30.0)
    state = ledger.visit(state, [item], ["acme"], at(121))
    assert state.accumulating()[("acme", CPU)] == pytest.approx(1.0)


def test_vendor_meters_come_from_the_dataplane_and_count_objects_over_time() -> None:
    dataplane = {"spec": {"usageMeters": [
        {"name": "databases", "kind": "ConfigMap", "labelSelector": "tier=db"},
        {"name": "tokens", "kind": "Secret"},  # never counted
        {"name": "cpu_core_seconds", "kind": "Service"},  # a built-in name
        {"name": "Bad Name", "kind": "Service"},
    ]}}  # fmt: skip
    [meter] = meters_of([dataplane])
    assert meter == ObjectMeter("databases", "ConfigMap", "v1", "tier=db")
    obj = {"metadata": {"uid": "cm1", "creationTimestamp": "2027-03-01T12:00:30Z"}}
    item = object_item(obj, "acme", meter)
    assert item is not None
    state = run(fresh(), [item], [0, 61])
    assert quantities(state, "databases") == {at(0): pytest.approx(30.0)}
    assert (
        next(r for r in state.pending.values() if r.meter == "databases").unit == "object_seconds"
    )


def test_an_item_missing_from_one_listing_is_not_credited_twice() -> None:
    item = Item("pod/x", "acme", at(0), None, {CPU: 1.0})
    state = run(fresh(), [item], [0, 20])
    state = ledger.visit(state, [], ["acme"], at(30))  # a failed or partial list
    state = run(state, [item], [40, 61])
    assert quantities(state, CPU) == {at(0): pytest.approx(60.0)}


def test_progress_between_checkpoints_survives_in_memory_and_acks_merge() -> None:
    item = Item("pod/x", "acme", at(0), None, {CPU: 1.0})
    written = run(fresh(), [item], [0, 61])  # checkpointed here, with records pending
    memory = ledger.visit(written, [item], ["acme"], at(100))  # not written
    # A report took the pending records meanwhile (another write of the checkpoint).
    stored = ledger.acknowledge(written, written.pending.values())
    start = ledger.resume(stored, written, memory)
    assert not start.pending
    # The pod ends and vanishes before the next checkpoint: its time up to 100 s is kept.
    after = ledger.visit(start, [], ["acme"], at(125))
    assert quantities(after, CPU) == {at(60): pytest.approx(40.0)}
    assert ledger.urgent(stored, after)


def test_another_meter_writing_makes_the_visit_start_from_the_checkpoint() -> None:
    item = Item("pod/x", "acme", at(0), None, {CPU: 1.0})
    written = run(fresh(), [item], [0, 10])
    memory = ledger.visit(written, [item], ["acme"], at(20))
    theirs = ledger.visit(written, [item], ["acme"], at(15))  # another leader, written
    assert ledger.resume(theirs, written, memory) is theirs
    assert not ledger.urgent(written, memory)  # no records issued: the checkpoint can wait
