"""`outpost bundle plan` on the real control plane: an upgrade that removes a CRD version.

Bundle 1 (in force) ships a CRD serving v1alpha1 and v1 and three ConfigMaps; the candidate
drops v1alpha1, removes a field and makes another required, changes one ConfigMap, adds one and
drops one. The plan names each change, flags the three breaking ones, and writes nothing.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.agent.agentkit import OUTPOST, Agent, Kubectl, wait_for
from tests.cluster.bundle.kit import Lineage, config_map

pytestmark = pytest.mark.cluster


def crd(group: str, versions: list[str], spec_props: dict[str, Any], required: list[str]) -> Any:
    schema = {"type": "object", "properties": {"spec": {
        "type": "object", "properties": spec_props, **({"required": required} if required else {}),
    }}}  # fmt: skip
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": v, "served": True, "storage": v == "v1",
                               "schema": {"openAPIV3Schema": schema}} for v in versions]},
    }  # fmt: skip


def build(lineage: Lineage, sequence: int, crd_doc: Any, maps: list[Any]) -> Path:
    src = lineage.tmp / f"src-{sequence}" / "crds"
    src.mkdir(parents=True)
    (src / "widgets.yaml").write_text(json.dumps(crd_doc))
    return lineage.build(sequence, {"maps.yaml": maps})


@pytest.fixture
def group(lineage: Lineage, kubectl: Kubectl) -> Iterator[str]:
    name = f"{lineage.product}.plan.test"
    yield name
    kubectl.delete("crd", f"widgets.{name}")


def plan(lineage: Lineage, bundle: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [str(OUTPOST), "bundle", "plan", str(bundle), "--trust", str(lineage.trust),
            "--kubeconfig", str(lineage.cluster.kubeconfig), "--namespace", lineage.namespace,
            *extra]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_plan_flags_a_removed_crd_version(
    lineage: Lineage, agent: Agent, kubectl: Kubectl, group: str
) -> None:
    ns = lineage.namespace
    size, color = {"type": "integer", "description": "n"}, {"type": "string", "description": "c"}
    old = crd(group, ["v1alpha1", "v1"], {"size": size, "color": color}, [])
    first = build(lineage, 1, old, [config_map("a", ns), config_map("b", ns)])
    lineage.apply(first)
    wait_for(lambda: lineage.ready(lineage.name(1)).get("reason") == "Reconciled", 90,
             f"bundle 1 Reconciled ({lineage.ready(lineage.name(1))})")  # fmt: skip

    new = crd(group, ["v1"], {"size": size}, ["size"])
    changed = {**config_map("a", ns), "data": {"n": "changed"}}
    second = build(lineage, 2, new, [changed, config_map("c", ns)])
    proc = plan(lineage, second, "--output", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    breaking = report["breaking"]
    assert f"widgets.{group}: served version v1alpha1 removed" in breaking
    assert f"widgets.{group}: field spec.color removed (v1)" in breaking
    assert f"widgets.{group}: field spec.size made required (v1)" in breaking
    assert report["objects"][f"ConfigMap {ns}"] == {"added": ["c"], "changed": ["a"],
                                                     "pruned": ["b"]}  # fmt: skip
    assert report["rollback"] == "upgrade (allowed)"
    assert report["inForce"] == lineage.name(1)
    shown = plan(lineage, second)
    assert "BREAKING" in shown.stdout
    print(shown.stdout)  # the closing note quotes it
    assert kubectl.get("bundle", lineage.name(2)) is None  # wrote nothing
    assert kubectl.get("configmap", "c", ns) is None
