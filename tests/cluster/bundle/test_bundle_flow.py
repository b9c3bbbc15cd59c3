"""Bundles end to end on the real control plane with a real agent process: import → verified,
applied, Ready; an upgrade prunes what it dropped; a lower sequence is refused (by the CLI before
writing, and by the agent for a hand-made Bundle) unless a signed permit names it; tampered content
and untrusted signatures are refused with nothing applied."""

from __future__ import annotations

import base64
import json

import pytest

from tests.cluster.agent.agentkit import Agent, wait_for
from tests.cluster.bundle.kit import Lineage, tenant
from tests.unit.bundle.factory import vendor

pytestmark = pytest.mark.cluster


def _reason(lineage: Lineage, name: str, reason: str, timeout: float = 60) -> None:
    wait_for(lambda: lineage.ready(name).get("reason") == reason, timeout,
             f"Bundle {name} Ready reason {reason} (now {lineage.ready(name)})")  # fmt: skip


def _poke(lineage: Lineage, name: str) -> None:
    """An annotation change makes the agent visit the Bundle now instead of at the next resync."""
    lineage.kubectl.run("annotate", "--overwrite", "bundle", name, f"test/poke={id(object())}")


def test_import_upgrade_rollback_and_permit(lineage: Lineage, agent: Agent) -> None:
    a, b = f"{lineage.product}-a", f"{lineage.product}-b"
    first = lineage.build(2, {"tenants.yaml": [tenant(a), tenant(b)]})
    plan = lineage.apply(first, "--dry-run")
    assert f"create Bundle {lineage.name(2)}" in plan.stdout
    assert lineage.kubectl.get("bundle", lineage.name(2)) is None
    assert lineage.kubectl.items("configmaps", lineage.namespace, "outpost.dev/content=true") == []
    out = lineage.apply(first, "--output", "json")
    assert json.loads(out.stdout)["decision"] == "install"
    _reason(lineage, lineage.name(2), "Reconciled")
    assert lineage.tenants() == [a, b]
    for kind in ("Verified", "Applied"):
        assert lineage.kubectl.condition("bundle", lineage.name(2), kind)["status"] == "True"
    again = lineage.apply(first)
    assert "already imported" in again.stdout

    lineage.apply(lineage.build(3, {"tenants.yaml": [tenant(a)]}))
    _reason(lineage, lineage.name(3), "Reconciled")
    wait_for(lambda: lineage.tenants() == [a], 60, f"tenant {b} pruned")
    _poke(lineage, lineage.name(2))
    _reason(lineage, lineage.name(2), "Superseded")

    older = lineage.build(1, {"tenants.yaml": [tenant(f"{lineage.product}-old")]})
    refused = lineage.apply(older, check=False)
    assert refused.returncode == 2, refused.stderr  # an expected, explained refusal
    assert "rollback check failed" in refused.stderr
    assert lineage.kubectl.get("bundle", lineage.name(1)) is None  # nothing written

    by_hand = lineage.by_hand(older)
    _reason(lineage, by_hand, "RollbackRefused")
    assert lineage.tenants() == [a]

    lineage.kubectl.delete("bundle", by_hand, wait=True)
    lineage.apply(older, "--permit", str(lineage.permit(1)))
    _reason(lineage, lineage.name(1), "Reconciled")
    wait_for(lambda: lineage.tenants() == [f"{lineage.product}-old"], 60, "downgrade applied")
    _poke(lineage, lineage.name(3))
    _reason(lineage, lineage.name(3), "Superseded")


def test_tampered_content_and_untrusted_signatures_are_refused(
    lineage: Lineage, agent: Agent
) -> None:
    a = f"{lineage.product}-a"
    lineage.apply(lineage.build(1, {"tenants.yaml": [tenant(a)]}))
    _reason(lineage, lineage.name(1), "Reconciled")
    bundle = lineage.kubectl.get("bundle", lineage.name(1)) or {}
    ref = bundle["spec"]["content"][0]["configMapRef"]
    cm = lineage.kubectl.get("configmap", ref["name"], ref["namespace"]) or {}
    evil = json.dumps(tenant(f"{lineage.product}-evil")).encode()
    cm["binaryData"]["content"] = base64.b64encode(evil).decode()
    for key in ("resourceVersion", "uid", "creationTimestamp", "managedFields"):
        cm["metadata"].pop(key, None)
    lineage.kubectl.delete("configmap", ref["name"], ref["namespace"], wait=True)
    lineage.kubectl.run("create", "-f", "-", stdin=json.dumps(cm))
    _poke(lineage, lineage.name(1))
    _reason(lineage, lineage.name(1), "VerificationFailed")
    stalled = lineage.kubectl.condition("bundle", lineage.name(1), "Stalled")
    assert stalled["status"] == "True"
    assert "check failed" in lineage.ready(lineage.name(1))["message"]
    assert lineage.tenants() == [a]

    stranger = vendor(tag="stranger")
    lineage.vendor, trusted = stranger, lineage.vendor
    foreign = lineage.build(5, {"tenants.yaml": [tenant(f"{lineage.product}-x")]}, tag="x")
    lineage.vendor = trusted
    name = lineage.by_hand(foreign, trust=stranger.trust_root())
    _reason(lineage, name, "VerificationFailed")
    assert lineage.tenants() == [a]
