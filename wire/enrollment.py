"""Enrollment and key rotation documents: how an agent key becomes known to the hub.

Pure: keys, values and `now` in; signed envelopes or verified documents out (`ProtocolError`
otherwise). The enrollment claim carries no license or tenant data, only what binds a key to a
cluster; it is signed by the key it announces (proof of possession). A rotation carries two
signatures: the current key authorizes, the new key proves possession.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bundle import dsse
from wire import protocol
from wire.errors import ProtocolError


@dataclass(frozen=True)
class EnrollClaim:
    cluster_uid: str
    public_key: Ed25519PublicKey
    nonce: str
    issued_at: datetime

    @property
    def agent_id(self) -> str:
        """The agent id derived from the public key."""
        return protocol.agent_id_for(self.public_key)

    def to_dict(self) -> dict[str, object]:
        """The claim as the JSON document that is signed."""
        return {
            "schema": protocol.SCHEMA_ENROLL,
            "cluster_uid": self.cluster_uid,
            "public_key": protocol.public_key_b64(self.public_key),
            "nonce": self.nonce,
            "issued_at": protocol.format_time(self.issued_at),
        }

    @classmethod
    def from_dict(cls, doc: dict[str, object]) -> EnrollClaim:
        """Parse and check an enrollment claim; ProtocolError when it breaks the schema."""
        what = "enrollment"
        protocol.check_schema(doc, protocol.SCHEMA_ENROLL, what)
        return cls(
            cluster_uid=str(protocol.field(doc, "cluster_uid", str, what)),
            public_key=protocol.public_key_from_b64(doc.get("public_key"), f"{what} `public_key`"),
            nonce=str(protocol.field(doc, "nonce", str, what)),
            issued_at=protocol.parse_time(doc.get("issued_at"), f"{what} `issued_at`"),
        )


def sign_enrollment(
    key: Ed25519PrivateKey, cluster_uid: str, nonce: str, now: datetime
) -> dsse.Envelope:
    """An enrollment claim signed by the agent's new key (proof of possession)."""
    claim = EnrollClaim(cluster_uid, key.public_key(), nonce, now)
    return dsse.sign(dsse.PAYLOAD_ENROLL, protocol.encode(claim.to_dict()), [key])


def open_enrollment(envelope: dsse.Envelope) -> EnrollClaim:
    """Verify that the claim is signed by the very key it announces."""
    if envelope.payload_type != dsse.PAYLOAD_ENROLL:
        raise ProtocolError(f"enrollment: payload type '{envelope.payload_type}' is not enrollment")
    claim = EnrollClaim.from_dict(protocol.decode_object(envelope.payload, "enrollment"))
    keys = protocol.keyring(claim.public_key)
    protocol.verify_envelope(envelope, dsse.PAYLOAD_ENROLL, keys, 1, "enrollment")
    return claim


@dataclass(frozen=True)
class KeyRotation:
    agent_id: str
    new_public_key: Ed25519PublicKey
    nonce: str
    issued_at: datetime

    def to_dict(self) -> dict[str, object]:
        """The rotation as the JSON document that is signed."""
        return {
            "schema": protocol.SCHEMA_ROTATION,
            "agent_id": self.agent_id,
            "new_public_key": protocol.public_key_b64(self.new_public_key),
            "nonce": self.nonce,
            "issued_at": protocol.format_time(self.issued_at),
        }

    @classmethod
    def from_dict(cls, doc: dict[str, object]) -> KeyRotation:
        """Parse and check a key rotation; ProtocolError when it breaks the schema."""
        what = "key rotation"
        protocol.check_schema(doc, protocol.SCHEMA_ROTATION, what)
        return cls(
            agent_id=str(protocol.field(doc, "agent_id", str, what)),
            new_public_key=protocol.public_key_from_b64(
                doc.get("new_public_key"), f"{what} `new_public_key`"
            ),
            nonce=str(protocol.field(doc, "nonce", str, what)),
            issued_at=protocol.parse_time(doc.get("issued_at"), f"{what} `issued_at`"),
        )


def sign_rotation(
    agent_id: str, old: Ed25519PrivateKey, new: Ed25519PrivateKey, nonce: str, now: datetime
) -> dsse.Envelope:
    """A key rotation signed by both the old and the new key."""
    rotation = KeyRotation(agent_id, new.public_key(), nonce, now)
    return dsse.sign(dsse.PAYLOAD_KEY_ROTATION, protocol.encode(rotation.to_dict()), [old, new])


def open_rotation(
    envelope: dsse.Envelope, authorizers: Mapping[str, Ed25519PublicKey]
) -> KeyRotation:
    """Verify both signatures: one of `authorizers` (the agent's known keys) and the new key.

    The new key must not be one of the authorizers: a rotation always moves to a fresh key.
    """
    if envelope.payload_type != dsse.PAYLOAD_KEY_ROTATION:
        raise ProtocolError(f"key rotation: payload type '{envelope.payload_type}' is wrong")
    rotation = KeyRotation.from_dict(protocol.decode_object(envelope.payload, "key rotation"))
    new = protocol.keyring(rotation.new_public_key)
    if set(new) & set(authorizers):
        raise ProtocolError("key rotation: the new key must differ from the agent's known keys")
    protocol.verify_envelope(envelope, dsse.PAYLOAD_KEY_ROTATION, authorizers, 1, "current key")
    protocol.verify_envelope(envelope, dsse.PAYLOAD_KEY_ROTATION, new, 1, "new key")
    return rotation
