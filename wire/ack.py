"""Hub acknowledgements: the only thing an agent accepts from the hub.

Pure. The hub signs each ack with its key (`hub` keyring role); the agent verifies it against the
hub keys it trusts and checks that it names the very report it sent. An ack only ever lets the
agent drop that report from its spool: nothing in it can change anything in the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bundle import dsse
from wire import protocol
from wire.errors import ProtocolError

AckKind = Literal["enroll", "report", "rotation"]
KINDS: tuple[AckKind, ...] = ("enroll", "report", "rotation")


@dataclass(frozen=True)
class Ack:
    kind: AckKind
    agent_id: str
    seq: int
    payload_sha256: str
    server_time: datetime
    chain_gap: bool = False

    def to_dict(self) -> dict[str, object]:
        """The ack as the JSON document that is signed."""
        return {
            "schema": protocol.SCHEMA_ACK,
            "kind": self.kind,
            "agent_id": self.agent_id,
            "seq": self.seq,
            "payload_sha256": self.payload_sha256,
            "server_time": protocol.format_time(self.server_time),
            "chain_gap": self.chain_gap,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, object]) -> Ack:
        """Parse and check an ack document; ProtocolError when it breaks the schema."""
        what = "hub ack"
        protocol.check_schema(doc, protocol.SCHEMA_ACK, what)
        kind = doc.get("kind")
        if kind not in KINDS:
            raise ProtocolError(f"{what}: unknown kind '{kind}'")
        seq = protocol.field(doc, "seq", int, what)
        assert isinstance(seq, int)
        return cls(
            kind=kind,
            agent_id=str(protocol.field(doc, "agent_id", str, what)),
            seq=seq,
            payload_sha256=str(protocol.field(doc, "payload_sha256", str, what)),
            server_time=protocol.parse_time(doc.get("server_time"), f"{what} `server_time`"),
            chain_gap=bool(protocol.field(doc, "chain_gap", bool, what)),
        )


def sign_ack(ack: Ack, hub_key: Ed25519PrivateKey) -> bytes:
    """Sign an ack with the hub's key, as one envelope line."""
    envelope = dsse.sign(dsse.PAYLOAD_HUB_ACK, protocol.encode(ack.to_dict()), [hub_key])
    return protocol.envelope_line(envelope)


def open_ack(
    data: bytes, trusted: Mapping[str, Ed25519PublicKey], agent_id: str, payload_sha256: str
) -> Ack:
    """Verify an ack and check it acknowledges exactly the document the agent sent."""
    if not trusted:
        raise ProtocolError("hub ack: no trusted hub keys configured; cannot verify")
    envelope = protocol.parse_envelope(data, "hub ack")
    payload = protocol.verify_envelope(envelope, dsse.PAYLOAD_HUB_ACK, trusted, 1, "hub ack")
    ack = Ack.from_dict(protocol.decode_object(payload, "hub ack"))
    if ack.agent_id != agent_id or ack.payload_sha256 != payload_sha256:
        raise ProtocolError("hub ack: acknowledges a different agent or document than was sent")
    return ack
