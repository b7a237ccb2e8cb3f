-- The MIS API's own id for each pupil (Wonde's student id), kept by `apsync mis roster` so that
-- the register's marks can be written back to the right student. NULL for a pupil loaded only
-- from a roster file.
ALTER TABLE pupils ADD COLUMN mis_id TEXT;
CREATE INDEX pupils_mis_id ON pupils (mis_id);

-- The MIS write-back is an outbox channel of its own ('mis', sink 'mis'): a row per date, its
-- payload the marks written, delivered once (the MIS's writeback_id kept as remote_id). SQLite
-- cannot change a CHECK, so the table is rebuilt with every column it has by now.
CREATE TABLE outbox_rebuilt (
    id                  INTEGER PRIMARY KEY,
    channel             TEXT NOT NULL CHECK (channel IN ('email', 'push', 'mis')),
    sink                TEXT NOT NULL,
    idempotency_key     TEXT NOT NULL,
    subject             TEXT NOT NULL,
    payload             TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     TEXT NOT NULL,
    leased_until        TEXT,
    last_error          TEXT,
    remote_id           TEXT,
    created_at          TEXT NOT NULL,
    delivered_at        TEXT,
    leased_by           TEXT,
    attempt_started_at  TEXT,
    UNIQUE (sink, idempotency_key)
);
INSERT INTO outbox_rebuilt (id, channel, sink, idempotency_key, subject, payload, status, attempts, next_attempt_at,
    leased_until, last_error, remote_id, created_at, delivered_at, leased_by, attempt_started_at)
SELECT id, channel, sink, idempotency_key, subject, payload, status, attempts, next_attempt_at,
    leased_until, last_error, remote_id, created_at, delivered_at, leased_by, attempt_started_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_rebuilt RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (channel, status, next_attempt_at);
CREATE INDEX outbox_key ON outbox (idempotency_key);
CREATE INDEX outbox_leased ON outbox (leased_by) WHERE leased_by IS NOT NULL;
