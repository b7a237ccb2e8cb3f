-- Deliveries to the outside world (emails to staff, visit logs to the safeguarding endpoint), one
-- table for both so that retrying, dead-lettering and replaying work one way. SQLite flavour.
CREATE TABLE outbox (
    id                  INTEGER PRIMARY KEY,
    channel             TEXT NOT NULL CHECK (channel IN ('email', 'push')),
    sink                TEXT NOT NULL,   -- "smtp", or the endpoint's id
    idempotency_key     TEXT NOT NULL,   -- stable across attempts and restarts
    subject             TEXT NOT NULL,   -- what it is about, for listings: "visit 42", "alert absence:..."
    payload             TEXT NOT NULL,   -- JSON: the message or request body, kept for replay
    status              TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     TEXT NOT NULL,
    leased_until        TEXT,            -- a sender is working on it until then
    last_error          TEXT,
    remote_id           TEXT,            -- what the receiver called it, when it says
    created_at          TEXT NOT NULL,
    delivered_at        TEXT,
    UNIQUE (sink, idempotency_key)
);
CREATE INDEX outbox_due ON outbox (channel, status, next_attempt_at);
