"""Namespace names no Tenant or Application may use: the DataPlane's `spec.reservedNamespaces`.

Pure. An entry is an exact name or a prefix ending in `*`. The agent refuses a reserved name with
reason ReservedNamespace before it asks the API server for anything; the chart's admission policy
refuses the built-in names (and its own list) even to a compromised agent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agent import api
from agent.core.conditions import Problem

DEFAULT_RESERVED: tuple[str, ...] = ("kube-*", "default", "outpost-system")
"""The CRD's default of `DataPlane.spec.reservedNamespaces`, also used with no DataPlane."""


def reserved_patterns(dataplane: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The DataPlane's reserved names, or the defaults when it has none (or there is none)."""
    found = ((dataplane or {}).get("spec") or {}).get("reservedNamespaces")
    return DEFAULT_RESERVED if found is None else tuple(found)


def is_reserved(namespace: str, patterns: Iterable[str]) -> bool:
    """Whether `namespace` matches one of `patterns` (exact, or prefix before a final `*`)."""
    return any(
        namespace.startswith(p[:-1]) if p.endswith("*") else namespace == p for p in patterns
    )


def reserved_problem(namespace: str, patterns: Iterable[str], where: str) -> Problem | None:
    """A problem when `namespace`, asked for in the field `where`, is reserved."""
    if not is_reserved(namespace, patterns):
        return None
    message = (
        f"Namespace '{namespace}' is reserved (DataPlane `spec.reservedNamespaces`); the agent "
        f"will not create or take it. Choose another name in `{where}`."
    )
    return Problem(api.Reason.RESERVED_NAMESPACE, message, namespace=namespace)
