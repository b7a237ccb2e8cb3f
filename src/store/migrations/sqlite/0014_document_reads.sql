-- A return's identity by what it says: the SHA-256 of its observations (pupil, date, session,
-- mark and the rows it could not read), whatever its bytes (line endings, a byte order mark,
-- blank lines, a re-saved workbook). A document saying the same as an earlier one of the same
-- provider is kept with its bytes but writes nothing, and points at that one. SQLite flavour.
ALTER TABLE documents ADD COLUMN fingerprint TEXT;
ALTER TABLE documents ADD COLUMN same_as INTEGER REFERENCES documents (id);
CREATE INDEX documents_fingerprint ON documents (provider_id, fingerprint);

-- Every earlier read of a document, kept when its stored bytes are read again with a fixed
-- format (`apsync documents reread`): the documents row holds the latest read.
CREATE TABLE document_reads (
    id                  INTEGER PRIMARY KEY,
    document_id         INTEGER NOT NULL REFERENCES documents (id),
    read_at             TEXT NOT NULL,
    status              TEXT NOT NULL,
    reason              TEXT,
    marks_count         INTEGER NOT NULL,
    review_count        INTEGER NOT NULL,
    superseded_at       TEXT NOT NULL
);
CREATE INDEX document_reads_document ON document_reads (document_id);
