"""Cluster-scoped objects of a Helm release: only those the customer approved.

Pure: the objects a chart renders (CRDs from its `crds/` included) and the approvals in; the
objects refused out, each named `Kind/name`.

A customer approves, in the agent's chart values, exactly which cluster-scoped objects bundles
may create: `rbac.clusterScoped` (`Kind/name`, e.g. `ClusterRole/ingress-controller`,
`IngressClass/vendor`) and, for CRDs, the existing `rbac.bundleCRDs` (CRD names). The agent
refuses a release that would create anything else, before Helm touches the cluster, with
reason ClusterScopeNotApproved naming each object, instead of a Helm failure on a forbidden
write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agent.core.objects import is_namespaced

CRD = "CustomResourceDefinition"


def approvals(cluster_scoped: Iterable[str], bundle_crds: Iterable[str]) -> frozenset[str]:
    """`Kind/name` strings approved: the listed objects and the allowed CRDs."""
    listed = {item.strip() for item in cluster_scoped if item.strip()}
    return frozenset(listed | {f"{CRD}/{name.strip()}" for name in bundle_crds if name.strip()})


def unapproved(objects: Sequence[Mapping[str, Any]], approved: frozenset[str]) -> list[str]:
    """The rendered cluster-scoped objects that are not approved, as sorted `Kind/name`."""
    refused = set()
    for obj in objects:
        kind = str(obj.get("kind") or "")
        if not kind or is_namespaced(kind):
            continue
        named = f"{kind}/{(obj.get('metadata') or {}).get('name', '')}"
        if named not in approved:
            refused.add(named)
    return sorted(refused)


def refusal(refused: Sequence[str]) -> str:
    """The condition message for refused objects."""
    shown = ", ".join(refused[:10]) + (" …" if len(refused) > 10 else "")
    return (
        f"The chart creates cluster-scoped objects that are not approved: {shown}. Nothing was "
        "installed. To allow them, add each to the agent's chart value `rbac.clusterScoped` "
        "(`Kind/name`; CRDs go in `rbac.bundleCRDs`)."
    )
