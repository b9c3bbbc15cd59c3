"""Licence decisions: the License object's verdict and the entitlement gates of the other kinds.

Pure: a verified licence (or none), the cluster's uid, what exists, and `now` in; an Outcome or a
`Problem` out. Who exceeds a limit is decided by creation order: the objects created first keep
their place, the ones created last (ties broken by name) are held back, so the choice is the
same at every visit and never takes a running object's place away for a newer one. A gate only
ever holds an object back; deleting what runs is never a licence decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from agent import api
from agent.core.conditions import Outcome, Problem
from bundle.license import EXPIRING_WINDOW, VerifiedLicense
from facts.rfc3339 import format_time

LIMITS = {"Tenant": "maxTenants", "Application": "maxApplications"}


@dataclass(frozen=True)
class Created:
    """One object competing for an entitlement: its name and creation time (RFC 3339 text)."""

    name: str
    created: str


@dataclass(frozen=True)
class LicenseState:
    """The licence in force (None: none valid), the cluster's uid and whether one is required."""

    in_force: VerifiedLicense | None
    cluster_uid: str
    required: bool = False

    @property
    def bound_elsewhere(self) -> bool:
        """The licence names another cluster, so it grants nothing here."""
        lic = self.in_force.license if self.in_force else None
        return bool(lic and lic.cluster_uid and lic.cluster_uid != self.cluster_uid)

    @property
    def usable(self) -> VerifiedLicense | None:
        """The licence whose entitlements count in this cluster."""
        return None if self.bound_elsewhere else self.in_force


def license_outcome(state: LicenseState, now: datetime) -> Outcome:
    """The verdict for the licence in force: valid, expiring, expired, or for another cluster."""
    if state.in_force is None:
        return Outcome("False", api.Reason.VERIFICATION_FAILED, "No valid licence.", stalled=True)
    lic = state.in_force.license
    if state.bound_elsewhere:
        message = (
            f"The licence is bound to the cluster with kube-system uid {lic.cluster_uid}; this"
            f" cluster's is {state.cluster_uid}. It grants nothing here; ask the vendor for a"
            " licence issued for this cluster."
        )
        return Outcome("False", api.Reason.LICENSE_CLUSTER_MISMATCH, message, stalled=True)
    if now >= lic.expires:
        grace = format_time(lic.grace_end)
        after = "new Bundles are not applied" if now >= lic.grace_end else f"until {grace}"
        message = (
            f"The licence of {lic.customer} expired at {format_time(lic.expires)}; grace period"
            f" {'ended at ' + grace + ', ' if now >= lic.grace_end else ''}{after}. Running"
            " workloads are never deleted because of a licence."
        )
        return Outcome("False", api.Reason.LICENSE_EXPIRED, message, stalled=True)
    if now >= lic.expires - EXPIRING_WINDOW:
        days = (lic.expires - now).days
        message = f"The licence of {lic.customer} expires at {format_time(lic.expires)}"
        return Outcome("True", api.Reason.LICENSE_EXPIRING, f"{message} (in {days} days).")
    message = f"Licence of {lic.customer} verified; valid until {format_time(lic.expires)}."
    return Outcome("True", api.Reason.LICENSE_VALID, message)


def required_problem(state: LicenseState) -> Problem | None:
    """With `license.required`, nothing is applied without a usable licence."""
    if not state.required or state.usable is not None:
        return None
    why = "is bound to another cluster" if state.in_force else "is missing or does not verify"
    return Problem(
        api.Reason.LICENSE_REQUIRED,
        f"A licence is required (chart value license.required) and the licence {why}; nothing is"
        " applied until `outpost license apply` stores a valid one. Nothing running is deleted.",
    )


def bundle_problem(state: LicenseState, now: datetime) -> Problem | None:
    """A new Bundle is not applied after the grace period (nor without a required licence)."""
    if (problem := required_problem(state)) is not None:
        return problem
    usable = state.usable
    if usable is None or now < usable.license.grace_end:
        return None
    lic = usable.license
    return Problem(
        api.Reason.LICENSE_EXPIRED,
        f"The licence of {lic.customer} expired at {format_time(lic.expires)} and its grace"
        f" period ended at {format_time(lic.grace_end)}; new Bundles are not applied until a"
        " renewed licence is applied. The Bundle in force and its workloads keep running.",
    )


def exceeded(kind: str, name: str, peers: Sequence[Created], state: LicenseState) -> Problem | None:
    """EntitlementExceeded when `name` is among the `kind`s created after the licence's limit."""
    usable = state.usable
    limit = usable.license.limit(LIMITS[kind]) if usable else None
    if limit is None:
        return None
    order = [p.name for p in sorted(peers, key=lambda p: (p.created, p.name))]
    if name not in order or order.index(name) < limit:
        return None
    position = order.index(name) + 1
    return Problem(
        api.Reason.ENTITLEMENT_EXCEEDED,
        f"The licence allows {LIMITS[kind]}={limit}; this is {kind} {position} of {len(order)}"
        f" by creation time (ties by name), so it is one of the {len(order) - limit} created last"
        f" and is not reconciled. The first {limit} keep running; nothing of this one is deleted."
        f" Ask the vendor for a higher {LIMITS[kind]}, or delete a {kind}.",
    )


def missing_features(requires: Sequence[str], state: LicenseState) -> Problem | None:
    """EntitlementMissing when the Application requires features the licence does not grant."""
    usable = state.usable
    if usable is None and not requires:
        return None
    lacking = [f for f in requires if usable is None or not usable.license.has_feature(f)]
    if not lacking:
        return None
    return Problem(
        api.Reason.ENTITLEMENT_MISSING,
        f"`spec.requires` names {', '.join(lacking)}, which the licence"
        f" {'in force does not grant' if usable else 'cannot grant: none is in force'}; nothing"
        " of this Application is applied until a licence grants it. Nothing running is deleted.",
    )


def entitlements_text(values: Mapping[str, object]) -> dict[str, str]:
    """Entitlements as the text the License status shows (true/false lower-case, as issued)."""
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in values.items()}


MEMORY_ISSUED = "licenseIssued"
MEMORY_DIGEST = "licenseDigest"
"""Keys of the trust-floor ConfigMap that remember the newest licence ever in force."""


@dataclass(frozen=True)
class Memory:
    """The newest licence this cluster has had in force: when it was issued and its digest."""

    issued: str
    digest: str

    @classmethod
    def from_data(cls, data: Mapping[str, str] | None) -> Memory | None:
        """The memory kept in the trust-floor ConfigMap's data (None before the first licence)."""
        if not data or not data.get(MEMORY_ISSUED):
            return None
        return cls(str(data[MEMORY_ISSUED]), str(data.get(MEMORY_DIGEST) or ""))

    def to_data(self) -> dict[str, str]:
        """The ConfigMap data keys holding this memory."""
        return {MEMORY_ISSUED: self.issued, MEMORY_DIGEST: self.digest}


def older_than_memory(found: VerifiedLicense, memory: Memory | None) -> str:
    """Why `found` may not be in force ("" when it may): it predates the remembered licence."""
    if memory is None or found.digest == memory.digest:
        return ""
    issued = format_time(found.license.issued)
    if issued > memory.issued:
        return ""
    return (
        f"licence rollback check failed: issued {issued}, but this cluster already had a licence"
        f" issued {memory.issued} in force; an older licence never replaces a newer one"
    )


def remembered(in_force: VerifiedLicense | None, memory: Memory | None) -> Memory | None:
    """The memory after `in_force` was chosen; None when it does not change."""
    if in_force is None:
        return None
    new = Memory(format_time(in_force.license.issued), in_force.digest)
    return None if memory is not None and new == memory else new
