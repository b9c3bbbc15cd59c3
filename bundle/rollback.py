"""Anti-rollback: the decision whether a verified manifest may replace the applied one.

Pure: the verified manifest, what was applied last on its channel, an optional signed downgrade
permit and `now` in; a `Decision` or a `RollbackError` out. Sequences only go up. The same
sequence is accepted only for the very same manifest (an idempotent re-apply). Going down needs
a permit signed by the vendor's `bundle` role naming exactly that product, channel and target.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bundle import dsse
from bundle.errors import ExpiredError, ManifestError, RollbackError
from bundle.keyring import Keyring
from bundle.manifest import VerifiedManifest
from bundle.timestamps import format_time, parse_time

PERMIT_SCHEMA = "outpost.dev/downgrade-permit/v1"


class Decision(StrEnum):
    INSTALL = "install"  # nothing applied on this channel yet
    UPGRADE = "upgrade"
    REAPPLY = "reapply"  # same sequence, same manifest bytes
    DOWNGRADE = "downgrade"  # lower sequence, allowed by a signed permit


@dataclass(frozen=True)
class Applied:
    """What the cluster applied last on a channel."""

    sequence: int
    manifest_digest: str


@dataclass(frozen=True)
class DowngradePermit:
    product: str
    channel: str
    target_sequence: int
    target_version: str
    expires: datetime

    def to_payload(self) -> bytes:
        """The permit as the JSON payload that bundle keys sign."""
        doc = {
            "schema": PERMIT_SCHEMA,
            "product": self.product,
            "channel": self.channel,
            "target_sequence": self.target_sequence,
            "target_version": self.target_version,
            "expires": format_time(self.expires),
        }
        return json.dumps(doc, indent=1).encode() + b"\n"


def sign_permit(permit: DowngradePermit, keys: Sequence[Ed25519PrivateKey]) -> dsse.Envelope:
    """Sign a downgrade permit with bundle keys."""
    return dsse.sign(dsse.PAYLOAD_DOWNGRADE, permit.to_payload(), keys)


def verify_permit(envelope_bytes: bytes, keyring: Keyring, now: datetime) -> DowngradePermit:
    """A permit counts only with a `bundle`-role threshold and before its expiry."""
    envelope = dsse.parse(envelope_bytes, "downgrade permit")
    role = keyring.role("bundle")
    keys = keyring.role_keys("bundle")
    payload, _ = dsse.verify(
        envelope, dsse.PAYLOAD_DOWNGRADE, keys, role.threshold, "downgrade permit"
    )
    permit = _permit_from_payload(payload)
    if now >= permit.expires:
        raise ExpiredError(
            f"expiry check failed: downgrade permit expired at {format_time(permit.expires)}"
            f" (clock: {format_time(now)})"
        )
    return permit


def _permit_from_payload(payload: bytes) -> DowngradePermit:
    try:
        doc: dict[str, Any] = json.loads(payload)
        if doc.get("schema") != PERMIT_SCHEMA:
            raise ValueError(f"`schema` must be '{PERMIT_SCHEMA}'")
        sequence = doc["target_sequence"]
        if not isinstance(sequence, int) or isinstance(sequence, bool):
            raise ValueError("`target_sequence` must be an integer")
        return DowngradePermit(
            str(doc["product"]),
            str(doc["channel"]),
            sequence,
            str(doc["target_version"]),
            parse_time(doc["expires"], "expires"),
        )
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise ManifestError(f"downgrade permit format check failed: {exc}") from exc


def decide(
    candidate: VerifiedManifest, last: Applied | None, permit: DowngradePermit | None = None
) -> Decision:
    """Decide whether `candidate` may be applied over `last` (same channel); raise if not."""
    manifest = candidate.manifest
    if last is None:
        return Decision.INSTALL
    if manifest.sequence > last.sequence:
        return Decision.UPGRADE
    if manifest.sequence == last.sequence:
        if candidate.digest == last.manifest_digest:
            return Decision.REAPPLY
        raise RollbackError(
            f"rollback check failed: sequence {manifest.sequence} was already applied with a"
            " different manifest; the vendor must publish a new sequence"
        )
    if permit is None:
        raise RollbackError(
            f"rollback check failed: sequence {manifest.sequence} is lower than the applied"
            f" {last.sequence}; a downgrade needs a signed downgrade permit for it"
        )
    _check_permit_names(permit, candidate)
    return Decision.DOWNGRADE


def _check_permit_names(permit: DowngradePermit, candidate: VerifiedManifest) -> None:
    manifest = candidate.manifest
    wanted = (manifest.product, manifest.channel, manifest.sequence, manifest.version)
    named = (permit.product, permit.channel, permit.target_sequence, permit.target_version)
    if wanted != named:
        raise RollbackError(
            "rollback check failed: the downgrade permit names"
            f" {named[0]}/{named[1]} sequence {named[2]} ({named[3]}), not this bundle"
            f" {wanted[0]}/{wanted[1]} sequence {wanted[2]} ({wanted[3]})"
        )
