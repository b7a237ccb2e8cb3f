-- The MIS API's own id for each pupil (Wonde's student id), kept by `apsync mis roster` so that
-- the register's marks can be written back to the right student. NULL for a pupil loaded only
-- from a roster file.
ALTER TABLE pupils ADD COLUMN mis_id TEXT;
CREATE INDEX pupils_mis_id ON pupils (mis_id);

-- The MIS write-back is an outbox channel of its own ('mis', sink 'mis'): a row per date, its
-- payload the marks written, delivered once (the MIS's writeback_id kept as remote_id).
ALTER TABLE outbox DROP CONSTRAINT outbox_channel_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_channel_check CHECK (channel IN ('email', 'push', 'mis'));
