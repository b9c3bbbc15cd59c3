-- A fleet a person can read: who an install is for (recorded with its enrollment token), a small
-- digest of its latest report (so the fleet page never re-reads every payload), and a running
-- count of chain gaps (backfilled from the reports already stored).
ALTER TABLE tokens ADD COLUMN customer TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN customer TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN chain_gaps {int} NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN digest TEXT;
UPDATE agents SET chain_gaps = (
    SELECT COALESCE(SUM(r.chain_gap), 0) FROM reports r WHERE r.agent_id = agents.agent_id);
CREATE INDEX reports_received_at ON reports (received_at);
