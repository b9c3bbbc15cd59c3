-- Support bundles, uploaded by an enrolled agent (signed by its key, and only while its latest
-- report shares `support`) or by hand by an admin reader. The archive is kept byte for byte, so
-- its signature can be checked again later; the same archive is stored once per install.
CREATE TABLE support_bundles (
    agent_id TEXT NOT NULL REFERENCES agents(agent_id), sha256 TEXT NOT NULL,
    size {int} NOT NULL, members {int} NOT NULL, redactions {int} NOT NULL,
    created TEXT NOT NULL, received_at TEXT NOT NULL, source TEXT NOT NULL,
    archive {blob} NOT NULL, PRIMARY KEY (agent_id, sha256));
CREATE INDEX support_bundles_received ON support_bundles (agent_id, received_at);
