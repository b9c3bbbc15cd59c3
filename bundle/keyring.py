"""Versioned, threshold-signed keyrings (TUF root.json semantics) and the chain walk.

Pure: envelope bytes, a trusted keyring and `now` in; a verified `Keyring` or a `KeyringError`
/ `SignatureError` / `ExpiredError` out. A keyring lists Ed25519 keys by id (sha256 of the raw
public key, recomputed here) and the roles `root`, `bundle`, `license`, `hub` with thresholds.
Version N+1 is trusted only when a threshold of N's root keys AND of its own root keys signed it;
versions go up by exactly one; only the final keyring's expiry matters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bundle import dsse
from bundle.errors import ExpiredError, KeyringError, VerificationError
from bundle.timestamps import format_time, parse_time

SCHEMA = "outpost.dev/keyring/v1"
ROLES = ("root", "bundle", "license", "hub")
REQUIRED_ROLES = ("root", "bundle")
# python-tuf's default bound on root rotations per update: a chain longer than this is refused.
MAX_ROTATIONS = 256


@dataclass(frozen=True)
class Role:
    keyids: tuple[str, ...]
    threshold: int


@dataclass(frozen=True)
class Keyring:
    version: int
    expires: datetime
    keys: Mapping[str, Ed25519PublicKey]
    roles: Mapping[str, Role]
    comments: Mapping[str, str] = field(default_factory=dict)
    # sha256 (hex) of the signed payload this keyring was parsed from; "" when built in memory.
    # Two keyrings with one version number but different digests mean a root key compromise.
    digest: str = field(default="", compare=False)

    def role(self, name: str) -> Role:
        """The role `name`; KeyringError when this keyring has none."""
        if name not in self.roles:
            raise KeyringError(f"role check failed: keyring v{self.version} has no '{name}' role")
        return self.roles[name]

    def role_keys(self, name: str) -> dict[str, Ed25519PublicKey]:
        """The public keys of role `name`, by key id."""
        return {kid: self.keys[kid] for kid in self.role(name).keyids}

    def to_payload(self) -> bytes:
        """The keyring as the JSON payload that root keys sign."""
        keys = {
            kid: {
                "alg": "ed25519",
                "public": base64.b64encode(dsse.raw_public(pub)).decode(),
                "comment": self.comments.get(kid, ""),
            }
            for kid, pub in sorted(self.keys.items())
        }
        roles = {
            name: {"keyids": list(role.keyids), "threshold": role.threshold}
            for name, role in self.roles.items()
        }
        doc = {"schema": SCHEMA, "version": self.version, "expires": format_time(self.expires)}
        doc |= {"keys": keys, "roles": roles}
        return json.dumps(doc, indent=1, sort_keys=True).encode() + b"\n"


def from_payload(payload: bytes) -> Keyring:
    """Parse and validate a keyring payload (signatures are checked by the callers)."""
    try:
        doc = json.loads(payload)
        if doc.get("schema") != SCHEMA:
            raise ValueError(f"`schema` must be '{SCHEMA}'")
        version = doc["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError("`version` must be an integer ≥ 1")
        keys, comments = _parse_keys(doc["keys"])
        roles = {name: _parse_role(name, raw, keys) for name, raw in doc["roles"].items()}
        missing = [r for r in REQUIRED_ROLES if r not in roles]
        if missing:
            raise ValueError(f"role(s) {missing} missing")
        expires = parse_time(doc["expires"], "expires")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise KeyringError(f"keyring format check failed: {exc}") from exc
    return Keyring(version, expires, keys, roles, comments, hashlib.sha256(payload).hexdigest())


def _parse_keys(
    raw: Mapping[str, Mapping[str, str]],
) -> tuple[dict[str, Ed25519PublicKey], dict[str, str]]:
    keys: dict[str, Ed25519PublicKey] = {}
    comments: dict[str, str] = {}
    for kid, entry in raw.items():
        if entry.get("alg") != "ed25519":
            raise ValueError(f"key {kid[:12]}…: only 'ed25519' keys are supported")
        try:
            public = Ed25519PublicKey.from_public_bytes(base64.b64decode(entry["public"]))
        except binascii.Error as exc:
            raise ValueError(f"key {kid[:12]}…: bad base64") from exc
        if dsse.key_id(public) != kid:
            raise ValueError(f"key id {kid[:12]}… is not the sha256 of its public key")
        keys[kid] = public
        comments[kid] = str(entry.get("comment", ""))
    return keys, comments


def _parse_role(name: str, raw: Mapping[str, object], keys: Mapping[str, object]) -> Role:
    if name not in ROLES:
        raise ValueError(f"unknown role '{name}' (known: {', '.join(ROLES)})")
    keyids = raw["keyids"]
    threshold = raw["threshold"]
    if not isinstance(keyids, list) or len(set(keyids)) != len(keyids):
        raise ValueError(f"role '{name}': `keyids` must be a list of distinct key ids")
    if any(kid not in keys for kid in keyids):
        raise ValueError(f"role '{name}' names a key that is not in `keys`")
    if not isinstance(threshold, int) or not 1 <= threshold <= len(keyids):
        raise ValueError(f"role '{name}': `threshold` must be between 1 and {len(keyids)}")
    return Role(tuple(str(k) for k in keyids), threshold)


def sign_keyring(keyring: Keyring, signers: Sequence[Ed25519PrivateKey]) -> dsse.Envelope:
    """Sign a keyring with root keys."""
    return dsse.sign(dsse.PAYLOAD_KEYRING, keyring.to_payload(), signers)


def _verify_root_threshold(envelope: dsse.Envelope, signer: Keyring, what: str) -> None:
    role = signer.role("root")
    dsse.verify(envelope, dsse.PAYLOAD_KEYRING, signer.role_keys("root"), role.threshold, what)


def trust_first(envelope_bytes: bytes) -> Keyring:
    """Accept the first keyring of a trust-root file: it must be signed by its own root role."""
    envelope = dsse.parse(envelope_bytes, "trust root keyring")
    keyring = from_payload(envelope.payload)
    _verify_root_threshold(envelope, keyring, f"keyring v{keyring.version} (trust root)")
    return keyring


def rotate(trusted: Keyring, envelope_bytes: bytes) -> Keyring:
    """One rotation step: trusted vN -> vN+1, signed by a root threshold of both."""
    what = f"keyring v{trusted.version + 1}"
    envelope = dsse.parse(envelope_bytes, what)
    _verify_root_threshold(envelope, trusted, f"{what} (by the root keys of v{trusted.version})")
    new = from_payload(envelope.payload)
    if new.version != trusted.version + 1:
        raise KeyringError(
            f"keyring version check failed: after v{trusted.version} comes v{trusted.version + 1},"
            f" got v{new.version}"
        )
    _verify_root_threshold(envelope, new, f"{what} (by its own root keys)")
    return new


def walk(
    trusted: Keyring, chain: Sequence[bytes], now: datetime, trusted_payload: bytes | None = None
) -> Keyring:
    """Walk `chain` (ascending envelopes) from `trusted`; return the final keyring, unexpired.

    Entries at or below the trusted version are skipped, except that the entry at exactly the
    trusted version must carry the same payload when `trusted_payload` is given (two different
    keyrings with one version number mean a root key compromise or a mistake).
    """
    current = trusted
    steps = 0
    for data in chain:
        version = _peek_version(data)
        if version <= current.version and steps == 0:
            _same_as_trusted(data, version, trusted, trusted_payload)
            continue
        steps += 1
        if steps > MAX_ROTATIONS:
            raise KeyringError(f"keyring chain check failed: more than {MAX_ROTATIONS} rotations")
        current = rotate(current, data)
    check_expiry(current, now)
    return current


def _peek_version(data: bytes) -> int:
    # Unverified: only used to decide whether an entry is older than the trusted keyring.
    payload = dsse.parse(data, "keyring").payload
    try:
        version = json.loads(payload)["version"]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise KeyringError(f"keyring format check failed: no version ({exc})") from exc
    if not isinstance(version, int):
        raise KeyringError("keyring format check failed: `version` must be an integer")
    return version


def _same_as_trusted(data: bytes, version: int, trusted: Keyring, payload: bytes | None) -> None:
    same_version = version == trusted.version and payload is not None
    if same_version and dsse.parse(data, "keyring").payload != payload:
        raise KeyringError(
            f"keyring chain check failed: keyring v{version} in the bundle differs from the"
            f" trusted keyring v{version}"
        )


def check_expiry(keyring: Keyring, now: datetime) -> None:
    """Refuse a keyring that has expired at `now`."""
    if now >= keyring.expires:
        raise ExpiredError(
            f"expiry check failed: keyring v{keyring.version} expired at"
            f" {format_time(keyring.expires)} (clock: {format_time(now)}); ask the vendor for a"
            " newer keyring"
        )


def load_trust_root(chain: Sequence[bytes]) -> tuple[Keyring, bytes]:
    """Verify a trust-root file's chain (no expiry check yet); return keyring and its payload."""
    if not chain:
        raise VerificationError("trust root check failed: the trust root file holds no keyring")
    keyring = trust_first(chain[0])
    for data in chain[1:]:
        keyring = rotate(keyring, data)
    return keyring, dsse.parse(chain[-1], "keyring").payload


def decode_chain(data: bytes, what: str = "keyring file") -> list[bytes]:
    """Split a keyring file (a JSON list of envelopes, or one envelope) into envelope bytes."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise KeyringError(f"keyring file check failed: {what} is not JSON ({exc})") from exc
    items = doc if isinstance(doc, list) else [doc]
    if not all(isinstance(item, dict) for item in items):
        raise KeyringError(f"keyring file check failed: {what} must hold DSSE envelopes")
    return [json.dumps(item).encode() for item in items]


def encode_chain(envelopes: Sequence[dsse.Envelope]) -> bytes:
    """A keyring chain as the JSON file a bundle carries."""
    return json.dumps([e.to_dict() for e in envelopes], indent=1).encode() + b"\n"
