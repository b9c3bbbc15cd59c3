"""Sample Applications for the application tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agent.core.conditions import Outcome, conclude
from tests.unit.agent.tenantkit import tenant, with_status

_T = datetime(2026, 1, 1, tzinfo=UTC)
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "b"}}
DEPLOY = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "api"},
    "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
}


def app(name: str = "web", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "outpost.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "uid": "app-uid", "generation": 2},
        "spec": spec,
    }


def manifest_app(**spec: Any) -> dict[str, Any]:
    base = {"tenantRef": {"name": "acme"}, "manifests": {"objects": [CM, DEPLOY]}}
    return app(**{**base, **spec})


def helm_app(**spec: Any) -> dict[str, Any]:
    base = {"tenantRef": {"name": "acme"}, "helm": {"chart": "charts/webapp", "version": "0.3.0",
            "values": {"replicas": 2}}}  # fmt: skip
    return app(**{**base, **spec})


def ready_tenant() -> dict[str, Any]:
    out: dict[str, Any] = with_status(
        tenant(), conclude((), Outcome("True", "Reconciled", "ok"), 3, _T)
    )
    return out
