"""Health-gated upgrades on the real control plane: an Application that never becomes Ready.

Bundle 1 deploys an Application that becomes Ready. Bundle 2 changes it so that it can never be
Ready (it requires a licence feature nobody has) and gives itself 20 seconds. The agent rolls
back: bundle 2 reports RolledBack naming the Application, bundle 1's Application spec is back
and Ready, and bundle 2 is tried again only when annotated for a retry.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.cluster.agent.agentkit import Agent, Kubectl, wait_for
from tests.cluster.bundle.kit import Lineage

pytestmark = pytest.mark.cluster
API = "outpost.dev/v1alpha1"


def app(name: str, namespace: str, value: str, requires: list[str]) -> dict[str, Any]:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
          "data": {"v": value}}  # fmt: skip
    spec: dict[str, Any] = {"namespace": namespace, "manifests": {"objects": [cm]}}
    if requires:
        spec["requires"] = requires
    return {"apiVersion": API, "kind": "Application", "metadata": {"name": name}, "spec": spec}


def reason(lineage: Lineage, sequence: int) -> str:
    return str(lineage.ready(lineage.name(sequence)).get("reason"))


def test_upgrade_that_never_becomes_ready_rolls_back(
    lineage: Lineage, agent: Agent, kubectl: Kubectl
) -> None:
    name, ns = f"{lineage.product}-web", f"{lineage.product}-web"
    lineage.apply(lineage.build(1, {"apps.yaml": [app(name, ns, "1", [])]}))
    wait_for(lambda: reason(lineage, 1) == "Reconciled", 90, "bundle 1 Reconciled")
    second = lineage.build(2, {"apps.yaml": [app(name, ns, "2", ["feature.never"])]})
    lineage.apply(second, "--health-timeout", "20s")
    wait_for(lambda: reason(lineage, 2) == "RolledBack", 75,
             f"bundle 2 RolledBack ({lineage.ready(lineage.name(2))})")  # fmt: skip
    message = lineage.ready(lineage.name(2))["message"]
    assert f"Application {name}" in message
    assert lineage.name(1) in message
    wait_for(lambda: "requires" not in ((kubectl.get("application", name) or {}).get("spec") or {}),
             30, "bundle 1's Application spec back")  # fmt: skip
    wait_for(lambda: kubectl.condition("application", name).get("status") == "True", 60,
             "the Application Ready again")  # fmt: skip
    assert kubectl.get("namespace", ns) is not None  # never deleted
    wait_for(lambda: reason(lineage, 1) == "Reconciled", 60, "bundle 1 in force and Ready")

    # Not retried by itself; the retry annotation admits it again.
    def notes() -> dict[str, str]:
        found = kubectl.get("bundle", lineage.name(2)) or {}
        return dict((found.get("metadata") or {}).get("annotations") or {})

    assert "outpost.dev/applied-at" not in notes()
    kubectl.run("annotate", "bundle", lineage.name(2), "outpost.dev/retry=true")
    wait_for(lambda: "outpost.dev/applied-at" in notes(), 60, "bundle 2 applied again")
    kubectl.run("delete", "applications", "-l", f"outpost.dev/bundle-product={lineage.product}",
                "--wait=true", "--timeout=60s", check=False)  # fmt: skip
