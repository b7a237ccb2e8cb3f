-- Runs cut short: a run whose process died (killed, crashed, a power cut) is closed as
-- `interrupted` by the next apsync process that can tell the process is gone. Each run names the
-- process running it (`host:pidns:pid:start`, as outbox leases do), so that a run of a live
-- process, or of one on another host (a replica), is never closed. PostgreSQL flavour.
ALTER TABLE connector_runs DROP CONSTRAINT IF EXISTS connector_runs_status_check;
ALTER TABLE connector_runs ADD CONSTRAINT connector_runs_status_check
    CHECK (status IN ('running', 'ok', 'failed', 'interrupted'));
ALTER TABLE connector_runs ADD COLUMN run_by TEXT;
-- Only runs in progress are indexed, so finding those cut short stays cheap.
CREATE INDEX connector_runs_running ON connector_runs (run_by) WHERE status = 'running';
