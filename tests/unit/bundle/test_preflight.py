"""Preflight checks decided on gathered facts: each kind, strictness, malformed checks."""

from __future__ import annotations

import pytest

from bundle.errors import ManifestError
from bundle.preflight import ClusterFacts, checks_of, evaluate, failed, quantity, table

FACTS = ClusterFacts(
    version="v1.31.2", nodes=3, cpu=6.0, memory=24 * 2**30,
    storage_classes={"fast": False, "standard": True},
    api_resources=frozenset({"apps/v1/Deployment", "v1/ConfigMap"}),
    crds=frozenset({"widgets.acme.example"}),
)  # fmt: skip


def run(*checks: dict[str, object]) -> list[bool | None]:
    doc = {"apiVersion": "outpost.dev/v1alpha1", "kind": "Preflight", "spec": {"checks": checks}}
    return [r.passed for r in evaluate(checks_of([doc]), FACTS)]


def test_each_kind() -> None:
    assert run({"kubernetesVersion": {"min": "1.28", "max": "1.32.0"}}) == [True]
    assert run({"kubernetesVersion": {"min": "9.0.0"}}) == [False]
    assert run({"nodes": {"min": 3}}, {"nodes": {"min": 4}}) == [True, False]
    assert run({"allocatable": {"cpu": "5500m", "memory": "24Gi"}}) == [True]
    assert run({"allocatable": {"cpu": "7"}}) == [False]
    assert run({"storageClass": {"name": "fast"}}, {"storageClass": {"default": True}}) == [
        True, True,
    ]  # fmt: skip
    assert run({"storageClass": {"name": "slow"}}) == [False]
    assert run({"apiResources": ["apps/v1/Deployment", "batch/v1/CronJob"]}) == [False]
    assert run({"crdPresent": "widgets.acme.example"}, {"crdAbsent": "widgets.acme.example"}) == [
        True, False,
    ]  # fmt: skip
    assert run({"registryReachable": {}}) == [None]  # not checked from a workstation


def test_strict_and_warnings() -> None:
    doc = {"apiVersion": "outpost.dev/v1alpha1", "kind": "Preflight", "spec": {"checks": [
        {"name": "k8s", "kubernetesVersion": {"min": "9.0.0"}},
        {"name": "nodes", "strict": False, "nodes": {"min": 9}},
    ]}}  # fmt: skip
    results = evaluate(checks_of([doc]), FACTS)
    assert [r.name for r in failed(results)] == ["k8s"]
    assert [r.name for r in failed(results, strict=False)] == ["nodes"]
    assert "FAIL" in table(results)


def test_malformed_checks_refused() -> None:
    with pytest.raises(ManifestError):
        checks_of([{"apiVersion": "v1", "kind": "ConfigMap"}])
    bad = {"apiVersion": "outpost.dev/v1alpha1", "kind": "Preflight",
           "spec": {"checks": [{"nodes": {}, "crdAbsent": "x"}]}}  # fmt: skip
    with pytest.raises(ManifestError):
        checks_of([bad])
    assert quantity("1Gi") == 2**30
    assert quantity("250m") == 0.25
