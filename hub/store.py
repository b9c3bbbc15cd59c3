"""What the hub keeps, and the small interface every hub store implements.

Records are plain frozen dataclasses. `HubStore` is the seam: `hub.sqlite` (embedded
default) and `hub.postgres` implement it; `hub.startup.open_store` picks one by URL.
Writes that guard replay are atomic inside the store: `add_report` advances `last_seq` only when
the new `seq` is higher (compare-and-set) and relies on unique (agent, nonce) and (agent, payload
hash) constraints, so two racing requests cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class TokenRecord:
    sha256: str
    created_at: datetime
    expires_at: datetime
    used_by: str | None = None
    customer: str = ""
    display_name: str = ""


@dataclass(frozen=True)
class AccessRecord:
    """A reader of the API and the fleet page: `viewer` reads, `admin` also manages tokens."""

    name: str
    sha256: str
    role: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class AgentRecord:
    agent_id: str
    cluster_uid: str
    public_key: str  # base64 raw Ed25519
    enrolled_at: datetime
    enroll_ack: bytes
    last_seq: int = 0
    last_sha256: str = "0" * 64
    last_seen: datetime | None = None
    previous_key: str | None = None
    previous_until: datetime | None = None
    customer: str = ""
    display_name: str = ""
    chain_gaps: int = 0
    digest: str | None = None  # JSON digest of the latest report (`hub.fleet.digest`)


@dataclass(frozen=True)
class StoredReport:
    agent_id: str
    seq: int
    nonce: str
    payload_sha256: str
    issued_at: datetime
    received_at: datetime
    chain_gap: bool
    envelope: bytes
    payload: bytes
    ack: bytes
    digest: str = "{}"  # what the fleet page shows of it, kept on the agent's row


class HubStore(Protocol):
    def add_token(self, token: TokenRecord) -> None:
        """Store a new enrollment token (its hash)."""

    def token(self, sha256: str) -> TokenRecord | None:
        """An enrollment token's record."""

    def enroll(self, token_sha256: str, agent: AgentRecord) -> bool:
        """Use the token and create the agent atomically; False if the token was used meanwhile."""
        ...

    def add_access_token(self, record: AccessRecord) -> bool:
        """False (nothing stored) if a token of that name exists, revoked or not."""
        ...

    def access_token(self, sha256: str) -> AccessRecord | None:
        """An access token's record."""

    def revoke_access_token(self, name: str, when: datetime) -> bool:
        """False if no live token has that name."""
        ...

    def agent(self, agent_id: str) -> AgentRecord | None:
        """One install."""

    def agents(self) -> list[AgentRecord]:
        """Every install."""

    def rotate_key(self, agent_id: str, new_key: str, grace_until: datetime) -> None:
        """Keep the old key for a grace period beside the new one."""

    def ack_for(self, agent_id: str, payload_sha256: str) -> bytes | None:
        """The ack already given for a payload."""

    def add_report(self, report: StoredReport) -> bool:
        """Store and advance `last_seq`; False (nothing stored) if `seq` is not above it."""
        ...

    def reports(self, agent_id: str, limit: int, before_seq: int | None) -> list[StoredReport]:
        """An install's reports, newest first."""

    def latest_reports(self) -> dict[str, StoredReport]:
        """The latest report of each install."""

    def gap_counts(self) -> dict[str, int]:
        """How many stored reports of each agent were flagged with a chain gap."""
        ...

    def prune_reports(self, before: datetime) -> int:
        """Retention: delete raw reports received before `before` except each agent's latest."""
        ...

    def schema_version(self) -> int:
        """The applied schema version; also the readiness probe's round trip to the database."""
        ...

    def close(self) -> None:
        """Close the store."""
