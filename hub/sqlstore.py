"""`HubStore` over a DB-API connection: the SQL shared by the SQLite and PostgreSQL stores.

I/O: every method runs SQL on the connection the subclass opened. Placeholders are written `?`
and translated for drivers that use `%s`. Times are stored as RFC 3339 text; envelopes, payloads
and acks as the exact bytes received or signed, so every stored report can be re-verified later.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from hub import migrate
from hub.store import AccessRecord, AgentRecord, StoredReport, TokenRecord

AGENT_COLUMNS = (
    "agent_id, cluster_uid, public_key, enrolled_at, enroll_ack, last_seq, last_sha256, "
    "last_seen, previous_key, previous_until, customer, display_name, chain_gaps, digest"
)
REPORT_COLUMNS = (
    "agent_id, seq, nonce, payload_sha256, issued_at, received_at, chain_gap, envelope, "
    "payload, ack"
)


TEN = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
FOURTEEN = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def to_text(moment: datetime | None) -> str | None:
    """A time as stored."""
    return moment.isoformat() if moment is not None else None


def from_text(text: str | None) -> datetime | None:
    """A stored time."""
    return datetime.fromisoformat(text) if text is not None else None


def agent_from_row(row: Sequence[Any]) -> AgentRecord:
    """An install from its row."""
    enrolled = datetime.fromisoformat(row[3])
    return AgentRecord(
        agent_id=row[0], cluster_uid=row[1], public_key=row[2], enrolled_at=enrolled,
        enroll_ack=bytes(row[4]), last_seq=int(row[5]), last_sha256=row[6],
        last_seen=from_text(row[7]), previous_key=row[8], previous_until=from_text(row[9]),
        customer=row[10], display_name=row[11], chain_gaps=int(row[12]), digest=row[13],
    )  # fmt: skip


def report_from_row(row: Sequence[Any]) -> StoredReport:
    """A report from its row."""
    issued, received = datetime.fromisoformat(row[4]), datetime.fromisoformat(row[5])
    return StoredReport(
        agent_id=row[0], seq=int(row[1]), nonce=row[2], payload_sha256=row[3], issued_at=issued,
        received_at=received, chain_gap=bool(row[6]), envelope=bytes(row[7]),
        payload=bytes(row[8]), ack=bytes(row[9]),
    )  # fmt: skip


class SqlStore:
    """Subclasses set `conn`, `integrity_error`, `placeholder` and call `create_schema`."""

    conn: Any
    integrity_error: type[Exception] = Exception
    threads = 1  # how many threads may use the store at once (SQLite: one connection)
    placeholder = "?"
    blob_type = "BLOB"
    int_type = "INTEGER"

    def sql(self, text: str) -> str:
        """The statement with this database's placeholders."""
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor in a transaction: committed on success, rolled back on error."""
        cur = self.conn.cursor()
        try:
            yield cur
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        finally:
            cur.close()

    def run(self, text: str, args: Sequence[Any] = ()) -> list[Any]:
        """Run a write in a transaction and return its rows."""
        with self.transaction() as cur:
            cur.execute(self.sql(text), tuple(args))
            return list(cur.fetchall()) if cur.description else []

    def query(self, text: str, args: Sequence[Any] = ()) -> list[Any]:
        """A read; drivers that need a transaction even for reads keep `run`'s commit."""
        return self.run(text, args)

    def lock_schema(self, cur: Any) -> None:
        """Hold off other processes while migrating (inside the migration's transaction)."""

    def create_schema(self) -> None:
        """Bring the schema to this hub's version (`hub.migrate`); a no-op when it is there."""
        with self.transaction() as cur:
            self.lock_schema(cur)
            cur.execute(migrate.VERSION_TABLE)
            cur.execute("SELECT version FROM schema_version")
            applied = {int(row[0]) for row in cur.fetchall()}
            for step in migrate.pending(applied):
                for statement in step.statements(self.blob_type, self.int_type):
                    cur.execute(statement)
                cur.execute(
                    self.sql("INSERT INTO schema_version (version, name, applied_at) "
                             "VALUES (?, ?, ?)"),
                    (step.version, step.name, to_text(datetime.now(UTC))),
                )  # fmt: skip

    def prune_reports(self, before: datetime) -> int:
        """Delete reports received before `before`, except each agent's latest (the fleet page
        shows it). Other tables, the usage ledger among them, are never touched."""
        with self.transaction() as cur:
            cur.execute(
                self.sql("DELETE FROM reports WHERE received_at < ? AND NOT EXISTS ("
                         "SELECT 1 FROM agents a WHERE a.agent_id = reports.agent_id "
                         "AND a.last_seq = reports.seq)"),
                (to_text(before),),
            )  # fmt: skip
            return int(cur.rowcount)

    def schema_version(self) -> int:
        """The schema version applied."""
        rows = self.query("SELECT MAX(version) FROM schema_version")
        return int(rows[0][0] or 0)

    def add_token(self, token: TokenRecord) -> None:
        """Store a new enrollment token (its hash)."""
        self.run(
            "INSERT INTO tokens (sha256, created_at, expires_at, customer, display_name) "
            "VALUES (?, ?, ?, ?, ?)",
            (token.sha256, to_text(token.created_at), to_text(token.expires_at),
             token.customer, token.display_name),
        )  # fmt: skip

    def token(self, sha256: str) -> TokenRecord | None:
        """An enrollment token's record."""
        rows = self.query(
            "SELECT created_at, expires_at, used_by, customer, display_name FROM tokens "
            "WHERE sha256 = ?",
            [sha256],
        )
        if not rows:
            return None
        created, expires = datetime.fromisoformat(rows[0][0]), datetime.fromisoformat(rows[0][1])
        return TokenRecord(sha256, created, expires, *rows[0][2:5])

    def enroll(self, token_sha256: str, agent: AgentRecord) -> bool:
        """Use the token and create the install in one transaction; False if it was used."""
        try:
            with self.transaction() as cur:
                cur.execute(
                    self.sql("UPDATE tokens SET used_by = ?, used_at = ? "
                             "WHERE sha256 = ? AND used_by IS NULL"),
                    (agent.agent_id, to_text(agent.enrolled_at), token_sha256),
                )  # fmt: skip
                if cur.rowcount != 1:
                    raise LookupError
                cur.execute(
                    self.sql(f"INSERT INTO agents ({AGENT_COLUMNS}) VALUES {FOURTEEN}"),
                    (agent.agent_id, agent.cluster_uid, agent.public_key,
                     to_text(agent.enrolled_at), agent.enroll_ack, agent.last_seq,
                     agent.last_sha256, None, None, None, agent.customer, agent.display_name,
                     0, None),
                )  # fmt: skip
        except (LookupError, self.integrity_error):
            return False
        return True

    def add_access_token(self, record: AccessRecord) -> bool:
        """Store an access token (its hash); False when the name is taken."""
        try:
            self.run(
                "INSERT INTO access_tokens (name, sha256, role, created_at) VALUES (?, ?, ?, ?)",
                (record.name, record.sha256, record.role, to_text(record.created_at)),
            )
        except self.integrity_error:
            return False
        return True

    def access_token(self, sha256: str) -> AccessRecord | None:
        """An access token's record."""
        rows = self.query(
            "SELECT name, role, created_at, revoked_at FROM access_tokens WHERE sha256 = ?",
            [sha256],
        )
        if not rows:
            return None
        name, role, created, revoked = rows[0]
        return AccessRecord(name, sha256, role, datetime.fromisoformat(created), from_text(revoked))

    def revoke_access_token(self, name: str, when: datetime) -> bool:
        """Revoke a live access token; False when there is none by that name."""
        with self.transaction() as cur:
            cur.execute(
                self.sql("UPDATE access_tokens SET revoked_at = ? "
                         "WHERE name = ? AND revoked_at IS NULL"),
                (to_text(when), name),
            )  # fmt: skip
            return bool(cur.rowcount == 1)

    def agent(self, agent_id: str) -> AgentRecord | None:
        """One install."""
        rows = self.query(f"SELECT {AGENT_COLUMNS} FROM agents WHERE agent_id = ?", [agent_id])
        return agent_from_row(rows[0]) if rows else None

    def agents(self) -> list[AgentRecord]:
        """Every install."""
        rows = self.query(f"SELECT {AGENT_COLUMNS} FROM agents ORDER BY agent_id")
        return [agent_from_row(row) for row in rows]

    def rotate_key(self, agent_id: str, new_key: str, grace_until: datetime) -> None:
        """Keep the old key for a grace period beside the new one."""
        self.run(
            "UPDATE agents SET previous_key = public_key, previous_until = ?, public_key = ? "
            "WHERE agent_id = ?",
            (to_text(grace_until), new_key, agent_id),
        )

    def ack_for(self, agent_id: str, payload_sha256: str) -> bytes | None:
        """The ack already given for a payload (replays get the same answer)."""
        rows = self.query(
            "SELECT ack FROM reports WHERE agent_id = ? AND payload_sha256 = ?",
            (agent_id, payload_sha256),
        )
        return bytes(rows[0][0]) if rows else None

    def add_report(self, report: StoredReport) -> bool:
        """Store a report and advance the install's seq in one transaction; False on a duplicate."""
        try:
            with self.transaction() as cur:
                cur.execute(
                    self.sql("UPDATE agents SET last_seq = ?, last_sha256 = ?, last_seen = ?, "
                             "digest = ?, chain_gaps = chain_gaps + ? "
                             "WHERE agent_id = ? AND last_seq < ?"),
                    (report.seq, report.payload_sha256, to_text(report.received_at),
                     report.digest, int(report.chain_gap), report.agent_id, report.seq),
                )  # fmt: skip
                if cur.rowcount != 1:
                    raise LookupError
                cur.execute(
                    self.sql(f"INSERT INTO reports ({REPORT_COLUMNS}) VALUES {TEN}"),
                    (report.agent_id, report.seq, report.nonce, report.payload_sha256,
                     to_text(report.issued_at), to_text(report.received_at), int(report.chain_gap),
                     report.envelope, report.payload, report.ack),
                )  # fmt: skip
        except (LookupError, self.integrity_error):
            return False
        return True

    def reports(self, agent_id: str, limit: int, before_seq: int | None) -> list[StoredReport]:
        """An install's reports, newest first."""
        # `seq <= bound` with the largest 64-bit value: a report at seq 2⁶³-1 is still listed.
        bound, compare = (before_seq, "<") if before_seq is not None else (2**63 - 1, "<=")
        rows = self.query(
            f"SELECT {REPORT_COLUMNS} FROM reports WHERE agent_id = ? AND seq {compare} ? "
            "ORDER BY seq DESC LIMIT ?",
            (agent_id, bound, limit),
        )
        return [report_from_row(row) for row in rows]

    def latest_reports(self) -> dict[str, StoredReport]:
        """The latest report of each install."""
        rows = self.query(
            f"SELECT {', '.join('r.' + c.strip() for c in REPORT_COLUMNS.split(','))} "
            "FROM reports r JOIN agents a ON a.agent_id = r.agent_id AND r.seq = a.last_seq"
        )
        return {row[0]: report_from_row(row) for row in rows}

    def gap_counts(self) -> dict[str, int]:
        """The number of chain gaps of each install."""
        rows = self.query("SELECT agent_id, SUM(chain_gap) FROM reports GROUP BY agent_id")
        return {row[0]: int(row[1] or 0) for row in rows}

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()
