"""Kubernetes objects as plain dicts: identity (ObjectRef), ownership, quantities, in-sync.

Pure: no I/O. The runtime uses `is_in_sync(desired, live)` to skip server-side applies whose every
desired field already holds in the live object, so a restart over a converged cluster writes
nothing. Quantities ("500m", "1Gi") parse to exact Decimals: the API server canonicalises them,
and quota checks compare them with usage.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from agent import api
from facts.api import KINDS
from facts.objects import BUILTIN_CLUSTER_SCOPED_KINDS

Obj = dict[str, Any]
"""A Kubernetes object or fragment as JSON-shaped data."""

CLUSTER_SCOPED_KINDS = BUILTIN_CLUSTER_SCOPED_KINDS | {info.kind for info in KINDS}
"""Built-in and Outpost kinds without a namespace; the runtime may pass discovery results."""

# Values under these keys are quantities that the API server rewrites to canonical form.
_QUANTITY_PARENTS = frozenset(
    {"hard", "limits", "requests", "default", "defaultRequest", "max", "min", "capacity"}
)


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Identity of one object; `namespace` is "" for cluster-scoped objects."""

    api_version: str
    kind: str
    namespace: str
    name: str

    def to_dict(self) -> dict[str, str]:
        """The reference as JSON (namespace left out for cluster-scoped objects)."""
        out = {"apiVersion": self.api_version, "kind": self.kind, "name": self.name}
        if self.namespace:
            out["namespace"] = self.namespace
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ObjectRef:
        """A reference read back from JSON."""
        return cls(raw["apiVersion"], raw["kind"], raw.get("namespace") or "", raw["name"])

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


def ref_of(obj: Mapping[str, Any]) -> ObjectRef:
    """The ObjectRef of a full object (apiVersion, kind, metadata.namespace/name)."""
    meta = obj.get("metadata") or {}
    return ObjectRef(obj["apiVersion"], obj["kind"], meta.get("namespace") or "", meta["name"])


def is_namespaced(kind: str, cluster_scoped: frozenset[str] = CLUSTER_SCOPED_KINDS) -> bool:
    """Whether objects of `kind` live in a namespace (unknown kinds are assumed namespaced)."""
    return kind not in cluster_scoped


def owner_reference(owner: Mapping[str, Any]) -> Obj:
    """A controller ownerReference to an Outpost object (kind and uid taken from `owner`)."""
    meta = owner["metadata"]
    return {
        "apiVersion": api.API_VERSION,
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def with_labels(obj: Mapping[str, Any], labels: Mapping[str, str]) -> Obj:
    """A deep copy of `obj` with `labels` merged over its own."""
    out = copy.deepcopy(dict(obj))
    meta = out.setdefault("metadata", {})
    meta["labels"] = {**(meta.get("labels") or {}), **labels}
    return out


def is_in_sync(desired: Any, live: Any, key: str = "", quantities: bool = False) -> bool:
    """True when every field of `desired` holds in `live` (recursive subset; lists elementwise).

    Empty desired maps and lists match a missing live value (the API server drops some of them),
    and values in resource maps (`hard`, `limits`, ...) compare as quantities ('1000m' == '1').
    """
    if isinstance(desired, Mapping):
        return _map_in_sync(desired, live, key in _QUANTITY_PARENTS)
    if isinstance(desired, list):
        return _list_in_sync(desired, live)
    if desired == live:
        return True
    return quantities and same_quantity(desired, live)


def _map_in_sync(desired: Mapping[str, Any], live: Any, quantities: bool) -> bool:
    if live is None:
        return not desired
    if not isinstance(live, Mapping):
        return False
    for key, value in desired.items():
        if key not in live:
            if value in ({}, [], None):
                continue
            return False
        if not is_in_sync(value, live[key], key, quantities):
            return False
    return True


def _list_in_sync(desired: Sequence[Any], live: Any) -> bool:
    if live is None:
        return not desired
    if not isinstance(live, list) or len(live) != len(desired):
        return False
    return all(is_in_sync(d, x) for d, x in zip(desired, live, strict=True))


def out_of_sync(desired: Sequence[Obj], live: Mapping[ObjectRef, Obj]) -> list[Obj]:
    """The desired objects that are missing from `live` or differ from their live version."""
    return [obj for obj in desired if not is_in_sync(obj, live.get(ref_of(obj)))]


# Quantities

_SUFFIXES = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
_PATTERN = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")


def parse_quantity(text: str | int | float) -> Decimal | None:
    """The quantity's value, or None when `text` is not a Kubernetes quantity."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return Decimal(str(text))
    match = _PATTERN.match(str(text).strip())
    if not match:
        return None
    try:
        return Decimal(match.group(1)) * _SUFFIXES[match.group(2)]
    except InvalidOperation:
        return None


def same_quantity(left: object, right: object) -> bool:
    """True when both are quantities of equal value (e.g. '1000m' and '1', '1024Mi' and '1Gi')."""
    if not isinstance(left, str | int) or not isinstance(right, str | int):
        return False
    a, b = parse_quantity(left), parse_quantity(right)
    return a is not None and b is not None and a == b


def exceeded(hard: Mapping[str, str], used: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Resources whose `used` value is above the `hard` limit: name -> (hard, used)."""
    over: dict[str, tuple[str, str]] = {}
    for name, limit in hard.items():
        if name not in used:
            continue
        limit_value, used_value = parse_quantity(limit), parse_quantity(used[name])
        if limit_value is not None and used_value is not None and used_value > limit_value:
            over[name] = (str(limit), str(used[name]))
    return over


def add_quantities(values: list[str]) -> str:
    """The sum of quantities as a plain decimal string (for summing pod requests)."""
    total = sum((parse_quantity(v) or Decimal(0) for v in values), Decimal(0))
    return format(total.normalize(), "f")
