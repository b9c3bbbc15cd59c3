"""Scale: a bundle of 1,000 objects (in 200 resource files: the Bundle CRD caps the signed
manifest at 64 KiB, about 240 files) is imported, applied and then upgraded to one that drops
100 objects, which are pruned. Prints the measured times (run with -s to see them)."""

from __future__ import annotations

import time

import pytest

from tests.cluster.agent.agentkit import Agent, wait_for
from tests.cluster.bundle.kit import Lineage, config_map

pytestmark = pytest.mark.cluster

OBJECTS, PER_FILE = 1000, 5


def _files(lineage: Lineage, count: int) -> dict[str, list[dict[str, object]]]:
    objs = [config_map(f"{lineage.product}-{i:04d}", lineage.namespace) for i in range(count)]
    return {f"cm-{i:04d}.yaml": objs[i : i + PER_FILE] for i in range(0, count, PER_FILE)}


def _count(lineage: Lineage) -> int:
    selector = f"outpost.dev/bundle-product={lineage.product}"
    return len(lineage.kubectl.items("configmaps", lineage.namespace, selector))


def test_a_bundle_of_1000_objects_applies_and_prunes(lineage: Lineage, agent: Agent) -> None:
    big = lineage.build(1, _files(lineage, OBJECTS))
    started = time.monotonic()
    lineage.apply(big)
    stored = time.monotonic()
    wait_for(lambda: lineage.ready(lineage.name(1)).get("reason") == "Reconciled", 300,
             f"Bundle Ready ({lineage.ready(lineage.name(1))})", interval=1)  # fmt: skip
    applied = time.monotonic()
    assert _count(lineage) == OBJECTS
    lineage.apply(lineage.build(2, _files(lineage, OBJECTS - 100)))
    wait_for(lambda: _count(lineage) == OBJECTS - 100, 300, "100 objects pruned", interval=1)
    pruned = time.monotonic()
    print(f"\nbundle apply (verify + 200 ConfigMaps + Bundle): {stored - started:.1f}s;"
          f" agent applied {OBJECTS} objects: {applied - stored:.1f}s;"
          f" upgrade with 100 pruned: {pruned - applied:.1f}s")  # fmt: skip
