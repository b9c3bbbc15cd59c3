"""What the agent watches, and how watch events reach the work queue (replaces the kopf edge).

One informer (`agent.kube.watch`) per kind: the four Outpost kinds and Namespaces unfiltered
(a reconciler must know whether a namespace someone else owns exists), our children through
server-side label selectors (objects we manage, or Helm releases we installed). Their stores
are the watch cache the reconcilers read from. Each event is handed to a `Sink`
(`agent.runtime.triggers.Triggers`), which maps it to an owner key and enqueues it.

kopf used to do the watching. It went: its per-object state cost memory at thousands of objects,
it used a second HTTP stack with its own errors, and it kept no cache the reconcilers could read,
which made every visit LIST again what the watches had just streamed.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from agent import api
from agent.kube.client import Kube
from agent.kube.watch import Informer, OnEvent, Watched
from agent.runtime.triggers import OWNED_KINDS

OUR_CHILDREN = f"{api.LABEL_MANAGED_BY}={api.MANAGED_BY}"
OURS_OR_HELM = f"{api.LABEL_K8S_MANAGED_BY} in ({api.MANAGED_BY},Helm)"

OWNED = tuple(Watched(api.API_VERSION, kind) for kind in OWNED_KINDS)
CHILDREN = (
    Watched("v1", "Namespace"),
    Watched("networking.k8s.io/v1", "NetworkPolicy", OUR_CHILDREN),
    Watched("v1", "ResourceQuota", OUR_CHILDREN),
    Watched("v1", "LimitRange", OUR_CHILDREN),
    Watched("rbac.authorization.k8s.io/v1", "RoleBinding", OUR_CHILDREN),
    Watched("apps/v1", "Deployment", OURS_OR_HELM),
    Watched("apps/v1", "StatefulSet", OURS_OR_HELM),
    Watched("apps/v1", "DaemonSet", OURS_OR_HELM),
    Watched("v1", "Service", OURS_OR_HELM),
)


class Sink(Protocol):
    """Where watch events go (agent.runtime.triggers.Triggers)."""

    def owned(self, kind: str, event_type: str | None, body: dict[str, Any]) -> None:
        """An event of an Outpost object."""

    def child(self, event_type: str | None, body: dict[str, Any]) -> None:
        """An event of a child object."""


def informers(kube: Kube, sink: Sink) -> list[Informer]:
    """One informer per watched kind, reporting to `sink`."""
    out = [Informer(kube, what, _owned(sink, what.kind)) for what in OWNED]
    out += [Informer(kube, what, sink.child) for what in CHILDREN]
    return out


def _owned(sink: Sink, kind: str) -> OnEvent:
    def on_owned(event: str, body: dict[str, Any]) -> None:
        sink.owned(kind, event, body)

    return on_owned


async def watch(found: list[Informer], ready: asyncio.Event) -> None:
    """Run every informer; `ready` is set once each has listed its kind (the cache is warm)."""

    async def announce() -> None:
        await asyncio.gather(*(i.synced.wait() for i in found))
        ready.set()

    await asyncio.gather(announce(), *(i.run() for i in found))
