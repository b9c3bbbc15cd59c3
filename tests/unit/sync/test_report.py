"""Building status reports: fields, chain, size cap, allowlist, preview, speed.

Aspects: seq advances and the chain links each report to the previous payload; the header and
summary carry what the hub needs; oversized reports are cut deterministically and flagged; the
snapshot allowlist keeps Secret values, messages, annotations and owners out (owners only on
request); preview writes nothing; 1,000 tenants build and sign quickly.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

from agent.sync import report
from agent.sync.snapshot import PodRequests, snapshot_from_objects
from agent.sync.state import SyncState
from bundle import dsse
from tests.unit.hub.hubkit import T0, agent, run, snapshot
from wire import protocol

SECRET = "s3cr3t-planted-value-9f8e7d"


def test_a_report_carries_header_summary_and_usage() -> None:
    payload, after = report.build_report(snapshot(tenants=3), SyncState("agt_x"), T0, "n1")
    doc = json.loads(payload)
    assert doc["schema"] == protocol.SCHEMA_STATUS
    assert (doc["agent_id"], doc["cluster_uid"], doc["seq"], doc["nonce"]) == (
        "agt_x", "uid-1", 1, "n1",
    )  # fmt: skip
    assert doc["issued_at"] == protocol.format_time(T0)
    assert doc["bundle"] == {"version": "2.14.0", "sequence": 1042}
    assert doc["summary"]["tenants"] == {"total": 3, "ready": 2}
    assert doc["tenants"][1]["usage"] == {"pods": 3, "cpu_millicores": 500, "memory_bytes": 2**29}
    assert doc["summary"]["usage"]["pods"] == 9
    assert doc["truncated"] is False
    assert "agent_version" in doc
    assert after.seq == 1
    assert after.last_sha256 == protocol.sha256_hex(payload)


def test_each_report_links_to_the_previous_payload() -> None:
    first, state = report.build_report(snapshot(), SyncState("agt_x"), T0, "n1")
    second, state = report.build_report(snapshot(), state, T0 + timedelta(minutes=5), "n2")
    doc = json.loads(second)
    assert doc["seq"] == 2
    assert doc["previous_sha256"] == protocol.sha256_hex(first)
    assert doc["period"] == {"start": protocol.format_time(T0), "end": doc["issued_at"]}


def test_drop_and_reject_counters_are_reported_once_then_reset() -> None:
    state = SyncState("agt_x").count_dropped(3).count_rejected(1)
    payload, after = report.build_report(snapshot(), state, T0, "n1")
    assert json.loads(payload)["spool"] == {
        "dropped": 3, "dropped_total": 3, "rejected": 1, "rejected_total": 1,
    }  # fmt: skip
    assert (after.dropped, after.dropped_total, after.rejected) == (0, 3, 0)


def test_an_oversized_report_is_cut_deterministically_and_flagged() -> None:
    big = snapshot(tenants=400, apps_per_tenant=5)
    options = report.ReportOptions(max_bytes=32 * 1024)
    payload, _ = report.build_report(big, SyncState("agt_x"), T0, "n1", options)
    again, _ = report.build_report(big, SyncState("agt_x"), T0, "n1", options)
    doc = json.loads(payload)
    assert payload == again
    assert len(payload) <= 32 * 1024
    assert doc["truncated"] is True
    assert doc["summary"]["applications"]["total"] == 2000
    assert 0 < len(doc["applications"]) < 2000
    assert doc["applications"][0]["name"] == "app-0000-0"


def raw_objects() -> dict[str, list[dict[str, object]]]:
    def obj(name: str, **spec: object) -> dict[str, object]:
        return {
            "metadata": {"name": name, "annotations": {"token": SECRET}, "labels": {"x": SECRET}},
            "spec": {"password": SECRET, **spec},
            "status": {"conditions": [
                {"type": "Ready", "status": "False", "reason": "Broken", "message": SECRET},
                {"type": "Other", "status": "True", "reason": SECRET, "message": SECRET},
            ]},
        }  # fmt: skip

    return {
        "DataPlane": [obj("main")],
        "Tenant": [obj("acme", owner="alice@example.com"), obj("beta", owner=SECRET)],
        "Application": [obj("shop", tenantRef={"name": "acme"})],
        "Bundle": [obj("b1", version=SECRET + "x" * 80, sequence=3)],
    }


def test_a_planted_secret_value_never_appears_in_any_report() -> None:
    snap = snapshot_from_objects("uid-1", raw_objects(), [PodRequests("acme", 100, 1)])
    cycle, _ = agent()
    envelope = run(cycle.produce(snap, T0, "n1"))
    exported = run(cycle.export(snap, T0 + timedelta(minutes=1), "n2"))
    preview = run(cycle.preview(snap, T0, "n3"))
    for blob in (envelope, exported, preview, dsse.parse(envelope).payload):
        assert SECRET.encode() not in blob
    doc = json.loads(preview)
    assert doc["tenants"][0]["reason"] == "Broken"
    assert "owner" not in doc["tenants"][0]


def test_owners_are_reported_only_when_allowed() -> None:
    snap = snapshot_from_objects("uid-1", raw_objects(), [], include_owners=True)
    hidden, _ = report.build_report(snap, SyncState("agt_x"), T0, "n")
    shown, _ = report.build_report(
        snap, SyncState("agt_x"), T0, "n", report.ReportOptions(include_owners=True)
    )
    assert b"alice@example.com" not in hidden
    assert json.loads(shown)["tenants"][0]["owner"] == "alice@example.com"


def test_preview_shows_the_next_report_and_changes_nothing() -> None:
    cycle, store = agent()
    run(cycle.produce(snapshot(), T0, "n1"))
    writes, state = store.writes, store.state
    preview = json.loads(run(cycle.preview(snapshot(), T0 + timedelta(minutes=1), "n2")))
    assert preview["seq"] == 2
    assert (store.writes, store.state) == (writes, state)
    sent = dsse.parse(run(cycle.produce(snapshot(), T0 + timedelta(minutes=1), "n2"))).payload
    assert json.loads(sent) == preview


def test_a_thousand_tenants_build_and_sign_quickly() -> None:
    big = snapshot(tenants=1000, apps_per_tenant=3)
    cycle, _ = agent()
    started = time.perf_counter()
    envelope = run(cycle.produce(big, T0, "n1"))
    elapsed = time.perf_counter() - started
    assert len(dsse.parse(envelope).payload) <= protocol.MAX_REPORT_BYTES
    # The benchmark holds the 100 ms target; here only a generous bound against regressions.
    assert elapsed < 1.0


def test_the_licence_in_force_is_reported_under_versions() -> None:
    ready = {"type": "Ready", "status": "True", "reason": "LicenseValid", "message": SECRET}
    spec = {"customer": "Acme", "expires": "2027-01-01T00:00:00Z", "license": SECRET}
    lic = {"metadata": {"name": "l"}, "spec": spec,
           "status": {"inForce": True, "conditions": [ready], "entitlements": {"maxTenants": "2"},
                      "usage": {"tenants": 3, "applications": 1}}}  # fmt: skip
    old = {"metadata": {"name": "o"}, "spec": {"customer": SECRET}, "status": {"inForce": False}}
    snap = snapshot_from_objects("uid-1", {**raw_objects(), "License": [old, lic]}, [])
    payload, _ = report.build_report(snap, SyncState("agt_x"), T0, "n")
    assert SECRET.encode() not in payload
    assert json.loads(payload)["license"] == {
        "customer": "Acme", "ready": "True", "reason": "LicenseValid",
        "expires": "2027-01-01T00:00:00Z", "tenants": "3/2", "applications": "1/-",
    }  # fmt: skip
    opts = report.ReportOptions(share=frozenset({"health"}))
    withheld, _ = report.build_report(snap, SyncState("agt_x"), T0, "n", opts)
    assert json.loads(withheld)["license"] is None


def test_preflight_results_ride_in_the_report_without_their_messages() -> None:
    from agent.sync import consent
    from agent.sync.snapshot import snapshot_from_objects

    checks = [
        {"name": "k8s", "check": "kubernetesVersion", "strict": True, "passed": False,
         "message": "needs 9.0.0; the secret-ish detail stays home"},
        {"name": "nodes", "check": "nodes", "strict": False, "passed": True, "message": "ok"},
    ]  # fmt: skip
    bundle = {"metadata": {"name": "acme-stable-2", "creationTimestamp": "2026-01-02T00:00:00Z"},
              "spec": {}, "status": {"preflight": checks}}  # fmt: skip
    snap = snapshot_from_objects("uid", {"Bundle": [bundle]}, [])
    payload, _ = report.build_report(snap, SyncState("agt_x"), T0, "n")
    doc = json.loads(payload)
    assert doc["preflight"] == {"bundle": "acme-stable-2", "results": [
        {"name": "k8s", "check": "kubernetesVersion", "strict": True, "passed": False},
        {"name": "nodes", "check": "nodes", "strict": False, "passed": True},
    ]}  # fmt: skip
    assert "secret-ish" not in payload.decode()
    withheld = report.ReportOptions(share=consent.DEFAULT_SHARE - {"health"})
    payload, _ = report.build_report(snap, SyncState("agt_x"), T0, "n", withheld)
    assert json.loads(payload)["preflight"] is None
