"""The kopf adapter (the only module importing kopf): watches only, feeding the work queue.

kopf is used for what it does well, watching: low-level `on.event` handlers for DataPlanes,
Tenants, Applications and for our children (server-side label selectors keep the streams to
objects we manage or Helm releases we installed). Each event is handed to a `Sink`, which maps
it to an owner key and enqueues it. No change-detecting handlers, timers or daemons, so kopf
writes no progress annotations, diff-base annotations or finalizers on anyone's objects; peering
is off (our own Lease decides who acts) and log posting is off (we write our own Events).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from typing import Any, Protocol

# kopf imports the `kubernetes` client at start-up only to recognise its model classes, which
# costs ~20 MiB we never use (our own login is registered below): hide it during that import.
_HIDDEN = [
    name for name in ("kubernetes", "kubernetes_asyncio", "pykube") if name not in sys.modules
]
sys.modules.update(dict.fromkeys(_HIDDEN))  # type: ignore[arg-type]
import kopf  # noqa: E402

for _name in _HIDDEN:
    sys.modules.pop(_name, None)

from agent import api  # noqa: E402

OUR_CHILDREN = f"{api.LABEL_MANAGED_BY}={api.MANAGED_BY}"
OURS_OR_HELM = f"{api.LABEL_K8S_MANAGED_BY} in ({api.MANAGED_BY},Helm)"
WATCH_CHUNK = 500
WORKER_IDLE_SECONDS = 1.0

OWNED = (
    ("DataPlane", "dataplanes"),
    ("Tenant", "tenants"),
    ("Application", "applications"),
    ("Bundle", "bundles"),
)
# (group, version, plural, server-side label selector) of the children whose events matter.
CHILDREN = (
    ("", "v1", "namespaces", OUR_CHILDREN),
    ("networking.k8s.io", "v1", "networkpolicies", OUR_CHILDREN),
    ("", "v1", "resourcequotas", OUR_CHILDREN),
    ("", "v1", "limitranges", OUR_CHILDREN),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", OUR_CHILDREN),
    ("apps", "v1", "deployments", OURS_OR_HELM),
    ("apps", "v1", "statefulsets", OURS_OR_HELM),
    ("apps", "v1", "daemonsets", OURS_OR_HELM),
    ("", "v1", "services", OURS_OR_HELM),
)


class Sink(Protocol):
    """Where watch events go (agent.runtime.runner.Controller)."""

    def owned(self, kind: str, event_type: str | None, body: dict[str, Any]) -> None: ...
    def child(self, event_type: str | None, body: dict[str, Any]) -> None: ...


Login = Callable[[], dict[str, Any]]
"""Returns the kopf ConnectionInfo fields (server, ca_path, certificate_path, …)."""


def build_registry(sink: Sink, login: Login) -> kopf.OperatorRegistry:
    """A registry with one event handler per watched resource."""
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    async def login_fn(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(**login())

    for kind, plural in OWNED:
        kopf.on.event(api.GROUP, api.VERSION, plural, registry=registry)(_owned(sink, kind))
    for group, version, plural, _selector in CHILDREN:
        kopf.on.event(group, version, plural, registry=registry)(_child(sink))
    return registry


def _owned(sink: Sink, kind: str) -> Callable[..., Any]:
    async def on_owned(event: dict[str, Any], body: kopf.Body, **_: Any) -> None:
        sink.owned(kind, event.get("type"), dict(body))

    on_owned.__name__ = f"on_{kind.lower()}"
    return on_owned


def _child(sink: Sink) -> Callable[..., Any]:
    async def on_child(event: dict[str, Any], body: kopf.Body, **_: Any) -> None:
        sink.child(event.get("type"), dict(body))

    return on_child


def build_settings() -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    settings.posting.enabled = False
    settings.peering.standalone = True
    settings.peering.mandatory = False
    settings.scanning.disabled = True
    settings.watching.chunk_size = WATCH_CHUNK
    # kopf keeps a worker task and queue per object until it has been idle this long: short, so
    # a burst of thousands of objects does not linger in memory.
    settings.batching.idle_timeout = WORKER_IDLE_SECONDS
    settings.process.ultimate_exiting_timeout = 10
    settings.networking.error_backoffs = [1, 2, 5, 10]
    for _group, _version, plural, selector in CHILDREN:
        settings.watching.label_selectors[plural] = selector
    return settings


async def watch(sink: Sink, login: Login, stop: asyncio.Event, ready: asyncio.Event) -> None:
    """Run kopf's watchers until `stop` is set; `ready` is set once they have started (kopf
    installs its own SIGTERM/SIGINT handlers at start-up: the caller re-installs its own then)."""
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    await kopf.operator(
        registry=build_registry(sink, login),
        settings=build_settings(),
        standalone=True,
        clusterwide=True,
        stop_flag=stop,
        ready_flag=ready,
    )
