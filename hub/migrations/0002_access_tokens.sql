-- Readers of the API and the fleet page (issue: the hub authenticates its readers).
-- Only the sha256 of a token is kept; a revoked token keeps its row, so its name is not reused.
CREATE TABLE access_tokens (
    name TEXT PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'admin')),
    created_at TEXT NOT NULL, revoked_at TEXT);
