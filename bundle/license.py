"""Licences: what a customer paid for, signed by the vendor's `license` role, checked offline.

Pure: bytes, a trusted keyring and `now` in; a `VerifiedLicense` or a `LicenseError` out. A
licence file is one JSON object holding the vendor's keyring chain (so a licence signed after a
key rotation verifies from the customer's unchanged trust root) and the DSSE envelope of the
licence itself. Entitlements are `name=value` pairs: `maxTenants=10` (a limit), `feature.X=true`
(a feature switch). Licences are ordered by their `issued` time: `check_newer` refuses one that
is older than the licence in force, or issued at the same second with other content.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bundle import dsse
from bundle.errors import BundleError, LicenseError
from bundle.keyring import Keyring, load_trust_root, walk
from bundle.timestamps import format_time, parse_time

SCHEMA = "outpost.dev/license/v1"
FILE_SCHEMA = "outpost.dev/license-file/v1"
FEATURE_PREFIX = "feature."
EXPIRING_WINDOW = timedelta(days=30)
"""How long before its expiry a licence reports LicenseExpiring."""

Entitlement = int | bool | str


@dataclass(frozen=True)
class License:
    """The signed content of a licence."""

    customer: str
    issued: datetime
    expires: datetime
    grace: timedelta = timedelta(0)
    entitlements: Mapping[str, Entitlement] = field(default_factory=dict)
    cluster_uid: str = ""
    """The uid of the kube-system namespace of the one cluster it is for; "" = any cluster."""

    def to_payload(self) -> bytes:
        """The licence as the JSON payload that `license` keys sign."""
        doc: dict[str, Any] = {"schema": SCHEMA, "customer": self.customer}
        doc |= {"issued": format_time(self.issued), "expires": format_time(self.expires)}
        doc |= {"graceSeconds": int(self.grace.total_seconds()), "clusterUID": self.cluster_uid}
        doc["entitlements"] = dict(sorted(self.entitlements.items()))
        return json.dumps(doc, indent=1, sort_keys=True).encode() + b"\n"

    def limit(self, name: str) -> int | None:
        """The numeric entitlement `name` (e.g. maxTenants); None when the licence sets none."""
        value = self.entitlements.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def has_feature(self, feature: str) -> bool:
        """Whether `feature.NAME` (given with or without the prefix) is entitled and true."""
        name = feature if feature.startswith(FEATURE_PREFIX) else FEATURE_PREFIX + feature
        return self.entitlements.get(name) is True

    @property
    def grace_end(self) -> datetime:
        """The end of the grace period after expiry."""
        return self.expires + self.grace


@dataclass(frozen=True)
class VerifiedLicense:
    """A licence whose signature verified, with the sha256 of its payload and its signers."""

    license: License
    digest: str
    signers: tuple[str, ...]
    keyring_version: int


def parse_entitlement(text: str) -> tuple[str, Entitlement]:
    """`name=value` from the CLI: integers and true/false are typed, anything else a string."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip() or not raw.strip():
        raise BundleError(f"entitlement '{text}' must look like maxTenants=10 or feature.sso=true")
    value = raw.strip()
    if value in ("true", "false"):
        return name.strip(), value == "true"
    if value.isdigit():
        return name.strip(), int(value)
    return name.strip(), value


def sign_license(
    lic: License, chain: Sequence[bytes], keyring: Keyring, signers: Sequence[Ed25519PrivateKey]
) -> bytes:
    """The licence file: the keyring chain and the licence signed by `license`-role keys.

    Raises:
        LicenseError: a signer is not a key of the keyring's `license` role.
    """
    allowed = set(keyring.role("license").keyids)
    for key in signers:
        if dsse.key_id(key.public_key()) not in allowed:
            raise LicenseError(
                "license role check failed: the signing key is not in the `license` role of"
                f" keyring v{keyring.version}; only that role may sign licences"
            )
    envelope = dsse.sign(dsse.PAYLOAD_LICENSE, lic.to_payload(), signers)
    chain_docs = [json.loads(c) for c in chain]
    doc = {"schema": FILE_SCHEMA, "keyring": chain_docs, "license": envelope.to_dict()}
    return json.dumps(doc, indent=1).encode() + b"\n"


def verify_license(data: bytes, trust_root: Sequence[bytes], now: datetime) -> VerifiedLicense:
    """Verify a licence file from the trust root: keyring chain, then the `license` threshold.

    Expiry is not an error here: an expired licence still says who the customer is, and what
    happens after expiry is the caller's policy (`state`).
    """
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("schema") != FILE_SCHEMA:
            raise ValueError(f"`schema` must be '{FILE_SCHEMA}'")
        chain = [json.dumps(e).encode() for e in doc.get("keyring") or ()]
        envelope = dsse.parse(json.dumps(doc["license"]).encode(), "licence")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise LicenseError(f"licence format check failed: {exc}") from exc
    trusted, payload = load_trust_root(trust_root)
    keyring = walk(trusted, chain, now, payload) if chain else trusted
    role = keyring.role("license")
    body, signers = dsse.verify(
        envelope, dsse.PAYLOAD_LICENSE, keyring.role_keys("license"), role.threshold, "licence"
    )
    digest = hashlib.sha256(body).hexdigest()
    return VerifiedLicense(from_payload(body), digest, signers, keyring.version)


def from_payload(payload: bytes) -> License:
    """Parse a licence payload (its signature is checked by `verify_license`)."""
    try:
        doc = json.loads(payload)
        if doc.get("schema") != SCHEMA:
            raise ValueError(f"`schema` must be '{SCHEMA}'")
        grace = doc.get("graceSeconds", 0)
        entitlements = doc.get("entitlements") or {}
        if not isinstance(grace, int) or grace < 0 or not isinstance(entitlements, dict):
            raise ValueError("`graceSeconds` must be an integer ≥ 0, `entitlements` an object")
        return License(
            str(doc["customer"]),
            parse_time(doc["issued"], "issued"),
            parse_time(doc["expires"], "expires"),
            timedelta(seconds=grace),
            {str(k): v for k, v in entitlements.items() if isinstance(v, int | bool | str)},
            str(doc.get("clusterUID") or ""),
        )
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise LicenseError(f"licence format check failed: {exc}") from exc


def check_newer(candidate: VerifiedLicense, in_force: VerifiedLicense | None) -> None:
    """Refuse a licence older than the one in force (an older licence never replaces a newer).

    Raises:
        LicenseError: issued before the licence in force, or at the same time with other content.
    """
    if in_force is None or candidate.digest == in_force.digest:
        return
    new, old = candidate.license.issued, in_force.license.issued
    if new <= old:
        raise LicenseError(
            f"licence rollback check failed: this licence was issued {format_time(new)}, but the"
            f" licence in force for {in_force.license.customer} was issued {format_time(old)};"
            " an older licence never replaces a newer one"
        )


def newest(found: Sequence[VerifiedLicense]) -> VerifiedLicense | None:
    """The licence issued last (ties: the larger digest, so every reader picks the same)."""
    return max(found, key=lambda v: (v.license.issued, v.digest), default=None)
