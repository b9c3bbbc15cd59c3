"""Rendering a Tenant's children, the effective spec, and checks of meaning."""

from __future__ import annotations

from typing import Any

import pytest

from agent import api
from agent.core.objects import ObjectRef, ref_of
from agent.core.tenant.render import check, pod_requests, render
from agent.core.tenant.spec import TenantDefaults, TenantSpec
from tests.unit.agent.tenantkit import DATAPLANE, tenant


def rendered(**spec: Any) -> dict[ObjectRef, dict[str, Any]]:
    obj = tenant(**spec)
    effective = TenantSpec.from_dict(obj["spec"], TenantDefaults.from_dataplane(DATAPLANE))
    return {ref_of(o): o for o in render(obj, effective)}


def find(objs: dict[ObjectRef, dict[str, Any]], kind: str, ns: str, name: str) -> dict[str, Any]:
    api_version = next(r.api_version for r in objs if r.kind == kind)
    return objs[ObjectRef(api_version, kind, "" if kind == "Namespace" else ns, name)]


def test_render_produces_every_child_per_namespace() -> None:
    objs = rendered()
    kinds = sorted((r.kind, r.namespace, r.name) for r in objs)
    per_ns = [
        ("LimitRange", "outpost-limits"),
        ("NetworkPolicy", "outpost-allow-dns"),
        ("NetworkPolicy", "outpost-allow-same-tenant"),
        ("NetworkPolicy", "outpost-default-deny"),
        ("NetworkPolicy", "outpost-egress-db"),
        ("ResourceQuota", "outpost-quota"),
        ("RoleBinding", "outpost-owners"),
    ]
    expected = [("Namespace", "", n) for n in ("a1", "a2")]
    expected += [(k, ns, n) for ns in ("a1", "a2") for k, n in per_ns]
    assert kinds == sorted(expected)


def test_every_child_is_labelled_and_owned() -> None:
    for obj in rendered().values():
        meta = obj["metadata"]
        assert meta["labels"][api.LABEL_TENANT] == "acme"
        assert meta["labels"][api.LABEL_K8S_MANAGED_BY] == "outpost-agent"
        assert meta["labels"][api.LABEL_MANAGED_BY] == "outpost-agent"
        assert meta["ownerReferences"] == [
            {"apiVersion": "outpost.dev/v1alpha1", "kind": "Tenant", "name": "acme",
             "uid": "t-uid", "controller": True, "blockOwnerDeletion": True}
        ]  # fmt: skip


def test_namespace_labels_psa_and_extra_metadata() -> None:
    extra = {"labels": {"team": "x"}, "annotations": {"note": "y"}}
    ns = find(rendered(namespaceMetadata=extra), "Namespace", "", "a1")
    labels = ns["metadata"]["labels"]
    assert labels["team"] == "x"
    assert {labels[k] for k in api.PSA_LABELS} == {"restricted"}  # DataPlane default
    assert ns["metadata"]["annotations"] == {"note": "y"}
    ns = find(rendered(podSecurity={"level": "baseline"}), "Namespace", "", "a1")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"


def test_network_policies() -> None:
    objs = rendered()
    deny = find(objs, "NetworkPolicy", "a1", "outpost-default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    dns = find(objs, "NetworkPolicy", "a1", "outpost-allow-dns")["spec"]["egress"][0]
    assert {(p["port"], p["protocol"]) for p in dns["ports"]} == {(53, "UDP"), (53, "TCP")}
    assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    same = find(objs, "NetworkPolicy", "a1", "outpost-allow-same-tenant")["spec"]
    assert same["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"] == {
        api.LABEL_TENANT: "acme"
    }
    egress = find(objs, "NetworkPolicy", "a1", "outpost-egress-db")["spec"]["egress"][0]
    assert egress == {"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}],
                      "ports": [{"port": 5432, "protocol": "TCP"}]}  # fmt: skip


@pytest.mark.parametrize(
    ("net", "names"),
    [
        ({"allowDNS": False, "allowSameTenant": False}, {"outpost-default-deny"}),
        ({"isolation": "none", "egress": []}, set()),
    ],
)
def test_network_policy_toggles(net: dict[str, Any], names: set[str]) -> None:
    objs = rendered(networkPolicy=net)
    assert {r.name for r in objs if r.kind == "NetworkPolicy" and r.namespace == "a1"} == names


def test_quota_is_per_namespace_and_merges_defaults() -> None:
    objs = rendered()
    for ns in ("a1", "a2"):
        hard = find(objs, "ResourceQuota", ns, "outpost-quota")["spec"]["hard"]
        assert hard == {"pods": "50", "requests.cpu": "8"}
    limits = find(objs, "LimitRange", "a1", "outpost-limits")["spec"]["limits"]
    assert limits == [{"type": "Container", "default": {"cpu": "500m"},
                       "defaultRequest": {"cpu": "100m"}}]  # fmt: skip


def test_role_binding_and_no_dataplane() -> None:
    obj = tenant(ownerRole="view")
    spec = TenantSpec.from_dict(obj["spec"], TenantDefaults.from_dataplane(None))
    objs = {ref_of(o): o for o in render(obj, spec)}
    rb = find(objs, "RoleBinding", "a1", "outpost-owners")
    assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                             "name": "view"}  # fmt: skip
    assert rb["subjects"][0]["kind"] == "Group"
    assert spec.pod_security == "baseline"
    assert not any(r.kind == "LimitRange" for r in objs)


def spec_of(**raw: Any) -> TenantSpec:
    return TenantSpec.from_dict(tenant(**raw)["spec"], TenantDefaults())


@pytest.mark.parametrize(
    ("labels", "usage", "reasons"),
    [
        pytest.param({}, {}, [], id="nothing-exists"),
        pytest.param({"a1": {api.LABEL_TENANT: "acme"}}, {}, [], id="ours"),
        pytest.param({"a1": None}, {}, [], id="absent"),
        pytest.param({"a1": {}}, {}, ["NamespaceConflict"], id="unlabelled"),
        pytest.param({"a2": {api.LABEL_TENANT: "other"}}, {}, ["NamespaceConflict"], id="other"),
        pytest.param({}, {"a1": {"requests.cpu": "9"}}, ["QuotaBelowUsage"], id="quota-low"),
        pytest.param({}, {"a1": {"requests.cpu": "7500m"}}, [], id="quota-fine"),
        pytest.param(
            {"a1": {}},
            {"a1": {"requests.cpu": "9"}},
            ["NamespaceConflict"],
            id="conflict-hides-quota",
        ),
    ],
)
def test_check(labels: Any, usage: Any, reasons: list[str]) -> None:
    problems = check("acme", spec_of(), labels, usage)
    assert [p.reason for p in problems] == reasons
    for problem in problems:
        assert problem.namespace in ("a1", "a2")
        assert problem.stalled


def test_conflict_message_says_what_to_do() -> None:
    (problem,) = check("acme", spec_of(), {"a1": {api.LABEL_TENANT: "zeta"}}, {})
    assert "tenant 'zeta'" in problem.message
    assert "`spec.namespaces`" in problem.message


def test_quota_message_says_per_namespace() -> None:
    (problem,) = check("acme", spec_of(), {}, {"a2": {"requests.cpu": "9"}})
    assert "per namespace" in problem.message
    assert "'a2'" in problem.message


def test_pod_requests_sums_running_pods() -> None:
    def pod(phase: str, cpu: str) -> dict[str, Any]:
        resources = {"requests": {"cpu": cpu}, "limits": {"memory": "1Gi"}}
        return {"status": {"phase": phase}, "spec": {"containers": [{"resources": resources}]}}

    used = pod_requests([pod("Running", "500m"), pod("Pending", "1"), pod("Succeeded", "4")])
    assert used == {"pods": "2", "requests.cpu": "1.5", "cpu": "1.5",
                    "limits.memory": str(2 * 2**30)}  # fmt: skip


def test_rendered_children_share_no_mutable_parts() -> None:
    # The runtime may mutate what it applies; one child's edit must not leak into another.
    seen: dict[int, str] = {}

    def visit(node: Any, owner: str) -> None:
        if isinstance(node, dict | list):
            assert seen.setdefault(id(node), owner) == owner, f"shared between {owner}"
            for child in node.values() if isinstance(node, dict) else node:
                visit(child, owner)

    for ref, obj in rendered().items():
        visit(obj, str(ref))
