"""The agent's sync bookkeeping and the store interfaces it is kept behind.

`SyncState` is pure data (to_dict/from_dict for the Secret it lives in). `KeyStore`,
`StateStore` and `SpoolStore` are the I/O seams: `agent.sync.cluster` implements them over the
Kubernetes API (Secret `outpost-agent-identity`, ConfigMap `outpost-agent-spool`); the `Memory*`
classes here are the in-process implementations used by tests and previews.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.sync.outbox import Entry
from wire import protocol
from wire.keys import key_from_pem, key_to_pem, new_key

__all__ = ["key_from_pem", "key_to_pem", "new_key"]

GENESIS_SHA256 = "0" * 64


@dataclass(frozen=True)
class SyncState:
    """What must survive restarts: the chain position and the counters owed to the hub."""

    agent_id: str
    seq: int = 0
    last_sha256: str = GENESIS_SHA256
    last_issued_at: datetime | None = None
    dropped: int = 0
    dropped_total: int = 0
    rejected: int = 0
    rejected_total: int = 0
    enrolled: bool = False

    def count_dropped(self, count: int) -> SyncState:
        return replace(self, dropped=self.dropped + count, dropped_total=self.dropped_total + count)

    def count_rejected(self, count: int) -> SyncState:
        total = self.rejected_total + count
        return replace(self, rejected=self.rejected + count, rejected_total=total)

    def to_dict(self) -> dict[str, object]:
        issued = self.last_issued_at
        return {
            "agentId": self.agent_id,
            "seq": self.seq,
            "lastSha256": self.last_sha256,
            "lastIssuedAt": protocol.format_time(issued) if issued else None,
            "dropped": self.dropped,
            "droppedTotal": self.dropped_total,
            "rejected": self.rejected,
            "rejectedTotal": self.rejected_total,
            "enrolled": self.enrolled,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, object]) -> SyncState:
        issued = doc.get("lastIssuedAt")
        return cls(
            agent_id=str(doc["agentId"]),
            seq=int(str(doc.get("seq", 0))),
            last_sha256=str(doc.get("lastSha256", GENESIS_SHA256)),
            last_issued_at=protocol.parse_time(issued, "state") if issued else None,
            dropped=int(str(doc.get("dropped", 0))),
            dropped_total=int(str(doc.get("droppedTotal", 0))),
            rejected=int(str(doc.get("rejected", 0))),
            rejected_total=int(str(doc.get("rejectedTotal", 0))),
            enrolled=bool(doc.get("enrolled", False)),
        )


class KeyStore(Protocol):
    """Where the agent's private key lives (a Secret readable only by the agent)."""

    async def load_key(self) -> Ed25519PrivateKey | None: ...
    async def save_key(self, key: Ed25519PrivateKey) -> None: ...


class StateStore(Protocol):
    async def load_state(self) -> SyncState | None: ...
    async def save_state(self, state: SyncState) -> None: ...


class SpoolStore(Protocol):
    """Signed envelopes (JSON bytes) awaiting delivery, oldest first."""

    async def load_spool(self) -> tuple[bytes, ...]: ...
    async def save_spool(self, envelopes: Sequence[bytes]) -> None: ...


class MemoryStore:
    """All four stores in memory; writes count so tests can tell whether anything changed."""

    def __init__(self) -> None:
        self.key: Ed25519PrivateKey | None = None
        self.state: SyncState | None = None
        self.spool: tuple[bytes, ...] = ()
        self.outbox: tuple[Entry, ...] = ()
        self.writes = 0

    async def load_key(self) -> Ed25519PrivateKey | None:
        return self.key

    async def save_key(self, key: Ed25519PrivateKey) -> None:
        self.key, self.writes = key, self.writes + 1

    async def load_state(self) -> SyncState | None:
        return self.state

    async def save_state(self, state: SyncState) -> None:
        self.state, self.writes = state, self.writes + 1

    async def load_spool(self) -> tuple[bytes, ...]:
        return self.spool

    async def save_spool(self, envelopes: Sequence[bytes]) -> None:
        self.spool, self.writes = tuple(envelopes), self.writes + 1

    async def load_outbox(self) -> tuple[Entry, ...]:
        return self.outbox

    async def save_outbox(self, entries: Sequence[Entry]) -> None:
        self.outbox, self.writes = tuple(entries), self.writes + 1


async def ensure_identity(
    keys: KeyStore, states: StateStore
) -> tuple[Ed25519PrivateKey, SyncState]:
    """Load the agent key and state; on first start generate the key and a fresh state."""
    key = await keys.load_key()
    if key is None:
        key = new_key()
        await keys.save_key(key)
    state = await states.load_state()
    if state is None:
        # The id comes from the first key and stays through rotations.
        state = SyncState(agent_id=protocol.agent_id_for(key.public_key()))
        await states.save_state(state)
    return key, state
