-- The usage ledger (issue: usage metering for billing): one row per record_id, the highest
-- revision kept. IF NOT EXISTS: hubs that ran before this migration created the table themselves.
CREATE TABLE IF NOT EXISTS usage_records (
    record_id TEXT PRIMARY KEY, install_id TEXT NOT NULL, cluster_uid TEXT NOT NULL,
    tenant TEXT NOT NULL, meter TEXT NOT NULL, unit TEXT NOT NULL, window_start TEXT NOT NULL,
    window_end TEXT NOT NULL, quantity DOUBLE PRECISION NOT NULL, revision {int} NOT NULL,
    received_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS usage_records_window ON usage_records (window_start, install_id);
