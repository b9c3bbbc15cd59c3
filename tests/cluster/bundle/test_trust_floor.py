"""Anti-rollback of trust on the real control plane: a retired bundle key cannot sign again.

The vendor rotates keyring v1 → v2, dropping bundle key b1. A bundle signed by b1 that carries
only the v1 chain is refused by `outpost bundle apply` (nothing written) and by the agent
(RollbackRefused, nothing applied), and still after every Bundle object was deleted: the floor
lives in ConfigMap `outpost-trust-floor` in the agent namespace, not in the Bundles.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.cluster.agent.agentkit import Agent, wait_for
from tests.cluster.bundle.kit import Lineage, tenant
from tests.unit.bundle.factory import key, rotate_bundle_key

pytestmark = pytest.mark.cluster
FLOOR = "outpost-trust-floor"


def _reason(lineage: Lineage, name: str, reason: str, timeout: float = 60) -> None:
    wait_for(lambda: lineage.ready(name).get("reason") == reason, timeout,
             f"Bundle {name} Ready reason {reason} (now {lineage.ready(name)})")  # fmt: skip


def _floor(lineage: Lineage) -> dict[str, str]:
    found = lineage.kubectl.get("configmap", FLOOR, lineage.namespace)
    return dict((found or {}).get("data") or {})


def _refused_by_apply(lineage: Lineage, sequence: int, names: list[str]) -> None:
    retired = lineage.build(sequence, {"t.yaml": [tenant(n) for n in names]}, tag="-retired")
    proc = lineage.apply(retired, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "trust rollback check failed" in proc.stderr
    assert "already trusts keyring v2" in proc.stderr
    assert lineage.kubectl.get("bundle", lineage.name(sequence)) is None


def test_retired_key_refused_by_apply_and_agent_after_bundles_are_deleted(
    lineage: Lineage, agent: Agent
) -> None:
    a, evil = f"{lineage.product}-a", f"{lineage.product}-evil"
    lineage.apply(lineage.build(1, {"t.yaml": [tenant(a)]}))
    _reason(lineage, lineage.name(1), "Reconciled")
    assert _floor(lineage)["keyringVersion"] == "1"

    rotated = dataclasses.replace(
        lineage, vendor=rotate_bundle_key(lineage.vendor, key("bundle-after-rotation"))
    )
    rotated.apply(rotated.build(2, {"t.yaml": [tenant(a)]}, tag="-v2"))
    _reason(lineage, lineage.name(2), "Reconciled")
    assert _floor(lineage)["keyringVersion"] == "2"

    # The red team's bundle: signed by the retired key, carrying only the v1 chain.
    _refused_by_apply(lineage, 3, [a, evil])
    by_hand = lineage.by_hand(lineage.build(4, {"t.yaml": [tenant(a), tenant(evil)]}, tag="-h"))
    _reason(lineage, by_hand, "RollbackRefused")
    assert "trust rollback check failed" in lineage.ready(by_hand)["message"]

    # Whoever may delete Bundles wipes the channel's history, but not the trust floor.
    selector = f"outpost.dev/product={lineage.product}"
    lineage.kubectl.run("delete", "bundles", "-l", selector)
    wait_for(lambda: not lineage.kubectl.items("bundles", selector=selector), 30, "no Bundles")
    assert _floor(lineage)["keyringVersion"] == "2"
    _refused_by_apply(lineage, 5, [a, evil])
    again = lineage.by_hand(lineage.build(6, {"t.yaml": [tenant(a), tenant(evil)]}, tag="-h"))
    _reason(lineage, again, "RollbackRefused")
    assert evil not in lineage.tenants()


def test_deleting_bundles_does_not_reopen_a_sequence_rollback(
    lineage: Lineage, agent: Agent
) -> None:
    """The sequence applied last is remembered beside the floor, not only in the Bundles."""
    a = f"{lineage.product}-seq"
    lineage.apply(lineage.build(5, {"t.yaml": [tenant(a)]}))
    _reason(lineage, lineage.name(5), "Reconciled")
    old = lineage.build(3, {"t.yaml": [tenant(a)]}, tag="-old")
    selector = f"outpost.dev/product={lineage.product}"
    lineage.kubectl.run("delete", "bundles", "-l", selector)
    wait_for(lambda: not lineage.kubectl.items("bundles", selector=selector), 30, "no Bundles")
    proc = lineage.apply(old, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "lower than the applied 5" in proc.stderr
    by_hand = lineage.by_hand(old)
    _reason(lineage, by_hand, "RollbackRefused")
    assert "lower than the applied 5" in lineage.ready(by_hand)["message"]
