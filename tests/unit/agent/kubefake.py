"""FakeKube: an in-memory stand-in for agent.kube.client.Kube with the same small interface.

Good enough for the reconcile paths: server-side apply merges maps and replaces lists,
resourceVersions and generations move, deletes respect finalizers (deletionTimestamp is set
instead), label selectors support `key=value[,key=value]`. Every write is counted by verb.
"""

from __future__ import annotations

import copy
import itertools
from collections import Counter
from typing import Any

from agent.core.objects import is_namespaced
from agent.errors import ConflictError

Key = tuple[str, str, str]  # kind, namespace, name


def _merge(live: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(live)
    for key, value in desired.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _matches(obj: dict[str, Any], selector: str) -> bool:
    labels = obj["metadata"].get("labels") or {}
    for term in filter(None, selector.split(",")):
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


class FakeKube:
    def __init__(self) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self.writes: Counter[str] = Counter()
        self.events: list[tuple[str, str, str]] = []
        self.managers: list[str] = []
        self._rv = itertools.count(1)

    @staticmethod
    def key(kind: str, name: str, namespace: str | None) -> Key:
        return (kind, (namespace or "") if is_namespaced(kind) else "", name)

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object as if someone else created it (not counted as our write)."""
        obj = copy.deepcopy(obj)
        meta = obj["metadata"]
        meta.setdefault("uid", f"uid-{meta['name']}")
        meta.setdefault("generation", 1)
        meta["resourceVersion"] = str(next(self._rv))
        self.objects[self.key(obj["kind"], meta["name"], meta.get("namespace"))] = obj
        return copy.deepcopy(obj)

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        found = self.objects.get(self.key(kind, name, namespace))
        return copy.deepcopy(found) if found else None

    async def list_objects(
        self, api_version: str, kind: str, namespace: str | None = None, labels: str = ""
    ) -> list[dict[str, Any]]:
        return [
            copy.deepcopy(o)
            for (k, ns, _), o in sorted(self.objects.items())
            if k == kind and (namespace is None or ns == namespace) and _matches(o, labels)
        ]

    async def apply(
        self, obj: dict[str, Any], *, subresource: str = "", manager: str = "outpost-agent"
    ) -> dict[str, Any]:
        self.writes["APPLY"] = self.writes["APPLY"] + 1
        self.managers.append(manager)
        meta = obj["metadata"]
        key = self.key(obj["kind"], meta["name"], meta.get("namespace"))
        live = self.objects.get(key)
        if live is None:
            return self.put(obj)
        merged = _merge(live, obj)
        if subresource != "status" and merged.get("spec") != live.get("spec"):
            merged["metadata"]["generation"] = live["metadata"]["generation"] + 1
        merged["metadata"]["resourceVersion"] = str(next(self._rv))
        self.objects[key] = merged
        return copy.deepcopy(merged)

    async def patch(
        self, obj: dict[str, Any], patch: dict[str, Any], *, subresource: str = ""
    ) -> dict[str, Any]:
        self.writes["PATCH"] += 1
        key = self.key(obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"))
        self.objects[key] = _merge(self.objects[key], patch)
        self.objects[key]["metadata"]["resourceVersion"] = str(next(self._rv))
        return copy.deepcopy(self.objects[key])

    async def apply_status(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.writes["STATUS"] += 1
        key = self.key(obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"))
        self.objects[key]["status"] = copy.deepcopy(obj["status"])
        return copy.deepcopy(self.objects[key])

    async def delete(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> bool:
        key = self.key(kind, name, namespace)
        if key not in self.objects:
            return False
        self.writes["DELETE"] += 1
        obj = self.objects[key]
        if obj["metadata"].get("finalizers"):
            obj["metadata"]["deletionTimestamp"] = "2026-11-24T00:00:00Z"
        else:
            del self.objects[key]
        return True

    async def _finalizers(self, obj: dict[str, Any], finalizer: str, add: bool) -> dict[str, Any]:
        self.writes["PATCH"] += 1
        key = self.key(obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"))
        live = self.objects[key]
        current = [f for f in live["metadata"].get("finalizers") or [] if f != finalizer]
        live["metadata"]["finalizers"] = current + ([finalizer] if add else [])
        if not live["metadata"]["finalizers"] and live["metadata"].get("deletionTimestamp"):
            del self.objects[key]
        return copy.deepcopy(live)

    async def add_finalizer(self, obj: dict[str, Any], finalizer: str) -> dict[str, Any]:
        return await self._finalizers(obj, finalizer, add=True)

    async def remove_finalizer(self, obj: dict[str, Any], finalizer: str) -> dict[str, Any]:
        return await self._finalizers(obj, finalizer, add=False)

    async def create_event(
        self, involved: dict[str, Any], event_type: str, reason: str, message: str, now: str
    ) -> None:
        self.writes["EVENT"] += 1
        self.events.append((involved["metadata"]["name"], event_type, reason))

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        if self.key(obj["kind"], meta["name"], meta.get("namespace")) in self.objects:
            raise ConflictError(f"{obj['kind']} {meta['name']} already exists", status=409)
        self.writes["POST"] += 1
        return self.put(obj)

    async def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        live = self.objects[self.key(obj["kind"], meta["name"], meta.get("namespace"))]
        if meta.get("resourceVersion") != live["metadata"]["resourceVersion"]:
            raise ConflictError("the object has been modified", status=409)
        self.writes["PUT"] += 1
        return self.put(obj)

    async def version(self) -> dict[str, Any]:
        return {"gitVersion": "v1.36.3"}

    @property
    def total_writes(self) -> int:
        return sum(self.writes.values())
