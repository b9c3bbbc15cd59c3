"""What every reconcile is handed: the Context, and the ports it reaches the world through.

The reconcile path for each kind is gather (reads) → decide (the pure `agent.core`) → act
(writes, `agent.reconcilers.act`) → report. The runtime supplies the Context; its triggers and
metrics are typed here as small Protocol ports so that the reconcilers never import the
runtime that drives them (layers: runtime above reconcilers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from agent.kube.helm import Helm
from agent.settings import AgentSettings

KubeObject = dict[str, Any]


class KubeApi(Protocol):
    """The part of agent.kube.client.Kube the reconcilers use (tests pass an in-memory fake)."""

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> KubeObject | None:
        """The live object, or None."""

    async def list_objects(
        self, api_version: str, kind: str, namespace: str | None = None, labels: str = ""
    ) -> list[KubeObject]:
        """All objects of a kind, optionally in one namespace and by label."""

    async def apply(
        self, obj: KubeObject, *, subresource: str = "", manager: str = ...
    ) -> KubeObject:
        """Server-side apply under the agent's field manager (or `manager`)."""

    async def create(self, obj: KubeObject) -> KubeObject:
        """Create the object (refused when it exists)."""

    async def apply_status(self, obj: KubeObject) -> KubeObject:
        """Server-side apply of the object's status."""

    async def patch(
        self, obj: KubeObject, patch: KubeObject, *, subresource: str = ""
    ) -> KubeObject:
        """A merge patch."""

    async def delete(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> bool:
        """Delete; False when it was already gone."""

    async def add_finalizer(self, obj: KubeObject, finalizer: str) -> KubeObject:
        """Add a finalizer (no write when present)."""

    async def remove_finalizer(self, obj: KubeObject, finalizer: str) -> KubeObject:
        """Remove a finalizer (no write when absent)."""

    async def create_event(
        self, involved: KubeObject, event_type: str, reason: str, message: str, now: str
    ) -> None:
        """Record an Event on `involved`."""

    async def version(self) -> dict[str, Any]:
        """The API server's version."""

    async def get_path(self, path: str) -> dict[str, Any]:
        """GET a path of the API server (discovery documents)."""


class TriggersPort(Protocol):
    """The runtime's trigger map as the reconcilers use it (see agent.runtime.triggers)."""

    releases: dict[tuple[str, str], str]
    enqueue: Callable[[str, float], None]

    def wrote(self, obj: dict[str, Any]) -> None:
        """Note a write, so the watch event it causes does not trigger a visit."""


class MetricsPort(Protocol):
    """The runtime's metrics as the reconcilers use them (see agent.runtime.metrics)."""

    def set_ready(self, kind: str, name: str, status: str | None) -> None:
        """Set the Ready gauge of one object (None forgets it)."""


@dataclass
class Context:
    """What every reconcile needs; one per agent process."""

    kube: KubeApi
    helm: Helm
    settings: AgentSettings
    triggers: TriggersPort
    metrics: MetricsPort
    now: Callable[[], datetime]
