"""A typed snapshot of what a status report may say about the cluster.

Pure. `agent.sync.cluster` gathers raw objects (I/O); the functions here copy out of them only
the fields on the allowlist: names, the `Ready` condition's status and reason, the owning tenant,
and summed pod requests. Condition messages, annotations, labels, specs and anything from Secrets
never enter a snapshot, so they cannot reach a report. Tenant owners (people) are copied only when
the caller opts in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agent.core.bundle import installed_bundle
from wire.protocol import dig
from wire.usage import UsageRecord

READY_STATES = ("True", "False", "Unknown")
# Reasons are CamelCase API constants; anything else may be free text and is not reported.
REASON_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
NAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


@dataclass(frozen=True)
class Health:
    name: str
    ready: str
    reason: str


@dataclass(frozen=True)
class Usage:
    pods: int = 0
    cpu_millicores: int = 0
    memory_bytes: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.pods + other.pods,
            self.cpu_millicores + other.cpu_millicores,
            self.memory_bytes + other.memory_bytes,
        )


@dataclass(frozen=True)
class PodRequests:
    """One pod's summed container requests, already converted to integers by the gatherer."""

    tenant: str
    cpu_millicores: int
    memory_bytes: int


@dataclass(frozen=True)
class TenantInfo:
    health: Health
    usage: Usage
    owner: str | None = None


@dataclass(frozen=True)
class ApplicationInfo:
    health: Health
    tenant: str


@dataclass(frozen=True)
class BundleInfo:
    version: str
    sequence: int


@dataclass(frozen=True)
class ClusterSnapshot:
    cluster_uid: str
    dataplanes: tuple[Health, ...]
    tenants: tuple[TenantInfo, ...]
    applications: tuple[ApplicationInfo, ...]
    bundle: BundleInfo | None = None
    license: dict[str, str] | None = None
    """The licence in force as its License status says (`license_of`), None without one."""
    usage: tuple[UsageRecord, ...] = ()
    """Closed-window usage records waiting for a report (`agent.core.usage`)."""
    preflight: dict[str, object] | None = None
    """The preflight results of the Bundle checked last (`preflight_of`), None without any."""


def safe_name(value: object) -> str:
    """The name if it is a valid Kubernetes name, else 'invalid-name'."""
    text = value if isinstance(value, str) else ""
    return text if NAME_PATTERN.match(text) else "invalid-name"


def health_of(obj: Mapping[str, object]) -> Health:
    """Name plus the `Ready` condition's status and reason (never its message)."""
    name = safe_name(dig(obj, "metadata", "name"))
    conditions = dig(obj, "status", "conditions")
    for cond in conditions if isinstance(conditions, list) else []:
        if isinstance(cond, Mapping) and cond.get("type") == "Ready":
            status = cond.get("status")
            reason = cond.get("reason")
            return Health(
                name,
                status if status in READY_STATES else "Unknown",
                reason if isinstance(reason, str) and REASON_PATTERN.match(reason) else "Other",
            )
    return Health(name, "Unknown", "NoReadyCondition")


def usage_by_tenant(pods: Iterable[PodRequests]) -> dict[str, Usage]:
    """Pods, CPU and memory requested, summed per tenant."""
    totals: dict[str, Usage] = {}
    for pod in pods:
        one = Usage(1, pod.cpu_millicores, pod.memory_bytes)
        totals[pod.tenant] = totals.get(pod.tenant, Usage()) + one
    return totals


def tenant_of(app: Mapping[str, object]) -> str:
    """The tenant an Application belongs to ('' when data-plane scoped)."""
    for path in (("spec", "tenantRef", "name"), ("spec", "tenant"), ("spec", "tenantName")):
        value = dig(app, *path)
        if isinstance(value, str):
            return safe_name(value)
    return safe_name(dig(app, "metadata", "labels", "outpost.dev/tenant"))


def tenants_of(
    objects: Iterable[Mapping[str, object]], usage: Mapping[str, Usage], include_owners: bool
) -> tuple[TenantInfo, ...]:
    """Tenants with their health, usage and (when asked) owner."""
    tenants = []
    for obj in objects:
        health = health_of(obj)
        owner = dig(obj, "spec", "owner") if include_owners else None
        owner_text = owner if isinstance(owner, str) else None
        tenants.append(TenantInfo(health, usage.get(health.name, Usage()), owner_text))
    return tuple(sorted(tenants, key=lambda t: t.health.name))


def applications_of(objects: Iterable[Mapping[str, object]]) -> tuple[ApplicationInfo, ...]:
    """Applications with their health and tenant."""
    apps = (ApplicationInfo(health_of(obj), tenant_of(obj)) for obj in objects)
    return tuple(sorted(apps, key=lambda a: (a.tenant, a.health.name)))


def snapshot_from_objects(
    cluster_uid: str,
    objects: Mapping[str, Iterable[Mapping[str, object]]],
    pods: Iterable[PodRequests],
    include_owners: bool = False,
) -> ClusterSnapshot:
    """Build a snapshot from raw DataPlane/Tenant/Application/Bundle objects (allowlist copy)."""
    dataplanes = sorted((health_of(o) for o in objects.get("DataPlane", ())), key=lambda h: h.name)
    return ClusterSnapshot(
        cluster_uid=cluster_uid,
        dataplanes=tuple(dataplanes),
        tenants=tenants_of(objects.get("Tenant", ()), usage_by_tenant(pods), include_owners),
        applications=applications_of(objects.get("Application", ())),
        bundle=bundle_of(objects.get("Bundle", ())),
        license=license_of(objects.get("License", ())),
        preflight=preflight_of(objects.get("Bundle", ())),
    )


def preflight_of(bundles: Iterable[Mapping[str, Any]]) -> dict[str, object] | None:
    """The preflight results of the newest Bundle that ran checks: each check's name, kind,
    strictness and outcome, copied field by field (never its message)."""
    checked = [b for b in bundles if isinstance(dig(b, "status", "preflight"), list)]
    if not checked:
        return None
    newest = max(checked, key=lambda b: str(dig(b, "metadata", "creationTimestamp") or ""))
    results = []
    items = dig(newest, "status", "preflight")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping):
            passed = item.get("passed")
            results.append({
                "name": safe_name(item.get("name")), "check": str(item.get("check", ""))[:32],
                "strict": item.get("strict") is True,
                "passed": passed if isinstance(passed, bool) else None,
            })  # fmt: skip
    return {"bundle": safe_name(dig(newest, "metadata", "name")), "results": results[:64]}


def license_of(licenses: Iterable[Mapping[str, Any]]) -> dict[str, str] | None:
    """The licence in force (the agent verified it and marked it `inForce`): its Ready status and
    reason, expiry, and entitlement use as `used/allowed` (allowed "-" when unlimited). Copied
    field by field, values cut to 64 characters; never the licence itself or the message."""
    found = [lic for lic in licenses if dig(lic, "status", "inForce") is True]
    if not found:
        return None
    lic = found[0]
    ready = health_of(lic)
    status = lic.get("status") or {}
    limits = status.get("entitlements")
    limits = limits if isinstance(limits, Mapping) else {}
    usage = status.get("usage")
    usage = usage if isinstance(usage, Mapping) else {}
    entry = {
        "customer": str(dig(lic, "spec", "customer") or "")[:64],
        "ready": ready.ready,
        "reason": ready.reason,
        "expires": str(dig(lic, "spec", "expires") or "")[:64],
    }
    for kind, limit in (("tenants", "maxTenants"), ("applications", "maxApplications")):
        entry[kind] = f"{int(usage.get(kind) or 0)}/{str(limits.get(limit, '-'))[:16]}"
    return entry


def bundle_of(bundles: Iterable[Mapping[str, Any]]) -> BundleInfo | None:
    """The bundle in force, by the one rule the DataPlane's status uses (`agent.core.bundle`)."""
    installed = installed_bundle(list(bundles))
    if not installed:
        return None
    return BundleInfo(str(installed["version"])[:64], int(installed["sequence"]))
