"""Checks of meaning for a Tenant that the CRD schema cannot make: conflicts and quota vs usage.

Pure: the runtime gathers the observations (labels of existing namespaces, quota usage per
namespace) and passes them in; the result is a list of Problems, one per namespace and reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agent import api
from agent.conditions import Problem
from agent.quantity import add_quantities, exceeded
from agent.tenantspec import TenantSpec

NamespaceLabels = Mapping[str, Mapping[str, str] | None]
"""Existing namespaces by name → their labels (None or absent: the namespace does not exist)."""
Usage = Mapping[str, Mapping[str, str]]
"""Per namespace, resource name → quantity in use (ResourceQuota `status.used` or summed pods)."""


def check(tenant: str, spec: TenantSpec, labels: NamespaceLabels, usage: Usage) -> list[Problem]:
    """Every problem with `spec` given what exists, conflicts first."""
    problems = [p for ns in spec.namespaces if (p := namespace_conflict(tenant, ns, labels))]
    conflicted = {p.namespace for p in problems}
    for ns in spec.namespaces:
        if ns not in conflicted and (p := quota_below_usage(spec, ns, usage.get(ns) or {})):
            problems.append(p)
    return problems


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
