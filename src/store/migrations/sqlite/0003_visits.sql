-- Staff visits to placed pupils, and the bearer tokens of the HTTP intake. SQLite flavour.
-- A visit's pushes are outbox rows (channel 'push', one per endpoint) whose idempotency key is
-- the visit's external_id.
CREATE TABLE visits (
    id                  INTEGER PRIMARY KEY,
    external_id         TEXT NOT NULL UNIQUE,   -- stable, sent to endpoints as the visit's own id
    upn                 TEXT NOT NULL REFERENCES pupils (upn),
    provider_id         TEXT REFERENCES providers (id),
    occurred_at         TEXT NOT NULL,
    staff               TEXT NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('on_site', 'phone', 'video')),
    pupil_views         TEXT,
    progress            TEXT,
    behaviour           TEXT,
    welfare             TEXT,
    actions             TEXT,
    follow_up           TEXT,
    source              TEXT NOT NULL,          -- "api:TOKEN NAME", "cli", "csv:FILE"
    source_ref          TEXT UNIQUE,            -- "csv:SHA256:LINE": the same file row imports once
    created_at          TEXT NOT NULL
);
CREATE INDEX visits_pupil ON visits (upn, occurred_at);
CREATE INDEX outbox_key ON outbox (idempotency_key);

CREATE TABLE api_tokens (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL,
    hash                BLOB NOT NULL UNIQUE,   -- SHA-256 of the token; the token itself is never stored
    created_at          TEXT NOT NULL,
    revoked_at          TEXT,
    last_used_at        TEXT
);
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at IS NULL;
