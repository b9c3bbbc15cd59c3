"""What is metered: pods (and objects a vendor declares) as items with a lifetime and rates.

Pure. An `Item` is anything that accrues usage from its start to its end at fixed rates per
meter (units per second): a pod accrues its requested cores, GiB and 1 pod; a pod of a data-plane
application also accrues the application-scoped meters; an object counted by a vendor-defined
meter accrues 1 per second of that meter. Integration over windows is `agent.core.usage.ledger`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from agent.core.objects import parse_quantity
from facts import rfc3339

CPU = "cpu_core_seconds"
MEMORY = "memory_gib_seconds"
PODS = "pod_seconds"
UNITS = {CPU: "core_seconds", MEMORY: "gib_seconds", PODS: "pod_seconds"}
CORE_METERS = (CPU, MEMORY, PODS)
APP_LABEL = "app.kubernetes.io/instance"
GIB = Decimal(2**30)


@dataclass(frozen=True)
class Item:
    """One thing accruing usage: `rates` are units per second while it lives."""

    key: str
    tenant: str
    start: datetime
    end: datetime | None
    rates: Mapping[str, float]


@dataclass(frozen=True)
class ObjectMeter:
    """A vendor-defined meter: objects of `kind` (matching `label`, a label selector, if set) per
    tenant namespace, integrated over time (unit: object-seconds)."""

    name: str
    kind: str
    api_version: str = "v1"
    label: str = ""


METER_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
UNMETERED_KINDS = frozenset({"Secret"})
"""The agent reads no Secrets beyond its own identity, not even to count them."""


def meters_of(dataplanes: Iterable[Mapping[str, object]]) -> tuple[ObjectMeter, ...]:
    """The vendor-defined meters the DataPlane declares (`spec.usageMeters`, carried in the
    signed bundle); a malformed entry, a reserved name or an unmetered kind is left out."""
    found: dict[str, ObjectMeter] = {}
    for dataplane in dataplanes:
        for entry in _list(_get(dataplane, "spec", "usageMeters")):
            name, kind = _get(entry, "name"), _get(entry, "kind")
            version, label = _get(entry, "apiVersion") or "v1", _get(entry, "labelSelector") or ""
            if not (isinstance(name, str) and METER_NAME.match(name) and name not in UNITS):
                continue
            if not isinstance(kind, str) or kind in UNMETERED_KINDS or not kind.isalnum():
                continue
            if isinstance(version, str) and isinstance(label, str):
                found.setdefault(name, ObjectMeter(name, kind, version, label))
    return tuple(found[name] for name in sorted(found))


def app_meter(app: str, meter: str) -> str:
    """The application-scoped name of a core meter: `app:<release>:<meter>`."""
    return f"app:{app}:{meter}"


def unit_of(meter: str) -> str:
    """The unit of a meter (application-scoped meters keep their base unit)."""
    return UNITS.get(meter.rsplit(":", 1)[-1], "object_seconds")


def _get(obj: object, *path: str) -> object:
    for step in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(step)
    return obj


def _sum(containers: object, resource: str) -> Decimal:
    total = Decimal(0)
    for container in containers if isinstance(containers, list) else []:
        value = _get(container, "resources", "requests", resource)
        if isinstance(value, str | int):
            total += parse_quantity(value) or Decimal(0)
    return total


def _peak(containers: object, resource: str) -> Decimal:
    values = [_sum([c], resource) for c in (containers if isinstance(containers, list) else [])]
    return max(values, default=Decimal(0))


def pod_requests(pod: Mapping[str, object]) -> tuple[Decimal, Decimal]:
    """(cores, bytes) the scheduler reserves: max(sum of containers, largest init) + overhead."""
    spec = _get(pod, "spec")
    out = []
    for resource in ("cpu", "memory"):
        main = _sum(_get(spec, "containers"), resource)
        init = _peak(_get(spec, "initContainers"), resource)
        overhead = _get(spec, "overhead", resource)
        extra = parse_quantity(overhead) if isinstance(overhead, str | int) else None
        out.append(max(main, init) + (extra or 0))
    return out[0], out[1]


def _finished(pod: Mapping[str, object]) -> datetime | None:
    """When a pod ended: its deletion, or the last container finish of a completed pod."""
    deleted = rfc3339.parse_time(_get(pod, "metadata", "deletionTimestamp"))
    if deleted is not None:
        return deleted
    if _get(pod, "status", "phase") not in ("Succeeded", "Failed"):
        return None
    ends = [
        rfc3339.parse_time(_get(s, "state", "terminated", "finishedAt"))
        for s in _list(_get(pod, "status", "containerStatuses"))
    ]
    known = [e for e in ends if e is not None]
    return max(known) if known else rfc3339.parse_time(_get(pod, "status", "startTime"))


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def pod_item(pod: Mapping[str, object], tenant: str) -> Item | None:
    """A started pod as an item; None before it starts (a pending pod reserves nothing yet)."""
    start = rfc3339.parse_time(_get(pod, "status", "startTime"))
    uid = _get(pod, "metadata", "uid")
    if start is None or not isinstance(uid, str):
        return None
    cores, memory = pod_requests(pod)
    rates = {CPU: float(cores), MEMORY: float(memory / GIB), PODS: 1.0}
    app = _get(pod, "metadata", "labels", APP_LABEL)
    if isinstance(app, str) and app:
        rates.update({app_meter(app, m): v for m, v in list(rates.items())})
    return Item("pod/" + uid, tenant, start, _finished(pod), rates)


def object_item(obj: Mapping[str, object], tenant: str, meter: ObjectMeter) -> Item | None:
    """An object counted by a vendor meter, from its creation to its deletion."""
    start = rfc3339.parse_time(_get(obj, "metadata", "creationTimestamp"))
    uid = _get(obj, "metadata", "uid")
    if start is None or not isinstance(uid, str):
        return None
    end = rfc3339.parse_time(_get(obj, "metadata", "deletionTimestamp"))
    return Item(f"{meter.name}/{uid}", tenant, start, end, {meter.name: 1.0})
