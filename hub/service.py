"""The hub's request logic: enroll, ingest, rotate, upload, read — independent of HTTP.

I/O through the `HubStore` only; the verification rules are in `hub.checks`. Every refusal
is a `Rejection` rendered as JSON, raised before anything is written. Acks are signed with the
hub key; an exact duplicate gets back the very ack stored the first time (200, stored once).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bundle import dsse
from hub import access, checks, fleet, ledger
from hub.errors import HubError, Rejection
from hub.sqlstore import SqlStore
from hub.store import AgentRecord, HubStore, StoredReport, TokenRecord
from hub.usage_store import UsageLedger
from wire import protocol
from wire.ack import Ack, sign_ack
from wire.errors import ProtocolError

ROTATION_GRACE = timedelta(days=1)
TOKEN_TTL = timedelta(days=7)
# An upload is verified in bounded work: at most this many lines (each at most 2 signatures).
MAX_UPLOAD_LINES = 2000


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


def token_sha256(token: str) -> str:
    """The sha256 of an enrollment token, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def json_reply(status: int, doc: object) -> Reply:
    """A JSON reply."""
    return Reply(status, json.dumps(doc, separators=(",", ":")).encode())


def answer(action: Callable[[], Reply]) -> Reply:
    """Run `action`; a rejection becomes its error reply."""
    try:
        return action()
    except Rejection as exc:
        return json_reply(exc.status, exc.to_dict())


class Hub:
    def __init__(
        self, store: HubStore, key: Ed25519PrivateKey, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.store = store
        self.key = key
        self.clock = clock
        self.usage = UsageLedger(store) if isinstance(store, SqlStore) else None
        self.counts: Counter[tuple[str, str]] = Counter()
        """(what, outcome) → count since start: reports ingested/rejected by reason, records."""

    def create_token(
        self, ttl: timedelta = TOKEN_TTL, customer: str = "", display_name: str = ""
    ) -> str:
        """A fresh one-time enrollment token for an install of `customer`, to be shown as
        `display_name` on the fleet page; only its sha256 is stored."""
        token = "ept_" + secrets.token_urlsafe(32)
        now = self.clock()
        record = TokenRecord(token_sha256(token), now, now + ttl, None, customer, display_name)
        self.store.add_token(record)
        return token

    def known_agent(self, agent_id: str) -> AgentRecord:
        """The enrolled install; 404 when unknown."""
        agent = self.store.agent(agent_id)
        if agent is None:
            raise Rejection(404, "unknown_agent", f"agent '{agent_id}' is not enrolled")
        return agent

    def enroll(
        self, token: str | None, body: bytes, max_age: timedelta = checks.MAX_AGE_LIVE
    ) -> Reply:
        """Enroll an agent with a one-time token."""
        return answer(lambda: self.enroll_or_reject(token, body, max_age))

    def enroll_or_reject(self, token: str | None, body: bytes, max_age: timedelta) -> Reply:
        """Enroll, or raise a rejection."""
        now = self.clock()
        claim = checks.check_enrollment(body, now, max_age)
        existing = self.store.agent(claim.agent_id)
        if existing is not None:
            if existing.public_key != protocol.public_key_b64(claim.public_key):
                raise Rejection(409, "already_enrolled", "this agent id was enrolled and rotated")
            return Reply(200, existing.enroll_ack)
        granted = self.usable_token(token, now)
        payload = protocol.parse_envelope(body, "enrollment").payload
        ack = sign_ack(
            Ack("enroll", claim.agent_id, 0, protocol.sha256_hex(payload), now), self.key
        )
        record = AgentRecord(
            claim.agent_id, claim.cluster_uid, protocol.public_key_b64(claim.public_key), now, ack,
            customer=granted.customer, display_name=granted.display_name,
        )  # fmt: skip
        if not self.store.enroll(granted.sha256, record):
            raise Rejection(409, "token_used", "the enrollment token has already been used")
        return Reply(201, ack)

    def usable_token(self, token: str | None, now: datetime) -> TokenRecord:
        """The token's record if it may still be used; 401 otherwise."""
        if not token:
            raise Rejection(
                401, "token_missing", "enrollment needs 'Authorization: Bearer <token>'"
            )
        sha = token_sha256(token)
        record = self.store.token(sha)
        if record is None:
            raise Rejection(401, "token_invalid", "the enrollment token is not known to this hub")
        if record.used_by is not None:
            raise Rejection(409, "token_used", "the enrollment token has already been used")
        if record.expires_at <= now:
            raise Rejection(
                403, "token_expired", "the enrollment token has expired; ask for a new one"
            )
        return record

    def ingest(self, agent_id: str, body: bytes, max_age: timedelta = checks.MAX_AGE_LIVE) -> Reply:
        """Verify and store one report; the reply carries the signed ack."""
        reply = answer(lambda: self.ingest_or_reject(agent_id, body, max_age))
        outcome = {200: "duplicate", 202: "ingested"}.get(reply.status)
        if outcome is None:
            error = json.loads(reply.body).get("error")
            outcome = "rejected:" + str(error.get("code") if isinstance(error, dict) else error)
        self.counts[("report", outcome)] += 1
        return reply

    def book_usage(self, agent: AgentRecord, doc: dict[str, object]) -> None:
        """Enter a verified report's usage records in the ledger (idempotent: safe to repeat)."""
        if self.usage is None:
            return
        now = self.clock()
        sorted_ = ledger.admit(doc, agent.cluster_uid, now)
        for _, reason in sorted_.refused:
            self.counts[("usage", "refused:" + reason)] += 1
        for record in sorted_.admitted:
            self.counts[("usage", self.usage.put(agent.agent_id, record, now))] += 1

    def ingest_or_reject(self, agent_id: str, body: bytes, max_age: timedelta) -> Reply:
        """Verify and store one report, or raise a rejection."""
        now = self.clock()
        agent = self.known_agent(agent_id)
        header, payload, doc = checks.verify_report(body, agent, now)
        if header.seq <= agent.last_seq:
            # Only then can it be an exact duplicate (it would have advanced `last_seq`).
            stored_ack = self.store.ack_for(agent_id, protocol.sha256_hex(payload))
            if stored_ack is not None:
                self.book_usage(agent, doc)  # in case the first attempt stopped half way
                return Reply(200, stored_ack)
        checked = checks.check_fresh(header, payload, agent, now, max_age)
        ack = Ack("report", agent_id, header.seq, checked.payload_sha256, now, checked.chain_gap)
        signed = sign_ack(ack, self.key)
        report = StoredReport(
            agent_id, header.seq, header.nonce, checked.payload_sha256, header.issued_at,
            now, checked.chain_gap, body, payload, signed, fleet.digest_text(doc),
        )  # fmt: skip
        if not self.store.add_report(report):
            # The store's unique (agent, nonce) and seq compare-and-set decide atomically.
            raise Rejection(409, "replay", "a report with this `seq` or nonce is already stored")
        self.book_usage(agent, doc)
        return Reply(202, signed)

    def rotate(self, agent_id: str, body: bytes) -> Reply:
        """Rotate an install's key."""
        return answer(lambda: self.rotate_or_reject(agent_id, body))

    def rotate_or_reject(self, agent_id: str, body: bytes) -> Reply:
        """Rotate an install's key, or raise a rejection."""
        now = self.clock()
        agent = self.known_agent(agent_id)
        rotation = checks.check_rotation(body, agent, now)
        new_key = protocol.public_key_b64(rotation.new_public_key)
        self.store.rotate_key(agent_id, new_key, now + ROTATION_GRACE)
        payload = protocol.parse_envelope(body, "key rotation").payload
        ack = Ack("rotation", agent_id, agent.last_seq, protocol.sha256_hex(payload), now)
        return Reply(200, sign_ack(ack, self.key))

    def issue_enrollment(self, body: bytes) -> Reply:
        """`POST /v1/enrollment-tokens` (admin): a one-time enrollment token, shown once."""
        try:
            doc = protocol.decode_object(body or b"{}", "token request")
        except ProtocolError as exc:
            return json_reply(400, Rejection(400, "malformed", str(exc)).to_dict())
        hours = doc.get("ttl_hours", TOKEN_TTL.total_seconds() // 3600)
        if isinstance(hours, bool) or not isinstance(hours, int | float) or not 1 <= hours <= 2160:
            return json_reply(
                400, Rejection(400, "malformed", "`ttl_hours` must be 1..2160").to_dict()
            )
        names = {k: doc.get(k, "") for k in ("customer", "name")}
        if not all(isinstance(v, str) and len(v) <= 200 for v in names.values()):
            return json_reply(
                400, Rejection(400, "malformed", "`customer`, `name`: text up to 200").to_dict()
            )
        token = self.create_token(
            timedelta(hours=hours), str(names["customer"]), str(names["name"])
        )
        return json_reply(201, {"token": token, "ttl_hours": hours, **names})

    def revoke_access(self, name: str) -> Reply:
        """`POST /v1/access-tokens/{name}/revoke` (admin)."""
        try:
            access.revoke(self.store, name, self.clock())
        except HubError as exc:
            return json_reply(404, Rejection(404, "unknown_token", str(exc)).to_dict())
        return json_reply(200, {"revoked": name})

    def upload(self, body: bytes, token: str | None) -> Reply:
        """A hand-carried export: JSON lines of envelopes, each handled as if sent live."""
        lines = body.splitlines()
        if sum(1 for line in lines if line.strip()) > MAX_UPLOAD_LINES:
            message = f"an upload holds at most {MAX_UPLOAD_LINES} lines; split the file"
            return json_reply(413, Rejection(413, "too_many_lines", message).to_dict())
        results = []
        for number, line in enumerate(lines, start=1):
            if line.strip():
                reply = self.upload_line(line.strip(), token)
                results.append({"line": number, "status": reply.status, **outcome_of(reply)})
        if not results:
            return json_reply(400, Rejection(400, "empty", "the upload has no lines").to_dict())
        accepted = sum(r["status"] in (201, 202) for r in results)
        duplicates = sum(r["status"] == 200 for r in results)
        summary = {"accepted": accepted, "duplicates": duplicates}
        summary["rejected"] = len(results) - accepted - duplicates
        return json_reply(200, {"results": results, **summary})

    def upload_line(self, line: bytes, token: str | None) -> Reply:
        """One line of an upload: an enrollment or a report."""
        try:
            envelope = checks.envelope_of(line, "upload line")
        except Rejection as exc:
            return json_reply(exc.status, exc.to_dict())
        if envelope.payload_type == dsse.PAYLOAD_ENROLL:
            return self.enroll(token, line, checks.MAX_AGE_UPLOAD)
        # Only routing: the named agent's key must still verify the signature.
        try:
            named = protocol.decode_object(envelope.payload, "upload line").get("agent_id")
        except ProtocolError as exc:
            return json_reply(400, Rejection(400, "malformed", str(exc)).to_dict())
        if envelope.payload_type == dsse.PAYLOAD_KEY_ROTATION:
            return self.rotate(str(named), line)
        return self.ingest(str(named), line, checks.MAX_AGE_UPLOAD)


def outcome_of(reply: Reply) -> dict[str, object]:
    """The ack or the error of one upload line."""
    doc = json.loads(reply.body)
    return {"error": doc["error"]} if "error" in doc else {"ack": doc}
