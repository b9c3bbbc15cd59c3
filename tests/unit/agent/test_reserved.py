"""Reserved namespace names: exact names and `prefix*`, the DataPlane's list or the defaults,
which the DataPlane CRD declares as its default too."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import k8syaml
from agent import api
from agent.core.reserved import DEFAULT_RESERVED, is_reserved, reserved_patterns, reserved_problem
from agent.core.tenant.decide import TenantObservation, decide_tenant
from agent.settings import from_env
from tests.unit.agent.tenantkit import tenant

CRD = (
    Path(__file__).resolve().parents[3]
    / "charts/outpost-agent/files/crds/dataplanes.outpost.dev.yaml"
)


def test_exact_names_and_prefixes() -> None:
    patterns = ("kube-*", "default", "cert-manager")
    assert is_reserved("kube-system", patterns)
    assert is_reserved("kube-", patterns)
    assert is_reserved("default", patterns)
    assert is_reserved("cert-manager", patterns)
    assert not is_reserved("defaults", patterns)
    assert not is_reserved("cert-manager-2", patterns)
    assert not is_reserved("my-kube-system", patterns)


def test_the_dataplane_list_replaces_the_defaults() -> None:
    assert reserved_patterns(None) == DEFAULT_RESERVED
    assert reserved_patterns({"spec": {}}) == DEFAULT_RESERVED
    assert reserved_patterns({"spec": {"reservedNamespaces": ["x"]}}) == ("x",)
    assert reserved_patterns({"spec": {"reservedNamespaces": []}}) == ()


def test_problem_names_the_field_and_the_reason() -> None:
    problem = reserved_problem("kube-x", DEFAULT_RESERVED, "spec.namespaces")
    assert problem is not None
    assert problem.reason == api.Reason.RESERVED_NAMESPACE == "ReservedNamespace"
    assert "spec.namespaces" in problem.message
    assert reserved_problem("team-a", DEFAULT_RESERVED, "spec.namespaces") is None


def test_crd_default_is_the_agents_default() -> None:
    crd = k8syaml.load(CRD.read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert tuple(spec["properties"]["reservedNamespaces"]["default"]) == DEFAULT_RESERVED


def test_settings_reserve_the_agents_namespace_and_the_charts_list() -> None:
    env = {"OUTPOST_NAMESPACE": "outpost", "OUTPOST_RESERVED_NAMESPACES": "cert-manager, mon-*"}
    assert from_env(env).reserved() == ("outpost", "cert-manager", "mon-*")
    assert from_env({"OUTPOST_NAMESPACE": "outpost"}).reserved() == ("outpost",)


def test_tenant_refuses_names_reserved_by_the_settings() -> None:
    obs = TenantObservation(tenant(namespaces=["a1", "cert-manager"]), None, reserved=("cert-*",))
    decision = decide_tenant(obs, datetime(2026, 1, 1, tzinfo=UTC))
    ready = next(c for c in decision.conditions if c.type == "Ready")
    assert ready.reason == "ReservedNamespace"
    assert "cert-manager" in ready.message
