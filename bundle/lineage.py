"""Which imported bundle is in force on a product channel: pure rules over `Bundle` objects.

Pure: `Bundle` objects as read from the cluster (plain dicts) in, values out. Nothing is kept in
memory between visits; the cluster is the history. The agent writes the annotation `APPLIED_AT`
on a Bundle once all its resources are applied (microsecond UTC time), so:

- the bundle *in force* on a channel is the one applied last (latest `APPLIED_AT`), which after a
  permitted downgrade is not the one with the highest sequence;
- a bundle is *superseded* when another one was applied after it, or, never applied itself, when
  a bundle imported later with a higher sequence is already applied;
- the anti-rollback rule (`rollback.decide`) compares a candidate with the bundle in force.

Deleting Bundle objects erases that history (and so the rollback floor): only cluster admins can,
and they can equally change anything the agent applies.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bundle.rollback import Applied
from facts import rfc3339

APPLIED_AT = "outpost.dev/applied-at"
LABEL_PRODUCT = "outpost.dev/product"
LABEL_CHANNEL = "outpost.dev/channel"
_UNSAFE = re.compile(r"[^a-z0-9-]+")
NAME_MAX = 63


@dataclass(frozen=True)
class Imported:
    """One Bundle object as the lineage rules see it (nothing here is verified)."""

    name: str
    product: str
    channel: str
    sequence: int
    manifest_digest: str  # 64 hex, without the 'sha256:' prefix
    created: str  # metadata.creationTimestamp, RFC 3339 (sorts as text)
    applied_at: datetime | None

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> Imported:
        """The lineage facts of one Bundle object."""
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        return cls(
            name=str(meta.get("name", "")),
            product=str(spec.get("product", "")),
            channel=str(spec.get("channel", "")),
            sequence=int(spec.get("sequence") or 0),
            manifest_digest=str(spec.get("manifestDigest", "")).removeprefix("sha256:"),
            created=str(meta.get("creationTimestamp") or ""),
            applied_at=parse_applied((meta.get("annotations") or {}).get(APPLIED_AT)),
        )

    def to_applied(self) -> Applied:
        """The fact the anti-rollback rule compares against."""
        return Applied(self.sequence, self.manifest_digest)

    def _import_order(self) -> tuple[str, int, str]:
        return (self.created, self.sequence, self.name)


def parse_applied(text: object) -> datetime | None:
    """The `APPLIED_AT` annotation's time; anything unreadable counts as never applied."""
    return rfc3339.parse_time(text)


def format_applied(now: datetime) -> str:
    """The `APPLIED_AT` annotation's value: microseconds, so two applies in a second order."""
    return rfc3339.format_time(now, fraction=True)


def lineage(objects: Iterable[Mapping[str, Any]], product: str, channel: str) -> list[Imported]:
    """The Bundles of one product channel."""
    found = (Imported.from_object(o) for o in objects)
    return [b for b in found if b.product == product and b.channel == channel]


def in_force(bundles: Iterable[Imported], exclude: str = "") -> Imported | None:
    """The bundle applied last, leaving out `exclude` (a name)."""
    applied = [b for b in bundles if b.applied_at is not None and b.name != exclude]
    return max(applied, key=_applied_order, default=None)


def superseded_by(me: Imported, bundles: Iterable[Imported]) -> Imported | None:
    """The bundle that replaced `me`, if one did (see the module docstring)."""
    others = [b for b in bundles if b.applied_at is not None and b.name != me.name]
    if me.applied_at is not None:
        later = [b for b in others if _applied_order(b) > _applied_order(me)]
    else:
        # Strictly later by creation time: within the same second, the rollback check decides.
        later = [b for b in others if b.sequence > me.sequence and b.created > me.created]
    return max(later, key=_applied_order, default=None)


def _applied_order(b: Imported) -> tuple[datetime, str, int, str]:
    assert b.applied_at is not None
    return (b.applied_at, *b._import_order())


def bundle_name(product: str, channel: str, sequence: int) -> str:
    """`<product>-<channel>-<sequence>` as a DNS label (the Bundle's object name)."""
    raw = f"{product}-{channel}-{sequence}"
    name = _UNSAFE.sub("-", raw.lower()).strip("-")
    if len(name) > NAME_MAX or name != raw:
        suffix = hashlib.sha256(raw.encode()).hexdigest()[:8]
        name = f"{name[: NAME_MAX - 9].rstrip('-')}-{suffix}"
    return name
