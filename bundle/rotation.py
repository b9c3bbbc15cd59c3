"""Making keyrings: the first version and each rotation, signed and checked before release.

Pure: public and private keys, thresholds and `now` in; signed envelopes out. Every new keyring
is verified exactly as a customer would verify it (`keyring.trust_first` / `keyring.rotate`)
before it is returned, so a rotation that lacks the old or the new root threshold is refused
here with the reason, not discovered in the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bundle import dsse
from bundle.errors import BundleError, VerificationError
from bundle.keyring import ROLES, Keyring, Role, rotate, sign_keyring, trust_first


@dataclass(frozen=True)
class RoleSpec:
    """The keys and threshold wanted for one role."""

    keys: tuple[Ed25519PublicKey, ...]
    threshold: int = 1


def make_keyring(version: int, expires: datetime, roles: Mapping[str, RoleSpec]) -> Keyring:
    """A keyring of `version` from role specs (keys, thresholds), in role order."""
    keys: dict[str, Ed25519PublicKey] = {}
    built: dict[str, Role] = {}
    for name in ROLES:
        spec = roles.get(name)
        if spec is None or not spec.keys:
            continue
        ids = tuple(dict.fromkeys(dsse.key_id(k) for k in spec.keys))
        if not 1 <= spec.threshold <= len(ids):
            raise BundleError(
                f"role '{name}': threshold {spec.threshold} must be between 1 and {len(ids)}"
                " (the number of distinct keys given)"
            )
        keys.update({dsse.key_id(k): k for k in spec.keys})
        built[name] = Role(ids, spec.threshold)
    for name in ("root", "bundle"):
        if name not in built:
            raise BundleError(f"a keyring needs at least one '{name}' key")
    return Keyring(version, expires, keys, built, {})


def next_keyring(
    old: Keyring, expires: datetime, changes: Mapping[str, RoleSpec | None]
) -> Keyring:
    """Version N+1: roles named in `changes` replaced, the others carried over."""
    roles: dict[str, RoleSpec] = {}
    for name, role in old.roles.items():
        roles[name] = RoleSpec(tuple(old.keys[k] for k in role.keyids), role.threshold)
    for name, spec in changes.items():
        if spec is not None:
            roles[name] = spec
    return make_keyring(old.version + 1, expires, roles)


def sign_first(keyring: Keyring, signers: Sequence[Ed25519PrivateKey]) -> dsse.Envelope:
    """Sign keyring v1 (or any trust anchor) and check it meets its own root threshold."""
    envelope = sign_keyring(keyring, signers)
    try:
        trust_first(envelope.to_json())
    except VerificationError as exc:
        raise BundleError(f"cannot sign keyring v{keyring.version}: {exc}") from exc
    return envelope


def sign_rotation(
    old: Keyring, new: Keyring, signers: Sequence[Ed25519PrivateKey]
) -> dsse.Envelope:
    """Sign vN+1; it must meet the root threshold of vN and of vN+1."""
    envelope = sign_keyring(new, signers)
    try:
        rotate(old, envelope.to_json())
    except VerificationError as exc:
        raise BundleError(
            f"cannot rotate to keyring v{new.version}: {exc}; sign with a threshold of the old"
            " root keys and of the new ones"
        ) from exc
    return envelope
