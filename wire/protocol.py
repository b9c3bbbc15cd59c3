"""The status-sync wire protocol: the one definition of what agent and hub exchange.

Pure: bytes, keys and values in; typed documents out, or `ProtocolError`. No I/O, no clock
(callers pass `now`), no HTTP. Every document travels as a DSSE envelope (`bundle.dsse`) whose
payload is compact JSON with a `schema` field; the payload type is bound into the signature, so an
enrollment never verifies as a report or an acknowledgement.

    enroll      agent key signs {cluster_uid, public_key, nonce, issued_at}   (proof of possession)
    status      agent key signs the report (see `agent.sync.report`)
    rotation    old key + new key sign {agent_id, new_public_key, nonce, issued_at}
    ack         hub key signs {kind, agent_id, seq, payload_sha256, server_time, chain_gap}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bundle import dsse
from bundle.errors import BundleError
from facts import rfc3339
from wire.errors import ProtocolError

SCHEMA_STATUS = "outpost.dev/status/v1"
SCHEMA_ENROLL = "outpost.dev/enroll/v1"
SCHEMA_ROTATION = "outpost.dev/key-rotation/v1"
SCHEMA_ACK = "outpost.dev/hub-ack/v1"

# The agent keeps each report payload under this; the hub refuses bodies over MAX_BODY_BYTES.
MAX_REPORT_BYTES = 256 * 1024
MAX_BODY_BYTES = 1024 * 1024
# Every integer in a document fits a signed 64-bit column (`seq` and usage are stored as BIGINT).
MAX_INT = 2**63 - 1
# Reports nest four levels deep; anything past this is refused before it is walked.
MAX_JSON_DEPTH = 32

_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def encode(doc: Mapping[str, object]) -> bytes:
    """Compact, key-sorted JSON: the exact bytes that get signed."""
    return json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def envelope_line(envelope: dsse.Envelope) -> bytes:
    """An envelope as compact one-line JSON (the C encoder; `Envelope.to_json` indents)."""
    return encode(
        {
            "payload": base64.b64encode(envelope.payload).decode(),
            "payloadType": envelope.payload_type,
            "signatures": [
                {"keyid": s.keyid, "sig": base64.b64encode(s.sig).decode()}
                for s in envelope.signatures
            ],
        }
    )


def json_depth(data: bytes) -> int:
    """How deeply `data` nests arrays and objects, counted without parsing (strings skipped)."""
    brackets = _STRINGS.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def check_depth(data: bytes, what: str) -> None:
    """Refuse JSON nested deeper than the protocol allows."""
    if json_depth(data) > MAX_JSON_DEPTH:
        raise ProtocolError(f"{what}: JSON nests deeper than {MAX_JSON_DEPTH} levels")


def _bounded_int(text: str) -> int:
    value = int(text) if len(text) <= 20 else MAX_INT + 1
    if not -MAX_INT - 1 <= value <= MAX_INT:
        raise ProtocolError(f"integer {text[:24]} is outside the signed 64-bit range")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ProtocolError(f"number {text[:24]} is not finite")
    return value


def _no_constant(name: str) -> object:
    raise ProtocolError(f"{name} is not JSON")


def decode_object(data: bytes, what: str) -> dict[str, object]:
    """A JSON object from bytes; ProtocolError for anything else (including too deep nesting)."""
    """A JSON object with bounded nesting, 64-bit integers and finite numbers only."""
    check_depth(data, what)
    try:
        doc = json.loads(
            data, parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_no_constant
        )
    except ProtocolError as exc:
        raise ProtocolError(f"{what}: {exc}") from exc
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ProtocolError(f"{what}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise ProtocolError(f"{what}: expected a JSON object")
    return doc


def format_time(moment: datetime) -> str:
    """A report time: RFC 3339 UTC with microseconds."""
    return rfc3339.format_time(moment, fraction=True)


def parse_time(text: object, what: str) -> datetime:
    """A report time; a string without a zone or not RFC 3339 breaks the protocol."""
    if not isinstance(text, str):
        raise ProtocolError(f"{what}: expected an RFC 3339 time string")
    moment = rfc3339.parse_time(text)
    if moment is None:
        raise ProtocolError(f"{what}: '{text}' is not an RFC 3339 time")
    if not re.search(r"(Z|[+-]\d\d:?\d\d)$", text):  # a zone is required, not assumed
        raise ProtocolError(f"{what}: '{text}' has no time zone")
    return moment


def sha256_hex(data: bytes) -> str:
    """The sha256 of `data` as lowercase hex."""
    return hashlib.sha256(data).hexdigest()


def agent_id_for(public_key: Ed25519PublicKey) -> str:
    """Agent ids derive from the enrollment key, so an agent knows its id before the hub answers."""
    return "agt_" + dsse.key_id(public_key)[:32]


def public_key_from_b64(text: object, what: str) -> Ed25519PublicKey:
    """An Ed25519 public key from base64 of its raw 32 bytes."""
    try:
        raw = base64.b64decode(str(text), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError(f"{what}: not a base64 Ed25519 public key") from exc


def public_key_b64(public_key: Ed25519PublicKey) -> str:
    """The raw public key as base64."""
    return base64.b64encode(dsse.raw_public(public_key)).decode()


def field(doc: Mapping[str, object], name: str, kind: type, what: str) -> object:
    """Read a required field of a given JSON type (bool is not accepted as int)."""
    value = doc.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProtocolError(f"{what}: field `{name}` must be a {kind.__name__}")
    return value


def parse_envelope(data: bytes, what: str) -> dsse.Envelope:
    """A DSSE envelope; ProtocolError when it does not parse."""
    try:
        return dsse.parse(data, what)
    except BundleError as exc:
        raise ProtocolError(str(exc)) from exc


def verify_envelope(
    envelope: dsse.Envelope,
    payload_type: str,
    keys: Mapping[str, Ed25519PublicKey],
    threshold: int,
    what: str,
) -> bytes:
    """The envelope's payload once `threshold` of `keys` signed it; ProtocolError otherwise."""
    try:
        payload, _ = dsse.verify(envelope, payload_type, keys, threshold, what)
    except BundleError as exc:
        raise ProtocolError(str(exc)) from exc
    return payload


def check_schema(doc: Mapping[str, object], schema: str, what: str) -> None:
    """Refuse a document whose `schema` is not `schema`."""
    if doc.get("schema") != schema:
        raise ProtocolError(f"{what}: schema is '{doc.get('schema')}', expected '{schema}'")


def keyring(*keys: Ed25519PublicKey) -> dict[str, Ed25519PublicKey]:
    """Keys by key id, as the verifier looks them up."""
    return {dsse.key_id(key): key for key in keys}


@dataclass(frozen=True)
class ReportHeader:
    """The fields of a status report the hub checks; the rest is stored as signed."""

    agent_id: str
    cluster_uid: str
    seq: int
    issued_at: datetime
    nonce: str
    previous_sha256: str

    @classmethod
    def from_dict(cls, doc: Mapping[str, object]) -> ReportHeader:
        """Parse and check a report's header fields; ProtocolError when they break the schema."""
        what = "status report"
        check_schema(doc, SCHEMA_STATUS, what)
        seq = field(doc, "seq", int, what)
        assert isinstance(seq, int)
        if not 1 <= seq <= MAX_INT:
            raise ProtocolError(f"{what}: field `seq` must be between 1 and 2^63-1")
        return cls(
            agent_id=str(field(doc, "agent_id", str, what)),
            cluster_uid=str(field(doc, "cluster_uid", str, what)),
            seq=seq,
            issued_at=parse_time(doc.get("issued_at"), f"{what} `issued_at`"),
            nonce=str(field(doc, "nonce", str, what)),
            previous_sha256=str(field(doc, "previous_sha256", str, what)),
        )


def open_report(
    envelope: dsse.Envelope, keys: Mapping[str, Ed25519PublicKey]
) -> tuple[ReportHeader, bytes]:
    """Verify a status envelope against an agent's keys; return its header and payload bytes."""
    payload = verify_envelope(envelope, dsse.PAYLOAD_STATUS, keys, 1, "status report")
    return ReportHeader.from_dict(decode_object(payload, "status report")), payload


def dig(obj: Mapping[str, object], *path: str) -> object:
    """Walk nested mappings; None as soon as a step is missing or not a mapping."""
    node: object = obj
    for step in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(step)
    return node
