"""Shared sample Tenant, DataPlane and objects for the tenancy and decision tests."""

from __future__ import annotations

import copy
from typing import Any

from agent.core.conditions import Condition, to_status

DATAPLANE: dict[str, Any] = {
    "apiVersion": "outpost.dev/v1alpha1",
    "kind": "DataPlane",
    "metadata": {"name": "dp", "uid": "dp-uid", "generation": 1},
    "spec": {
        "tenantDefaults": {
            "isolation": {"networkPolicy": "default-deny"},
            "podSecurity": {"level": "restricted"},
            "quota": {"hard": {"pods": "50", "requests.cpu": "4"}},
            "limitRange": {"default": {"cpu": "500m"}, "defaultRequest": {"cpu": "100m"}},
        }
    },
}


def tenant(**spec: Any) -> dict[str, Any]:
    base = {
        "namespaces": ["a1", "a2"],
        "networkPolicy": {
            "egress": [{"name": "db", "cidr": "10.0.0.0/8", "ports": [{"port": 5432}]}]
        },
        "quota": {"hard": {"requests.cpu": "8"}},
        "owners": [{"kind": "Group", "name": "admins"}],
    }
    return {
        "apiVersion": "outpost.dev/v1alpha1",
        "kind": "Tenant",
        "metadata": {"name": "acme", "uid": "t-uid", "generation": 3},
        "spec": {**base, **spec},
    }


def with_status(obj: dict[str, Any], conditions: tuple[Condition, ...], **fields: Any) -> Any:
    out = copy.deepcopy(obj)
    gen = out["metadata"].get("generation", 1)
    out["status"] = {**fields, "conditions": to_status(conditions), "observedGeneration": gen}
    return out


def as_live(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Objects as the API server returns them: defaults and bookkeeping added."""
    out = copy.deepcopy(objs)
    for obj in out:
        obj["metadata"].update(
            uid="u", resourceVersion="7", creationTimestamp="2026-01-01T00:00:00Z"
        )
        if obj["kind"] == "NetworkPolicy":
            for rule in obj["spec"].get("egress", []):
                for port in rule.get("ports", []):
                    port.setdefault("protocol", "TCP")
        if obj["kind"] == "Namespace":
            obj["status"] = {"phase": "Active"}
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    return out
