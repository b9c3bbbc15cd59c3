"""The hub's verification rules for reports, enrollments and key rotations.

Pure: envelope bytes, the stored agent record and `now` in; verified documents out, or a
`Rejection` carrying the HTTP status and a stable error code. The store is consulted by the
caller (`hub.service`), which applies these checks before writing anything.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bundle import dsse
from hub.errors import Rejection
from hub.store import AgentRecord
from wire import enrollment, protocol
from wire.errors import ProtocolError

MAX_SKEW = timedelta(minutes=5)
MAX_AGE_LIVE = timedelta(days=7)
# Hand-carried reports from air-gapped sites arrive late by design.
MAX_AGE_UPLOAD = timedelta(days=400)
# A rotation carries two signatures (old and new key); more is only work for the verifier.
MAX_SIGNATURES = 2
# Usage a single cluster can sanely report; larger values are refused before they are stored.
USAGE_LIMITS = {"pods": 10**7, "cpu_millicores": 10**12, "memory_bytes": 2**62}


@dataclass(frozen=True)
class CheckedReport:
    header: protocol.ReportHeader
    payload: bytes
    payload_sha256: str
    chain_gap: bool


def envelope_of(body: bytes, what: str) -> dsse.Envelope:
    """A DSSE envelope of bounded depth and at most `MAX_SIGNATURES` signatures."""
    try:
        protocol.check_depth(body, what)
        envelope = protocol.parse_envelope(body, what)
    except ProtocolError as exc:
        raise Rejection(400, "malformed", str(exc)) from exc
    if len(envelope.signatures) > MAX_SIGNATURES:
        raise Rejection(400, "malformed", f"{what}: more than {MAX_SIGNATURES} signatures")
    return envelope


def check_usage(doc: Mapping[str, object]) -> None:
    """Usage counts (the summary's and each tenant's) are integers in their sane range."""
    tenants = doc.get("tenants")
    listed = tenants if isinstance(tenants, list) else []
    entries = [protocol.dig(doc, "summary", "usage")]
    entries += [t.get("usage") for t in listed if isinstance(t, Mapping)]
    for usage in entries:
        for name, limit in USAGE_LIMITS.items():
            value = usage.get(name, 0) if isinstance(usage, Mapping) else 0
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
                raise Rejection(422, "out_of_range", f"usage `{name}` must be 0..{limit}")


def check_window(issued_at: datetime, now: datetime, max_age: timedelta, what: str) -> None:
    """Refuse a document issued in the future (beyond the skew) or older than `max_age`."""
    if issued_at > now + MAX_SKEW:
        raise Rejection(422, "clock_skew", f"{what}: `issued_at` is in the future; check the clock")
    if issued_at < now - max_age:
        raise Rejection(422, "too_old", f"{what}: `issued_at` is older than {max_age.days} days")


def agent_keys(agent: AgentRecord, now: datetime) -> dict[str, Ed25519PublicKey]:
    """The agent's current key, plus the previous one during a rotation's grace period."""
    keys = dict(stored_keyring(agent.public_key))
    if agent.previous_key and agent.previous_until and now < agent.previous_until:
        keys.update(stored_keyring(agent.previous_key))
    return keys


@functools.lru_cache(maxsize=4096)
def stored_keyring(text: str) -> Mapping[str, Ed25519PublicKey]:
    """Parsed once per key: every report of an agent is checked against the same key."""
    return MappingProxyType(protocol.keyring(protocol.public_key_from_b64(text, "stored key")))


def verify_report(
    body: bytes, agent: AgentRecord, now: datetime
) -> tuple[protocol.ReportHeader, bytes, dict[str, object]]:
    """Signature by the agent's key, a well-formed header, bound to the enrolled agent/cluster."""
    envelope = envelope_of(body, "status report")
    if envelope.payload_type != dsse.PAYLOAD_STATUS:
        raise Rejection(415, "wrong_type", f"payload type '{envelope.payload_type}' is not status")
    keys = agent_keys(agent, now)
    try:
        payload = protocol.verify_envelope(envelope, dsse.PAYLOAD_STATUS, keys, 1, "status report")
    except ProtocolError as exc:
        raise Rejection(401, "signature_invalid", str(exc)) from exc
    try:
        doc = protocol.decode_object(payload, "status report")
        header = protocol.ReportHeader.from_dict(doc)
    except ProtocolError as exc:
        raise Rejection(400, "malformed", str(exc)) from exc
    check_usage(doc)
    if header.agent_id != agent.agent_id or header.cluster_uid != agent.cluster_uid:
        raise Rejection(403, "binding_mismatch", "report names another agent or cluster")
    return header, payload, doc


def check_fresh(
    header: protocol.ReportHeader,
    payload: bytes,
    agent: AgentRecord,
    now: datetime,
    max_age: timedelta = MAX_AGE_LIVE,
) -> CheckedReport:
    """Time window and strictly increasing `seq`; a broken chain is flagged, not refused."""
    check_window(header.issued_at, now, max_age, "status report")
    if header.seq <= agent.last_seq:
        raise Rejection(409, "replay", f"`seq` {header.seq} is not above {agent.last_seq}")
    gap = header.seq != agent.last_seq + 1 or header.previous_sha256 != agent.last_sha256
    return CheckedReport(header, payload, protocol.sha256_hex(payload), gap)


def check_enrollment(body: bytes, now: datetime, max_age: timedelta) -> enrollment.EnrollClaim:
    """A verified enrollment claim: proof of possession of the key it names."""
    envelope = envelope_of(body, "enrollment")
    if envelope.payload_type != dsse.PAYLOAD_ENROLL:
        raise Rejection(415, "wrong_type", f"payload type '{envelope.payload_type}' is not enroll")
    try:
        enrollment.EnrollClaim.from_dict(protocol.decode_object(envelope.payload, "enrollment"))
    except ProtocolError as exc:
        raise Rejection(400, "malformed", str(exc)) from exc
    try:
        claim = enrollment.open_enrollment(envelope)
    except ProtocolError as exc:
        raise Rejection(401, "signature_invalid", str(exc)) from exc
    check_window(claim.issued_at, now, max_age, "enrollment")
    return claim


def check_rotation(body: bytes, agent: AgentRecord, now: datetime) -> enrollment.KeyRotation:
    """Authorized by the current key, or by the previous one during its grace period, so an
    agent that never saw the ack of its last rotation can rotate again from the key it kept."""
    envelope = envelope_of(body, "key rotation")
    try:
        rotation = enrollment.open_rotation(envelope, agent_keys(agent, now))
    except ProtocolError as exc:
        raise Rejection(401, "signature_invalid", str(exc)) from exc
    if rotation.agent_id != agent.agent_id:
        raise Rejection(403, "binding_mismatch", "rotation names another agent")
    check_window(rotation.issued_at, now, MAX_AGE_LIVE, "key rotation")
    return rotation
