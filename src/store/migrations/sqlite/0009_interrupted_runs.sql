-- Runs cut short: a run whose process died (killed, crashed, a power cut) is closed as
-- `interrupted` by the next apsync process that can tell the process is gone. Each run names the
-- process running it (`host:pidns:pid:start`, as outbox leases do), so that a run of a live
-- process, or of one on another host, is never closed. SQLite cannot change a CHECK constraint,
-- so the table is rebuilt. SQLite flavour.
CREATE TABLE connector_runs_rebuilt (
    id                  INTEGER PRIMARY KEY,
    connector           TEXT NOT NULL,
    started_at          TEXT NOT NULL,
    finished_at         TEXT,
    status              TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed', 'interrupted')),
    documents           INTEGER NOT NULL DEFAULT 0,
    marks               INTEGER NOT NULL DEFAULT 0,
    review_items        INTEGER NOT NULL DEFAULT 0,
    error_kind          TEXT,
    error               TEXT,
    duration_ms         INTEGER,
    run_by              TEXT
);
INSERT INTO connector_runs_rebuilt (id, connector, started_at, finished_at, status, documents, marks, review_items,
    error_kind, error, duration_ms)
SELECT id, connector, started_at, finished_at, status, documents, marks, review_items, error_kind, error, duration_ms
FROM connector_runs;
DROP TABLE connector_runs;
ALTER TABLE connector_runs_rebuilt RENAME TO connector_runs;
CREATE INDEX connector_runs_connector ON connector_runs (connector, started_at);
-- Only runs in progress are indexed, so finding those cut short stays cheap.
CREATE INDEX connector_runs_running ON connector_runs (run_by) WHERE status = 'running';
