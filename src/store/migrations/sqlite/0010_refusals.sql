-- Items a connector refused to hand over as returns (a stranger's or an unauthenticated email,
-- a message without an attachment): recorded once each, never imported, so IT can see what was
-- turned away and why, and be told once per sender per day. SQLite flavour.
CREATE TABLE refusals (
    id                  INTEGER PRIMARY KEY,
    connector           TEXT NOT NULL,
    provider_id         TEXT NOT NULL,
    external_id         TEXT NOT NULL,
    display_name        TEXT NOT NULL,   -- made printable: no raw control characters
    code                TEXT NOT NULL,   -- IMAP-UNAUTHENTICATED, IMAP-SENDER, ...
    reason              TEXT NOT NULL,
    sender              TEXT,            -- the address the message claims, made printable
    verdict             TEXT,            -- the Authentication-Results that decided, made printable
    size                INTEGER,
    sha256              TEXT,
    metadata            TEXT NOT NULL DEFAULT '{}',
    received_at         TEXT NOT NULL,
    recorded_at         TEXT NOT NULL,
    UNIQUE (connector, external_id)
);
CREATE INDEX refusals_recorded ON refusals (recorded_at);
