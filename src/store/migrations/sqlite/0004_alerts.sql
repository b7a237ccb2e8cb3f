-- Alerts raised by the rules: one row per occurrence of a condition, open until it clears
-- (resolved, said in an email) or falls out of the rule's view (lapsed, quietly). SQLite flavour.
CREATE TABLE alerts (
    id                  INTEGER PRIMARY KEY,
    rule                TEXT NOT NULL,   -- "absence", "missing-return", ...
    subject_key         TEXT NOT NULL,   -- stable within the rule: pupil, date, session, provider...
    state               TEXT NOT NULL CHECK (state IN ('open', 'resolved', 'lapsed')),
    level               INTEGER NOT NULL DEFAULT 0,   -- higher is worse (escalated, persistent, severe)
    roles               TEXT NOT NULL,   -- JSON list of the roles told
    about               TEXT,            -- the school day it is about
    upn                 TEXT,            -- the pupil, never shown in an email
    provider_id         TEXT,
    detail              TEXT NOT NULL,   -- JSON: what the emails say
    first_seen          TEXT NOT NULL,
    last_changed        TEXT NOT NULL,
    closed_at           TEXT
);
-- One open occurrence per condition: a second evaluation can never raise it again.
CREATE UNIQUE INDEX alerts_open ON alerts (rule, subject_key) WHERE state = 'open';
CREATE INDEX alerts_closed ON alerts (state, closed_at);
