"""A Tenant's desired children, rendered from its spec and the DataPlane's tenant defaults.

Pure: spec dicts in, Kubernetes objects (dicts) out; no I/O. Per namespace: the Namespace
(tenant label, Pod Security labels, extra metadata), NetworkPolicies (default deny plus
declared allowances), a ResourceQuota and a LimitRange (the quota is PER NAMESPACE), and a
RoleBinding for the owners. Every child carries the managed-by and tenant labels and a
controller ownerReference to the Tenant. The spec model lives in `agent.tenantspec`; checks
of meaning in `agent.tenantcheck`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent import api
from agent.objects import Obj, owner_reference
from agent.tenantspec import Egress, TenantSpec

TENANT_CHILD_KINDS = (
    ("v1", "Namespace"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("v1", "ResourceQuota"),
    ("v1", "LimitRange"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
)
"""(apiVersion, kind) of all `render` can produce: what the runtime lists to find prunables."""

QUOTA_NAME = "outpost-quota"
LIMITS_NAME = "outpost-limits"
OWNERS_NAME = "outpost-owners"
DNS_PORTS = ({"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"})


def child_labels(tenant_name: str) -> dict[str, str]:
    """Labels on every tenant child."""
    return {**api.MANAGED_LABELS, api.LABEL_TENANT: tenant_name}


def render(tenant: Mapping[str, Any], spec: TenantSpec) -> list[Obj]:
    """Every desired child of `tenant` (the full object, for name and uid), namespaces first."""
    namespaces = [render_namespace(tenant, spec, ns) for ns in spec.namespaces]
    children: list[Obj] = []
    for ns in spec.namespaces:
        children.extend(render_in_namespace(tenant, spec, ns))
    return namespaces + children


def render_in_namespace(tenant: Mapping[str, Any], spec: TenantSpec, namespace: str) -> list[Obj]:
    """The namespaced children of one tenant namespace."""
    name = tenant["metadata"]["name"]
    objects = network_policies(name, spec, namespace)
    if spec.quota:
        objects.append(_child("v1", "ResourceQuota", QUOTA_NAME, namespace, {"hard": spec.quota}))
    if spec.limit_range:
        limits = [{"type": "Container", **spec.limit_range}]
        objects.append(_child("v1", "LimitRange", LIMITS_NAME, namespace, {"limits": limits}))
    if spec.owners:
        objects.append(role_binding(spec, namespace))
    return [_finish(obj, tenant) for obj in objects]


def render_namespace(tenant: Mapping[str, Any], spec: TenantSpec, namespace: str) -> Obj:
    """The Namespace object: extra labels first, so ours always win."""
    psa = dict.fromkeys(api.PSA_LABELS, spec.pod_security)
    labels = {**spec.namespace_labels, **psa}
    meta: Obj = {"name": namespace, "labels": labels}
    if spec.namespace_annotations:
        meta["annotations"] = dict(spec.namespace_annotations)
    return _finish({"apiVersion": "v1", "kind": "Namespace", "metadata": meta}, tenant)


def network_policies(tenant_name: str, spec: TenantSpec, namespace: str) -> list[Obj]:
    """Default deny plus the declared allowances; nothing at all when isolation is 'none'."""
    if spec.isolation == "none":
        return []
    policies = [_policy(namespace, "outpost-default-deny", {}, ["Ingress", "Egress"])]
    if spec.allow_dns:
        policies.append(
            _policy(namespace, "outpost-allow-dns", {"egress": [_dns_rule()]}, ["Egress"])
        )
    if spec.allow_same_tenant:
        peer = [{"namespaceSelector": {"matchLabels": {api.LABEL_TENANT: tenant_name}}}]
        rules = {"ingress": [{"from": peer}], "egress": [{"to": peer}]}
        policies.append(
            _policy(namespace, "outpost-allow-same-tenant", rules, ["Ingress", "Egress"])
        )
    policies.extend(_egress_policy(namespace, rule) for rule in spec.egress)
    return policies


def role_binding(spec: TenantSpec, namespace: str) -> Obj:
    """Binds the owners to the ClusterRole `ownerRole` in one namespace."""
    subjects = [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name}
        for kind, name in spec.owners
    ]
    role_ref = {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": spec.owner_role,
    }
    obj = _child("rbac.authorization.k8s.io/v1", "RoleBinding", OWNERS_NAME, namespace, {})
    del obj["spec"]
    return {**obj, "subjects": subjects, "roleRef": role_ref}


def _dns_rule() -> Obj:
    to = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    return {"to": [to], "ports": [dict(p) for p in DNS_PORTS]}


def _egress_policy(namespace: str, rule: Egress) -> Obj:
    egress: Obj = {"to": [{"ipBlock": {"cidr": rule.cidr}}]}
    if rule.ports:
        egress["ports"] = [{"port": port, "protocol": proto} for port, proto in rule.ports]
    return _policy(namespace, f"outpost-egress-{rule.name}", {"egress": [egress]}, ["Egress"])


def _policy(namespace: str, name: str, rules: Obj, types: list[str]) -> Obj:
    spec = {"podSelector": {}, "policyTypes": types, **rules}
    return _child("networking.k8s.io/v1", "NetworkPolicy", name, namespace, spec)


def _child(api_version: str, kind: str, name: str, namespace: str, spec: Obj) -> Obj:
    meta = {"name": name, "namespace": namespace}
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, "spec": spec}


def _finish(obj: Obj, tenant: Mapping[str, Any]) -> Obj:
    meta = obj["metadata"]
    meta["labels"] = {**meta.get("labels", {}), **child_labels(tenant["metadata"]["name"])}
    meta["ownerReferences"] = [owner_reference(tenant)]
    return obj
