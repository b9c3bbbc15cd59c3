"""The trust floor: the newest keyring a cluster has verified, so that trust never goes back.

Pure: a verified final keyring and the remembered floor in; a refusal or the new floor out.
Verification starts from the fixed trust root and the bundle decides where its keyring chain
ends, so without a floor a bundle signed by a retired key verifies again by carrying only the
older chain (TUF calls it a freeze or rollback attack on the trust metadata). The floor is the
highest keyring version verified so far and the sha256 of its signed payload: a chain that ends
below that version, or at that version with another keyring, is refused. Where the floor is
kept is the caller's business (the cluster shell keeps it in a ConfigMap, see SECURITY.md).
The same ConfigMap remembers the sequence applied last on each channel (`applied_*`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from bundle.errors import BundleError, TrustRollbackError
from bundle.keyring import Keyring
from bundle.rollback import Applied

# Keys of the ConfigMap data the floor is stored as.
DATA_VERSION = "keyringVersion"
DATA_DIGEST = "keyringDigest"
_TEXT = re.compile(r"^([1-9][0-9]{0,8})(?::sha256:([0-9a-f]{64}))?$")


@dataclass(frozen=True)
class Floor:
    """The newest keyring verified so far; `digest` ("" = not known) is its payload's sha256."""

    version: int
    digest: str = ""

    def __str__(self) -> str:
        return f"{self.version}:sha256:{self.digest}" if self.digest else str(self.version)


def parse_floor(text: str) -> Floor:
    """`N` or `N:sha256:<64 hex>`, as `bundle verify --min-keyring-version` takes it."""
    match = _TEXT.match(text.strip())
    if match is None:
        raise BundleError(
            f"keyring floor '{text[:80]}' is not VERSION or VERSION:sha256:<64 hex>"
            " (e.g. 2:sha256:3f2a…, as `bundle verify` prints it)"
        )
    return Floor(int(match.group(1)), match.group(2) or "")


def check_floor(keyring: Keyring, floor: Floor | None) -> None:
    """Refuse a final keyring below the floor, or at its version with another digest."""
    if floor is None:
        return
    if keyring.version < floor.version:
        raise TrustRollbackError(
            f"trust rollback check failed: the bundle's keyring chain ends at v{keyring.version},"
            f" but this cluster already trusts keyring v{floor.version}; keys retired since"
            f" v{keyring.version} must not sign again (ask the vendor for a bundle carrying"
            f" keyring v{floor.version} or later)"
        )
    if keyring.version == floor.version and floor.digest and keyring.digest != floor.digest:
        raise TrustRollbackError(
            f"trust rollback check failed: the bundle's keyring v{keyring.version} has sha256"
            f" {keyring.digest}, but the keyring v{floor.version} this cluster trusts has"
            f" {floor.digest}; two keyrings with one version mean a root key compromise"
        )


def raised(floor: Floor | None, keyring: Keyring) -> Floor | None:
    """The floor after `keyring` verified and passed `check_floor`; None when unchanged."""
    if floor is not None and keyring.version < floor.version:
        return None
    if floor is not None and keyring.version == floor.version and floor.digest:
        return None
    return Floor(keyring.version, keyring.digest)


def floor_from_data(data: Mapping[str, str] | None) -> Floor | None:
    """The floor stored in a ConfigMap's data; None when there is none yet.

    Raises:
        TrustRollbackError: the data is there but unreadable (refuse rather than forget).
    """
    if not data or DATA_VERSION not in data:
        return None
    text = str(data[DATA_VERSION])
    digest = str(data.get(DATA_DIGEST) or "")
    try:
        return parse_floor(f"{text}:{digest}" if digest else text)
    except BundleError as exc:
        raise TrustRollbackError(f"trust rollback check failed: the stored floor: {exc}") from exc


def floor_to_data(floor: Floor) -> dict[str, str]:
    """The ConfigMap data holding `floor`."""
    data = {DATA_VERSION: str(floor.version)}
    if floor.digest:
        data[DATA_DIGEST] = f"sha256:{floor.digest}"
    return data


# The sequence applied last on each product/channel lives beside the floor, for the same reason:
# Bundle objects can be deleted, and with them the lineage the anti-rollback rule reads.
APPLIED_PREFIX = "applied."


def applied_key(product: str, channel: str) -> str:
    """The ConfigMap data key of one product/channel (names hashed: keys allow few characters)."""
    return APPLIED_PREFIX + hashlib.sha256(f"{product}\n{channel}".encode()).hexdigest()[:24]


def applied_from_data(data: Mapping[str, str] | None, product: str, channel: str) -> Applied | None:
    """The remembered last applied sequence of a channel; None when there is none.

    Raises:
        TrustRollbackError: the entry is there but unreadable (refuse rather than forget).
    """
    raw = (data or {}).get(applied_key(product, channel))
    if raw is None:
        return None
    try:
        doc = json.loads(raw)
        if (doc["product"], doc["channel"]) != (product, channel):
            return None
        return Applied(int(doc["sequence"]), str(doc["manifestDigest"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise TrustRollbackError(
            f"rollback check failed: the remembered sequence of {product}/{channel} is unreadable"
        ) from exc


def applied_to_data(product: str, channel: str, applied: Applied) -> dict[str, str]:
    """The ConfigMap data entry remembering `applied` for a channel."""
    doc = {"product": product, "channel": channel, "sequence": applied.sequence,
           "manifestDigest": applied.manifest_digest}  # fmt: skip
    return {applied_key(product, channel): json.dumps(doc, sort_keys=True)}


def to_remember(
    data: Mapping[str, str] | None, product: str, channel: str, applied: Applied
) -> dict[str, str] | None:
    """The entry the agent writes for `applied`; None when the remembered one is as high.

    The agent only raises an entry (the chart's admission policy refuses it anything else): after
    a permitted downgrade the higher sequence stays remembered, so every older sequence needs its
    own permit, as it would while the higher Bundle still exists.

    Raises:
        TrustRollbackError: the remembered entry is unreadable.
    """
    current = applied_from_data(data, product, channel)
    if current is not None and current.sequence >= applied.sequence:
        return None
    return applied_to_data(product, channel, applied)


def latest(*candidates: Applied | None) -> Applied | None:
    """The highest sequence among what the lineage and the remembered entry say."""
    found = [c for c in candidates if c is not None]
    return max(found, key=lambda a: a.sequence, default=None)
