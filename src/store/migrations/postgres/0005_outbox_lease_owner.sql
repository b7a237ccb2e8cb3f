-- Who holds an outbox lease: `host:pidns:pid:start` of the sending process, so that after a crash
-- a process on the same host can see the holder is gone and release its rows at once instead of
-- waiting for the lease to run out. PostgreSQL flavour.
ALTER TABLE outbox ADD COLUMN leased_by TEXT;
-- Only leased rows are indexed (a lease is cleared with its outcome), so the index stays small.
CREATE INDEX outbox_leased ON outbox (leased_by) WHERE leased_by IS NOT NULL;
