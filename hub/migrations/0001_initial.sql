-- The first round's schema, unchanged. IF NOT EXISTS: a database created before migrations
-- existed already has these tables, and keeps them with their rows.
CREATE TABLE IF NOT EXISTS tokens (
    sha256 TEXT PRIMARY KEY, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
    used_by TEXT, used_at TEXT);
CREATE TABLE IF NOT EXISTS agents (
    agent_id TEXT PRIMARY KEY, cluster_uid TEXT NOT NULL, public_key TEXT NOT NULL,
    enrolled_at TEXT NOT NULL, enroll_ack {blob} NOT NULL, last_seq {int} NOT NULL DEFAULT 0,
    last_sha256 TEXT NOT NULL, last_seen TEXT, previous_key TEXT, previous_until TEXT);
CREATE TABLE IF NOT EXISTS reports (
    agent_id TEXT NOT NULL REFERENCES agents(agent_id), seq {int} NOT NULL, nonce TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL, issued_at TEXT NOT NULL, received_at TEXT NOT NULL,
    chain_gap {int} NOT NULL, envelope {blob} NOT NULL, payload {blob} NOT NULL,
    ack {blob} NOT NULL, PRIMARY KEY (agent_id, seq), UNIQUE (agent_id, nonce),
    UNIQUE (agent_id, payload_sha256));
