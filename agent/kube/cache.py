"""The watch cache's store: trimmed copies of watched objects, and label selectors matched locally.

Pure data, no I/O. Each object is kept as compact JSON bytes, not as a dict: a parsed Kubernetes
object costs several times its JSON size in Python objects, and every read decodes a fresh copy
that the caller may change freely. Trimming drops what no reconciler reads and what dwarfs the
rest: `metadata.managedFields` and kubectl's last-applied annotation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

KubeObject = dict[str, Any]
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_REQUIREMENT = re.compile(
    r"^\s*([\w./-]+)\s*(?:(==|=|!=)\s*([\w.-]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*$"
)


def trim(obj: KubeObject) -> KubeObject:
    """The object without the fields nobody reads (changes `obj` in place and returns it)."""
    meta = obj.get("metadata") or {}
    meta.pop("managedFields", None)
    notes = meta.get("annotations")
    if notes and LAST_APPLIED in notes:
        notes.pop(LAST_APPLIED)
    return obj


def newer(candidate: str, current: str) -> bool:
    """Whether resourceVersion `candidate` is later than `current` (etcd revisions are numbers;
    anything else is taken as newer, as the API server's own answer)."""
    if candidate.isdigit() and current.isdigit():
        return int(candidate) > int(current)
    return candidate != current


def split_selector(selector: str) -> list[str]:
    """A label selector's requirements (commas inside `in (a,b)` do not split)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(selector):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(selector[start:i])
            start = i + 1
    parts.append(selector[start:])
    return [p.strip() for p in parts if p.strip()]


def matches(selector: str, labels: dict[str, str]) -> bool:
    """Whether `labels` satisfy a label selector (=, ==, !=, in, notin, exists, !exists)."""
    for requirement in split_selector(selector):
        if requirement.startswith("!"):
            if requirement[1:].strip() in labels:
                return False
            continue
        found = _REQUIREMENT.match(requirement)
        if not found:
            raise ValueError(f"unsupported label selector {requirement!r}")
        key, op, value, set_op, values = found.groups()
        if not _holds(labels.get(key), op or set_op, value, values):
            return False
    return True


def _holds(have: str | None, op: str | None, value: str | None, values: str | None) -> bool:
    if op is None:
        return have is not None
    if op in ("=", "=="):
        return have == value
    if op == "!=":
        return have != value
    wanted = {v.strip() for v in (values or "").split(",")}
    return (have in wanted) if op == "in" else (have not in wanted)


@dataclass
class Store:
    """One watched kind's objects by namespace and name, plus the last resourceVersion seen."""

    spaces: dict[str, dict[str, bytes]] = field(default_factory=dict)
    versions: dict[tuple[str, str], str] = field(default_factory=dict)
    resource_version: str = ""
    synced: bool = False

    @staticmethod
    def key_of(obj: KubeObject) -> tuple[str, str]:
        """The (namespace, name) key of an object."""
        meta = obj.get("metadata") or {}
        return (str(meta.get("namespace") or ""), str(meta["name"]))

    def put(self, obj: KubeObject) -> bool:
        """Keep `obj` unless the store already holds a newer version; True when kept."""
        key, version = self.key_of(obj), str(obj["metadata"].get("resourceVersion") or "")
        held = self.versions.get(key)
        if held is not None and version and not newer(version, held):
            return False
        raw = json.dumps(trim(obj), separators=(",", ":")).encode()
        self.spaces.setdefault(key[0], {})[key[1]] = raw
        self.versions[key] = version
        return True

    def drop(self, obj: KubeObject) -> None:
        """Forget an object (deleted)."""
        namespace, name = key = self.key_of(obj)
        self.spaces.get(namespace, {}).pop(name, None)
        if namespace in self.spaces and not self.spaces[namespace]:
            del self.spaces[namespace]
        self.versions.pop(key, None)

    def version_of(self, namespace: str, name: str) -> str | None:
        """The cached resourceVersion of an object, if cached."""
        return self.versions.get((namespace, name))

    def get(self, name: str, namespace: str = "") -> KubeObject | None:
        """The cached object, decoded, or None."""
        raw = self.spaces.get(namespace, {}).get(name)
        return None if raw is None else dict(json.loads(raw))

    def select(self, namespace: str | None = None, labels: str = "") -> Iterator[KubeObject]:
        """Fresh copies of the objects in `namespace` (None: all) matching `labels`."""
        spaces = self.spaces.values() if namespace is None else [self.spaces.get(namespace, {})]
        for space in spaces:
            for raw in space.values():
                obj = json.loads(raw)
                if not labels or matches(labels, (obj["metadata"].get("labels") or {})):
                    yield obj

    def keys(self) -> set[tuple[str, str]]:
        """Every cached (namespace, name)."""
        return set(self.versions)

    def __len__(self) -> int:
        return len(self.versions)

    @property
    def size(self) -> int:
        """Bytes held (the JSON of every object)."""
        return sum(len(raw) for space in self.spaces.values() for raw in space.values())
