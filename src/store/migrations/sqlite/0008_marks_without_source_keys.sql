-- Marks without foreign keys on provider_id and document_id: checked per row, they cost more
-- than the insert itself on a long return, and only the import writes them (the document row in
-- the same transaction, the provider from the configuration). The pupil's key stays checked.
-- SQLite cannot drop a constraint, so the table is rebuilt. SQLite flavour.
CREATE TABLE marks_rebuilt (
    upn                 TEXT NOT NULL REFERENCES pupils (upn),
    date                TEXT NOT NULL,
    session             TEXT NOT NULL CHECK (session IN ('AM', 'PM')),
    code                TEXT NOT NULL,
    provider_id         TEXT NOT NULL,
    raw_mark            TEXT,
    comment             TEXT,
    document_id         INTEGER,
    review_id           INTEGER,         -- set when a person decided the mark
    received_at         TEXT NOT NULL,
    recorded_at         TEXT NOT NULL,
    PRIMARY KEY (upn, date, session)
);
INSERT INTO marks_rebuilt SELECT upn, date, session, code, provider_id, raw_mark, comment, document_id, review_id,
    received_at, recorded_at FROM marks;
DROP TABLE marks;
ALTER TABLE marks_rebuilt RENAME TO marks;
CREATE INDEX marks_date ON marks (date);
