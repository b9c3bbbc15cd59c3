"""The reconcilers' client: reads served from the informers' cache, writes to the API server.

I/O only through `agent.kube.client.Kube`. A read of a watched kind never reaches the API server
once its informer has synced: a LIST is answered from the store (label selectors matched here),
and so is a GET, except a miss on a label-filtered kind, which may be an object we do not
manage (the API server is asked then). Every write's response goes into the store at once
(read-your-writes): the next visit sees what it wrote even before the watch event arrives.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from agent.kube.client import FIELD_MANAGER, Kube, KubeObject
from agent.kube.watch import Informer

VERSION_SECONDS = 300.0
"""How long the API server's /version answer is reused (it changes only with an upgrade)."""


class CachedKube:
    """`agent.reconcilers.context.KubeApi` over `Kube` and a set of informers."""

    def __init__(self, kube: Kube, informers: list[Informer]) -> None:
        self.kube = kube
        self.informers = {(i.what.api_version, i.what.kind): i for i in informers}
        self.reads: Counter[str] = Counter()
        self._version: tuple[float, dict[str, Any]] | None = None

    def _synced(self, api_version: str, kind: str) -> Informer | None:
        found = self.informers.get((api_version, kind))
        return found if found is not None and found.synced.is_set() else None

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> KubeObject | None:
        """The object from the cache (or the API server for a kind that is not watched)."""
        informer = self._synced(api_version, kind)
        if informer is not None:
            found = informer.store.get(name, namespace or "")
            if found is not None or not informer.what.labels:
                self.reads["cache"] += 1
                return found
        self.reads["api"] += 1
        return await self.kube.get(api_version, kind, name, namespace)

    async def list_objects(
        self, api_version: str, kind: str, namespace: str | None = None, labels: str = ""
    ) -> list[KubeObject]:
        """Objects from the cache (a watched kind holds every object the agent manages)."""
        informer = self._synced(api_version, kind)
        if informer is None:
            self.reads["api"] += 1
            return await self.kube.list_objects(api_version, kind, namespace, labels)
        self.reads["cache"] += 1
        return list(informer.store.select(namespace, labels))

    def remember(self, obj: KubeObject) -> KubeObject:
        """Put a write's response into the store (a newer version than the watch has shown)."""
        informer = self.informers.get((obj.get("apiVersion", ""), obj.get("kind", "")))
        meta = obj.get("metadata") or {}
        if informer is None or not meta.get("resourceVersion"):
            return obj
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            # The last finalizer went: the API server removes the object now. Keeping this
            # answer would resurrect it in the cache if its DELETED event came first.
            informer.store.drop(obj)
        else:
            informer.store.put(dict(obj))
        return obj

    async def apply(
        self, obj: KubeObject, *, subresource: str = "", manager: str = FIELD_MANAGER
    ) -> KubeObject:
        """Server-side apply; the answer goes into the cache (read your writes)."""
        return self.remember(await self.kube.apply(obj, subresource=subresource, manager=manager))

    async def apply_status(self, obj: KubeObject) -> KubeObject:
        """Apply status; the answer goes into the cache."""
        return self.remember(await self.kube.apply_status(obj))

    async def create(self, obj: KubeObject) -> KubeObject:
        """Create; the answer goes into the cache."""
        return self.remember(await self.kube.create(obj))

    async def patch(
        self, obj: KubeObject, patch: KubeObject, *, subresource: str = ""
    ) -> KubeObject:
        """Patch; the answer goes into the cache."""
        return self.remember(await self.kube.patch(obj, patch, subresource=subresource))

    async def delete(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> bool:
        """Delete (the watch removes the cached copy once the object is gone)."""
        return await self.kube.delete(api_version, kind, name, namespace)

    async def add_finalizer(self, obj: KubeObject, finalizer: str) -> KubeObject:
        """Add a finalizer; the answer goes into the cache."""
        return self.remember(await self.kube.add_finalizer(obj, finalizer))

    async def remove_finalizer(self, obj: KubeObject, finalizer: str) -> KubeObject:
        """Remove a finalizer; the answer goes into the cache."""
        return self.remember(await self.kube.remove_finalizer(obj, finalizer))

    async def create_event(
        self, involved: KubeObject, event_type: str, reason: str, message: str, now: str
    ) -> None:
        """Record an Event (never cached)."""
        await self.kube.create_event(involved, event_type, reason, message, now)

    async def get_path(self, path: str) -> dict[str, Any]:
        """GET a path (discovery documents), never cached: preflight needs the current answer."""
        return await self.kube.get_path(path)

    async def version(self) -> dict[str, Any]:
        """The API server's version (reused for VERSION_SECONDS)."""
        now = time.monotonic()
        if self._version is None or now - self._version[0] > VERSION_SECONDS:
            self._version = (now, await self.kube.version())
        return self._version[1]

    def gauges(self) -> dict[str, float]:
        """Object count and bytes per watched kind, and reads by where they were served."""
        out: dict[str, float] = {}
        for (_, kind), informer in self.informers.items():
            out[f'outpost_cache_objects{{kind="{kind}"}}'] = float(len(informer.store))
            out[f'outpost_cache_bytes{{kind="{kind}"}}'] = float(informer.store.size)
            out[f'outpost_watch_relists_total{{kind="{kind}"}}'] = float(informer.relists)
            changed = float(informer.relist_changes)
            out[f'outpost_watch_relist_changes_total{{kind="{kind}"}}'] = changed
        for source, n in self.reads.items():
            out[f'outpost_reads_total{{source="{source}"}}'] = float(n)
        return out
