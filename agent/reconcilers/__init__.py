"""The reconcile path for each kind: gather (reads) → decide (pure core) → act (writes) → report.

One entry point, `reconcile(ctx, kind, name)`, serves every trigger: watch events and the
periodic resync alike. Gathering is I/O through `ctx.kube`/`ctx.helm`; deciding is the core's
pure `agent.decide*` functions with `ctx.now()` passed in; acting is `agent.reconcilers.act`.
Returns seconds until the key should be visited again, or None (the next event or resync).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from agent.helm import Helm
from agent.metrics import Metrics
from agent.settings import AgentSettings
from agent.triggers import Triggers

KubeObject = dict[str, Any]


class KubeApi(Protocol):
    """The part of agent.kube.Kube the reconcilers use (tests pass an in-memory fake)."""

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> KubeObject | None: ...
    async def list_objects(
        self, api_version: str, kind: str, namespace: str | None = None, labels: str = ""
    ) -> list[KubeObject]: ...
    async def apply(self, obj: KubeObject, *, subresource: str = "") -> KubeObject: ...
    async def create(self, obj: KubeObject) -> KubeObject: ...
    async def apply_status(self, obj: KubeObject) -> KubeObject: ...
    async def patch(
        self, obj: KubeObject, patch: KubeObject, *, subresource: str = ""
    ) -> KubeObject: ...
    async def delete(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> bool: ...
    async def add_finalizer(self, obj: KubeObject, finalizer: str) -> KubeObject: ...
    async def remove_finalizer(self, obj: KubeObject, finalizer: str) -> KubeObject: ...
    async def create_event(
        self, involved: KubeObject, event_type: str, reason: str, message: str, now: str
    ) -> None: ...
    async def version(self) -> dict[str, Any]: ...


@dataclass
class Context:
    """What every reconcile needs; one per agent process."""

    kube: KubeApi
    helm: Helm
    settings: AgentSettings
    triggers: Triggers
    metrics: Metrics
    now: Callable[[], datetime]


async def reconcile(ctx: Context, kind: str, name: str) -> float | None:
    """Visit one object of `kind` (DataPlane, Tenant or Application)."""
    from agent.reconcilers import application, bundle, dataplane, tenant

    visitors = {
        "Tenant": tenant.reconcile,
        "Application": application.reconcile,
        "DataPlane": dataplane.reconcile,
        "Bundle": bundle.reconcile,
    }
    return await visitors[kind](ctx, name)
