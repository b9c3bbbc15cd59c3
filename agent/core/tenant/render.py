"""A Tenant's desired children, rendered from its spec and the DataPlane's tenant defaults.

Pure: spec dicts in, Kubernetes objects (dicts) out; no I/O. Per namespace: the Namespace
(tenant label, Pod Security labels, extra metadata), NetworkPolicies (default deny plus
declared allowances), a ResourceQuota and a LimitRange (the quota is PER NAMESPACE), and a
RoleBinding for the owners. Every child carries the managed-by and tenant labels and a
controller ownerReference to the Tenant. The spec model lives in `agent.core.tenant.spec`.

Checks of meaning the schema cannot make (`check`): a namespace that exists and is not labelled
for this tenant (NamespaceConflict), a quota below current usage (QuotaBelowUsage). The runtime
gathers those observations and passes them in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agent import api
from agent.core.conditions import Problem
from agent.core.objects import Obj, add_quantities, exceeded, owner_reference
from agent.core.reserved import reserved_problem
from agent.core.tenant.spec import Egress, TenantSpec

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
        objects.append(
            _child("v1", "ResourceQuota", QUOTA_NAME, namespace, {"hard": dict(spec.quota)})
        )
    if spec.limit_range:
        sections = {key: dict(values) for key, values in spec.limit_range.items()}
        limits = [{"type": "Container", **sections}]
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

        def peer() -> list[Obj]:
            return [{"namespaceSelector": {"matchLabels": {api.LABEL_TENANT: tenant_name}}}]

        rules = {"ingress": [{"from": peer()}], "egress": [{"to": peer()}]}
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


# Checks of meaning

NamespaceLabels = Mapping[str, Mapping[str, str] | None]
"""Existing namespaces by name → their labels (None or absent: the namespace does not exist)."""
Usage = Mapping[str, Mapping[str, str]]
"""Per namespace, resource name → quantity in use (ResourceQuota `status.used` or summed pods)."""


def check(tenant: str, spec: TenantSpec, labels: NamespaceLabels, usage: Usage) -> list[Problem]:
    """Every problem with `spec` given what exists, conflicts first."""
    problems = [p for ns in spec.namespaces if (p := _refused(tenant, spec, ns, labels))]
    conflicted = {p.namespace for p in problems}
    for ns in spec.namespaces:
        if ns not in conflicted and (p := quota_below_usage(spec, ns, usage.get(ns) or {})):
            problems.append(p)
    return problems


def _refused(
    tenant: str, spec: TenantSpec, namespace: str, labels: NamespaceLabels
) -> Problem | None:
    """A name that belongs to someone else, or a reserved one: the agent touches neither."""
    conflict = namespace_conflict(tenant, namespace, labels)
    return conflict or reserved_problem(namespace, spec.reserved_namespaces, "spec.namespaces")


def namespace_conflict(tenant: str, namespace: str, labels: NamespaceLabels) -> Problem | None:
    """A conflict when `namespace` exists and is not labelled for `tenant`."""
    if namespace not in labels or labels[namespace] is None:
        return None
    owner = (labels[namespace] or {}).get(api.LABEL_TENANT)
    if owner == tenant:
        return None
    holder = f"tenant '{owner}'" if owner else "no tenant (it was created outside Outpost)"
    message = (
        f"Namespace '{namespace}' already exists and belongs to {holder}; the agent will not "
        f"take it over. Remove it from `spec.namespaces` or label it `{api.LABEL_TENANT}={tenant}`."
    )
    return Problem(api.Reason.NAMESPACE_CONFLICT, message, namespace=namespace)


def quota_below_usage(spec: TenantSpec, namespace: str, used: Mapping[str, str]) -> Problem | None:
    """A problem when a per-namespace quota value is below what `namespace` uses now."""
    over = exceeded({k: str(v) for k, v in spec.quota.items()}, used)
    if not over:
        return None
    detail = ", ".join(f"'{name}' {hard} < {use} in use" for name, (hard, use) in over.items())
    message = (
        f"`spec.quota.hard` is below current usage in namespace '{namespace}' ({detail}); the "
        "quota applies per namespace. Raise the values or free resources in that namespace."
    )
    return Problem(api.Reason.QUOTA_BELOW_USAGE, message, namespace=namespace)


def pod_requests(pods: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Usage in ResourceQuota terms summed over running pods' container requests and limits."""
    sums: dict[str, list[str]] = {"pods": []}
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        sums["pods"].append("1")
        for container in (pod.get("spec") or {}).get("containers") or ():
            _add_resources(sums, container.get("resources") or {})
    return {name: add_quantities(values) for name, values in sums.items()}


def _add_resources(sums: dict[str, list[str]], resources: Mapping[str, Any]) -> None:
    for section in ("requests", "limits"):
        for name, value in (resources.get(section) or {}).items():
            for key in (f"{section}.{name}",) + ((name,) if section == "requests" else ()):
                sums.setdefault(key, []).append(str(value))
