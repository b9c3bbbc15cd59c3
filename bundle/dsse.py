"""DSSE envelopes signed with Ed25519: the one signing scheme of every Outpost document.

Pure: bytes and keys in, verified payload bytes out, or a `VerificationError` naming the check.
Each document kind has its own payload type, and the type is bound into the signed bytes (PAE),
so a signature made for one kind never verifies as another. Key ids are the sha256 of the raw
public key and are recomputed here; the `keyid` in an envelope is only a hint.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bundle.errors import BundleError, SignatureError, VerificationError

PAYLOAD_KEYRING = "application/vnd.outpost.keyring.v1+json"
PAYLOAD_MANIFEST = "application/vnd.outpost.bundle-manifest.v1+json"
PAYLOAD_DOWNGRADE = "application/vnd.outpost.downgrade-permit.v1+json"
PAYLOAD_STATUS = "application/vnd.outpost.status.v1+json"
PAYLOAD_ENROLL = "application/vnd.outpost.enroll.v1+json"
PAYLOAD_KEY_ROTATION = "application/vnd.outpost.key-rotation.v1+json"
PAYLOAD_HUB_ACK = "application/vnd.outpost.hub-ack.v1+json"
PAYLOAD_LICENSE = "application/vnd.outpost.license.v1+json"

# An envelope larger than this is refused before it is parsed (the manifest is the largest kind).
MAX_ENVELOPE_BYTES = 32 * 1024 * 1024
# Each signature costs a verification per trusted key; a legitimate envelope carries a handful.
MAX_SIGNATURES = 64


def key_id(public_key: Ed25519PublicKey) -> str:
    """The key id: hex sha256 of the 32 raw public-key bytes."""
    return hashlib.sha256(raw_public(public_key)).hexdigest()


def raw_public(public_key: Ed25519PublicKey) -> bytes:
    """The raw 32 bytes of an Ed25519 public key."""
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding: what is actually signed."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True)
class Signature:
    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]

    def to_json(self) -> bytes:
        """The envelope as its JSON file."""
        return json.dumps(self.to_dict(), indent=1).encode() + b"\n"

    def to_dict(self) -> dict[str, object]:
        """The envelope as a JSON-ready dict (payload and signatures base64)."""
        return {
            "payload": base64.b64encode(self.payload).decode(),
            "payloadType": self.payload_type,
            "signatures": [
                {"keyid": s.keyid, "sig": base64.b64encode(s.sig).decode()} for s in self.signatures
            ],
        }


def sign(payload_type: str, payload: bytes, keys: Iterable[Ed25519PrivateKey]) -> Envelope:
    """Sign `payload` as `payload_type` with every key given (one signature per key)."""
    message = pae(payload_type, payload)
    sigs = tuple(Signature(key_id(k.public_key()), k.sign(message)) for k in keys)
    if not sigs:
        raise BundleError("nothing to sign with: give at least one private key")
    return Envelope(payload_type, payload, sigs)


def parse(data: bytes, what: str = "envelope") -> Envelope:
    """Parse an envelope's JSON without trusting anything in it yet."""
    if len(data) > MAX_ENVELOPE_BYTES:
        raise VerificationError(f"{what}: {len(data)} bytes is over the {MAX_ENVELOPE_BYTES} limit")
    try:
        doc = json.loads(data)  # deep nesting raises RecursionError (caught below)
        sigs = tuple(
            Signature(str(s.get("keyid", "")), b64decode(str(s["sig"]))) for s in doc["signatures"]
        )
        envelope = Envelope(str(doc["payloadType"]), b64decode(str(doc["payload"])), sigs)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise VerificationError(f"{what}: not a DSSE envelope ({exc})") from exc
    if len(envelope.signatures) > MAX_SIGNATURES:
        raise VerificationError(f"{what}: more than {MAX_SIGNATURES} signatures")
    return envelope


def b64decode(text: str) -> bytes:
    """DSSE requires accepting both standard and URL-safe base64, padded or not."""
    padded = text + "=" * (-len(text) % 4)
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"bad base64: {exc}") from exc


def verify(
    envelope: Envelope,
    payload_type: str,
    trusted: Mapping[str, Ed25519PublicKey],
    threshold: int,
    what: str = "envelope",
) -> tuple[bytes, tuple[str, ...]]:
    """Check type and a threshold of valid signatures from distinct trusted keys.

    Returns the payload bytes and the ids of the keys whose signatures verified. Each trusted key
    counts once however many signatures name it; ids are recomputed from the keys themselves.
    """
    if threshold < 1:
        raise SignatureError(f"{what}: threshold must be at least 1")
    if envelope.payload_type != payload_type:
        raise SignatureError(
            f"payload type check failed: {what} is '{envelope.payload_type}',"
            f" expected '{payload_type}'"
        )
    message = pae(payload_type, envelope.payload)
    good = _valid_signers(message, envelope.signatures, trusted)
    if len(good) < threshold:
        raise SignatureError(
            f"signature check failed: {what} has {len(good)} valid signature(s) from trusted"
            f" keys, {threshold} required"
        )
    return envelope.payload, tuple(sorted(good))


def _valid_signers(
    message: bytes, signatures: Iterable[Signature], trusted: Mapping[str, Ed25519PublicKey]
) -> set[str]:
    good: set[str] = set()
    for sig in signatures:
        for kid, public in trusted.items():
            if kid in good or key_id(public) != kid:
                continue
            try:
                public.verify(sig.sig, message)
            except InvalidSignature:
                continue
            good.add(kid)
            break
    return good
