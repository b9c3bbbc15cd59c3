"""Agent identity, persisted sync state, the snapshot allowlist, the cluster adapters' pure bits.

Aspects: the key is generated once and survives reloads; the agent id derives from it; state
round-trips through its Secret form; raw objects are reduced to names, Ready status and CamelCase
reasons; pod requests sum per tenant; the applied bundle is the Ready one with the highest
sequence; the `status` commands explain a missing cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner

from agent.errors import ConfigError
from agent.sync.cli import status
from agent.sync.cluster import requests_of
from agent.sync.snapshot import (
    BundleInfo,
    Health,
    PodRequests,
    Usage,
    bundle_of,
    health_of,
    usage_by_tenant,
)
from agent.sync.state import MemoryStore, SyncState, ensure_identity, key_from_pem, key_to_pem
from bundle.lineage import APPLIED_AT
from tests.unit.hub.hubkit import T0, run
from wire import protocol


def test_the_key_is_generated_once_and_names_the_agent() -> None:
    store = MemoryStore()
    key, state = run(ensure_identity(store, store))
    again, same = run(ensure_identity(store, store))
    assert key_to_pem(again) == key_to_pem(key)
    assert same == state
    assert state.agent_id == protocol.agent_id_for(key.public_key())
    assert store.writes == 2


def test_state_round_trips_through_its_stored_form() -> None:
    state = SyncState("agt_x", 7, "a" * 64, T0, 1, 4, 2, 3, True)
    assert SyncState.from_dict(state.to_dict()) == state
    key = run(ensure_identity(MemoryStore(), MemoryStore()))[0]
    assert key_to_pem(key_from_pem(key_to_pem(key), "test")) == key_to_pem(key)


def obj(name: str, **status: object) -> dict[str, object]:
    return {"metadata": {"name": name}, "status": status}


def test_health_keeps_only_status_and_camelcase_reasons() -> None:
    ready = {"type": "Ready", "status": "True", "reason": "Reconciled", "message": "hello"}
    odd = {"type": "Ready", "status": "Maybe", "reason": "has spaces; DROP TABLE", "message": "x"}
    assert health_of(obj("a", conditions=[ready])) == Health("a", "True", "Reconciled")
    assert health_of(obj("b", conditions=[odd])) == Health("b", "Unknown", "Other")
    assert health_of(obj("c")) == Health("c", "Unknown", "NoReadyCondition")
    assert health_of(obj("Not A DNS Name")).name == "invalid-name"


def test_usage_sums_pod_requests_per_tenant() -> None:
    pods = [PodRequests("a", 250, 100), PodRequests("a", 750, 50), PodRequests("b", 1, 1)]
    assert usage_by_tenant(pods) == {"a": Usage(2, 1000, 150), "b": Usage(1, 1, 1)}


def applied(raw: dict[str, Any], when: str) -> dict[str, Any]:
    """`raw` stamped as applied at `when` (the import lineage's annotation)."""
    meta = {**raw.get("metadata", {}), "annotations": {APPLIED_AT: when}}
    return {**raw, "metadata": meta}


def test_the_applied_bundle_is_the_ready_one_with_the_highest_sequence() -> None:
    ready = [{"type": "Ready", "status": "True", "reason": "Applied"}]
    bundles = [
        {
            **applied(obj("old", conditions=ready), "2026-01-01T00:00:00Z"),
            "spec": {"version": "1.0.0", "sequence": 5},
        },
        {
            **applied(obj("new", conditions=ready), "2026-01-02T00:00:00Z"),
            "spec": {"version": "1.1.0", "sequence": 9},
        },
        {**obj("broken"), "spec": {"version": "2.0.0", "sequence": 12}},
    ]
    assert bundle_of(bundles) == BundleInfo("1.1.0", 9)


def test_pod_requests_are_read_from_the_pod_objects() -> None:
    def container(cpu: str, memory: str) -> dict[str, Any]:
        return {"name": "c", "resources": {"requests": {"cpu": cpu, "memory": memory}}}

    pod = {
        "spec": {"containers": [container("250m", "64Mi"), container("1", "1Gi"), {"name": "n"}]}
    }
    assert requests_of("acme", pod) == PodRequests("acme", 1250, 64 * 2**20 + 2**30)


def test_status_commands_explain_a_missing_cluster() -> None:
    result = CliRunner().invoke(status, ["preview", "--kubeconfig", "/nonexistent/kubeconfig"])
    assert isinstance(result.exception, ConfigError)
    assert "--kubeconfig" in str(result.exception)


def test_export_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("")
    result = CliRunner().invoke(status, ["export", "--out", str(out)])
    assert isinstance(result.exception, ConfigError)
    assert "--force" in str(result.exception)
