"""Preflight checks on the real control plane: `outpost preflight` and the agent agree.

A bundle whose strict check cannot pass (Kubernetes 9.0.0 or later) is refused by the agent
before anything of it is applied (PreflightPassed=False, PreflightFailed) and the bundle in
force stays in force; the CLI prints the same verdict and exits 1. A failed non-strict check
only warns.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.agent.agentkit import OUTPOST, Agent, Kubectl, wait_for
from tests.cluster.bundle.kit import Lineage, tenant

pytestmark = pytest.mark.cluster
API = "outpost.dev/v1alpha1"


def with_checks(lineage: Lineage, sequence: int, checks: list[dict[str, Any]]) -> None:
    """Put a preflight/checks.yaml into the source tree `lineage.build(sequence)` will use."""
    src = lineage.tmp / f"src-{sequence}" / "preflight"
    src.mkdir(parents=True)
    doc = {"apiVersion": API, "kind": "Preflight", "metadata": {"name": "checks"},
           "spec": {"checks": checks}}  # fmt: skip
    (src / "checks.yaml").write_text(json.dumps(doc))


def preflight(lineage: Lineage, bundle: Path) -> subprocess.CompletedProcess[str]:
    argv = [str(OUTPOST), "preflight", str(bundle), "--trust", str(lineage.trust),
            "--kubeconfig", str(lineage.cluster.kubeconfig), "--output", "json"]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_strict_failure_keeps_the_previous_bundle_in_force(
    lineage: Lineage, agent: Agent, kubectl: Kubectl
) -> None:
    a, b = f"{lineage.product}-a", f"{lineage.product}-b"
    with_checks(lineage, 1, [{"name": "some-nodes", "nodes": {"min": 1}},
                             {"name": "big", "strict": False, "nodes": {"min": 50}}])  # fmt: skip
    first = lineage.build(1, {"t.yaml": [tenant(a)]})
    lineage.apply(first)
    wait_for(lambda: lineage.ready(lineage.name(1)).get("reason") == "Reconciled", 90,
             f"bundle 1 Reconciled ({lineage.ready(lineage.name(1))})")  # fmt: skip
    passed = kubectl.condition("bundle", lineage.name(1), "PreflightPassed")
    assert passed["status"] == "True"
    assert "big" in passed["message"]  # the non-strict failure is a warning

    with_checks(lineage, 2, [{"name": "future-k8s", "kubernetesVersion": {"min": "9.0.0"}}])
    second = lineage.build(2, {"t.yaml": [tenant(a), tenant(b)]})
    proc = preflight(lineage, second)
    assert proc.returncode == 1, proc.stderr
    (result,) = json.loads(proc.stdout)
    assert result["name"] == "future-k8s"
    assert result["passed"] is False
    lineage.apply(second)
    name = lineage.name(2)
    wait_for(lambda: lineage.ready(name).get("reason") == "PreflightFailed", 60,
             f"bundle 2 PreflightFailed ({lineage.ready(name)})")  # fmt: skip
    condition = kubectl.condition("bundle", name, "PreflightPassed")
    assert condition["status"] == "False"
    assert "future-k8s" in condition["message"]
    assert lineage.tenants() == [a]  # nothing of bundle 2 applied
    assert lineage.ready(lineage.name(1)).get("reason") == "Reconciled"
    status = (kubectl.get("bundle", name) or {})["status"]
    assert status["preflight"][0]["passed"] is False
