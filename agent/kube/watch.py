"""Informers: one LIST then WATCH per watched kind, keeping the watch cache and reporting changes.

I/O through `agent.kube.client.Kube`. An informer lists its kind once (server-side label filter),
then watches from the list's resourceVersion, following bookmarks. When the version expires
(410 Gone) it lists again and compares with what it holds: only objects whose resourceVersion
moved, appeared or vanished are reported, so a relist does not cause a burst of reconciles.
Other failures (API server restarting, etcd down) back off and resume from the last version.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from agent.errors import GoneError, KubeError
from agent.kube.cache import Store
from agent.kube.client import Kube, KubeObject

log = logging.getLogger(__name__)
BACKOFF = (0.5, 1.0, 2.0, 5.0, 10.0)
"""Seconds between attempts while the API server fails (the last one repeats)."""

OnEvent = Callable[[str, KubeObject], None]
"""Called with ("ADDED" | "MODIFIED" | "DELETED", the trimmed object)."""


@dataclass(frozen=True)
class Watched:
    """A kind the agent watches; `labels` filters on the server (empty: every object)."""

    api_version: str
    kind: str
    labels: str = ""


class Informer:
    """Keeps `store` equal to the cluster's objects of one kind, and reports each change."""

    def __init__(self, kube: Kube, what: Watched, on_event: OnEvent) -> None:
        self.kube = kube
        self.what = what
        self.on_event = on_event
        self.store = Store()
        self.synced = asyncio.Event()
        self.failing_since: float | None = None
        self.relists = 0
        self.relist_changes = 0

    async def run(self) -> None:
        """List and watch forever (until cancelled)."""
        attempt = 0
        while True:
            try:
                if not self.store.resource_version:
                    await self.relist()
                if await self.watch_once():
                    attempt = 0
            except GoneError:
                # Right after a restart the API server's watch cache can refuse the version its
                # own list just gave: never spin on that, back off like on any failure.
                log.info("watch of %s expired; listing again", self.what.kind)
                self.store.resource_version = ""
                await self._backoff(attempt)
                attempt += 1
            except KubeError as exc:
                self.failing_since = self.failing_since or time.monotonic()
                log.warning("watching %s failed (%s)", self.what.kind, exc)
                await self._backoff(attempt)
                attempt += 1

    async def _backoff(self, attempt: int) -> None:
        await asyncio.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)] if attempt else 0.0)

    async def relist(self) -> None:
        """List everything and report only what differs from the store."""
        what = self.what
        items, version = await self.kube.list_versioned(
            what.api_version, what.kind, None, what.labels
        )
        self.relists += 1
        seen: set[tuple[str, str]] = set()
        for obj in items:
            key = Store.key_of(obj)
            seen.add(key)
            held = self.store.version_of(*key)
            version = obj["metadata"].get("resourceVersion")
            if held != version and self.store.put(obj):
                self.relist_changes += 1 if held else 0
                self.on_event("MODIFIED" if held else "ADDED", obj)
        for namespace, name in self.store.keys() - seen:
            gone = self.store.get(name, namespace) or {"metadata": {"name": name}}
            self.store.drop(gone)
            self.relist_changes += 1
            self.on_event("DELETED", gone)
        self.store.resource_version = version
        self.failing_since = None
        self.synced.set()

    async def watch_once(self) -> bool:
        """Follow one watch stream to its end; True when it delivered anything."""
        what = self.what
        stream = self.kube.watch(
            what.api_version, what.kind, self.store.resource_version, what.labels
        )
        delivered = False
        async for event in stream:
            self.failing_since, delivered = None, True
            self.handle(event)
        return delivered

    def handle(self, event: KubeObject) -> None:
        """Apply one watch event to the store and report it."""
        kind, obj = event.get("type", ""), event.get("object") or {}
        version = str((obj.get("metadata") or {}).get("resourceVersion") or "")
        if version:
            self.store.resource_version = version
        if kind == "BOOKMARK":
            return
        obj.setdefault("apiVersion", self.what.api_version)
        obj.setdefault("kind", self.what.kind)
        if kind == "DELETED":
            self.store.drop(obj)
            self.on_event(kind, obj)
        elif self.store.put(obj):
            self.on_event(kind, obj)
