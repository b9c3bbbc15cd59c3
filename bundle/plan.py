"""The upgrade plan: what a candidate bundle changes against the bundle in force. Writes nothing.

Pure: the parsed content of both bundles in; a `Plan` out. Objects are compared by kind,
namespace and name (added, changed, pruned); images by source reference; charts by name and
version; CRDs by served versions and schema, flagging the changes that break stored objects or
clients: a served version removed, a field removed, a field made required.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class Content:
    """One bundle's content as the plan compares it."""

    objects: Sequence[Obj] = ()
    crds: Sequence[Obj] = ()
    images: Sequence[str] = ()
    charts: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Plan:
    """What applying the candidate would change."""

    objects: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """"Kind namespace" → {"added"|"changed"|"pruned": [names]}."""
    images: dict[str, list[str]] = field(default_factory=dict)
    charts: list[str] = field(default_factory=list)
    crds: list[dict[str, Any]] = field(default_factory=list)

    @property
    def breaking(self) -> list[str]:
        """Every breaking CRD change, as text."""
        return [f"{c['crd']}: {b}" for c in self.crds for b in c["breaking"]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"objects": self.objects, "images": self.images, "charts": self.charts,
                "crds": self.crds, "breaking": self.breaking}  # fmt: skip


def compare(old: Content, new: Content) -> Plan:
    """The plan of going from `old` (the bundle in force; empty for a first install) to `new`."""
    plan = Plan()
    plan.objects = _objects(old.objects, new.objects)
    plan.images = {"new": sorted(set(new.images) - set(old.images)),
                   "dropped": sorted(set(old.images) - set(new.images))}  # fmt: skip
    for name in sorted(set(old.charts) | set(new.charts)):
        before, after = old.charts.get(name), new.charts.get(name)
        if before != after:
            plan.charts.append(f"{name}: {before or '(none)'} -> {after or '(removed)'}")
    plan.crds = _crds(old.crds, new.crds)
    return plan


def _key(obj: Obj) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind")), str(meta.get("namespace") or "-"), str(meta.get("name")))


def _objects(old: Sequence[Obj], new: Sequence[Obj]) -> dict[str, dict[str, list[str]]]:
    before, after = {_key(o): o for o in old}, {_key(o): o for o in new}
    out: dict[str, dict[str, list[str]]] = {}
    for key in sorted(set(before) | set(after)):
        if key in before and key in after:
            change = "changed" if _body(before[key]) != _body(after[key]) else ""
        else:
            change = "added" if key in after else "pruned"
        if change:
            group = out.setdefault(f"{key[0]} {key[1]}", {"added": [], "changed": [], "pruned": []})
            group[change].append(key[2])
    return out


def _body(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k != "status"}


def _crds(old: Sequence[Obj], new: Sequence[Obj]) -> list[dict[str, Any]]:
    before = {str(c["metadata"]["name"]): c for c in old}
    after = {str(c["metadata"]["name"]): c for c in new}
    out = []
    for name in sorted(set(before) | set(after)):
        if name not in after:
            out.append({"crd": name, "change": "dropped from the bundle (not deleted)",
                        "breaking": []})  # fmt: skip
        elif name not in before:
            out.append({"crd": name, "change": "added", "breaking": []})
        elif (breaking := crd_breaking(before[name], after[name])) or before[name] != after[name]:
            out.append({"crd": name, "change": "changed", "breaking": breaking})
    return out


def crd_breaking(old: Obj, new: Obj) -> list[str]:
    """Breaking changes between two versions of one CRD."""
    found: list[str] = []
    old_versions, new_versions = _versions(old), _versions(new)
    for name, version in old_versions.items():
        if not version.get("served", True):
            continue
        if name not in new_versions or not new_versions[name].get("served", True):
            found.append(f"served version {name} removed")
            continue
        found += _schema_breaking(name, _schema(version), _schema(new_versions[name]))
    return found


def _versions(crd: Obj) -> dict[str, Obj]:
    return {str(v["name"]): v for v in (crd.get("spec") or {}).get("versions") or ()}


def _schema(version: Obj) -> Obj:
    return (version.get("schema") or {}).get("openAPIV3Schema") or {}


def _schema_breaking(version: str, old: Obj, new: Obj) -> list[str]:
    old_nodes, new_nodes = dict(_walk(old)), dict(_walk(new))
    found = [f"field {p} removed ({version})" for p in old_nodes if p and p not in new_nodes]
    for path, node in new_nodes.items():
        if path in old_nodes:
            added = set(node.get("required") or ()) - set(old_nodes[path].get("required") or ())
            found += [f"field {_join(path, r)} made required ({version})" for r in sorted(added)]
    return found


def _walk(node: Obj, path: str = "") -> Iterator[tuple[str, Obj]]:
    yield path, node
    for name, child in (node.get("properties") or {}).items():
        yield from _walk(child, _join(path, name))
    if isinstance(node.get("items"), Mapping):
        yield from _walk(node["items"], f"{path}[]")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def text(plan: Plan) -> list[str]:
    """The plan's comparison part as lines of text."""
    lines = ["objects:"] + [
        f"  {group}: " + ", ".join(f"{k} {', '.join(v)}" for k, v in changes.items() if v)
        for group, changes in plan.objects.items()
    ]
    lines.append(f"images: new {plan.images.get('new') or '-'}, dropped"
                 f" {plan.images.get('dropped') or '-'}")  # fmt: skip
    lines.append("charts: " + ("; ".join(plan.charts) or "no version changes"))
    for crd in plan.crds:
        flag = " BREAKING: " + "; ".join(crd["breaking"]) if crd["breaking"] else ""
        lines.append(f"crd {crd['crd']}: {crd['change']}{flag}")
    return lines
