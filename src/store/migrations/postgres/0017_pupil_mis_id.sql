-- The MIS API's own id for each pupil (Wonde's student id), kept by `apsync mis roster` so that
-- the register's marks can be written back to the right student. NULL for a pupil loaded only
-- from a roster file.
ALTER TABLE pupils ADD COLUMN mis_id TEXT;
CREATE INDEX pupils_mis_id ON pupils (mis_id);
