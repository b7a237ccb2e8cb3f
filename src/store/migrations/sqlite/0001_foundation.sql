-- The register and everything it is built from. SQLite flavour; postgres/0001 is the same model.
-- Dates are ISO text (YYYY-MM-DD), timestamps RFC 3339 text in UTC; both sort correctly as text.

CREATE TABLE providers (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    present_code        TEXT NOT NULL,
    urn                 TEXT,
    ukprn               TEXT,
    qa_approval_expires TEXT,
    contact_email       TEXT,
    updated_at          TEXT NOT NULL
);

CREATE TABLE pupils (
    upn                 TEXT PRIMARY KEY,
    admission_number    TEXT NOT NULL,
    admission_key       TEXT NOT NULL,   -- admission number without leading zeros, for matching
    legal_surname       TEXT NOT NULL,
    legal_forename      TEXT NOT NULL,
    preferred_forename  TEXT,
    date_of_birth       TEXT NOT NULL,
    year_group          INTEGER,
    on_roll             BOOLEAN NOT NULL,
    first_imported_at   TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    left_roll_at        TEXT
);
CREATE INDEX pupils_admission_key ON pupils (admission_key);

CREATE TABLE placements (
    id                  INTEGER PRIMARY KEY,
    upn                 TEXT NOT NULL REFERENCES pupils (upn),
    provider_id         TEXT NOT NULL REFERENCES providers (id),
    provider_ref        TEXT,
    start_date          TEXT NOT NULL,
    end_date            TEXT,
    weekdays            TEXT NOT NULL,   -- e.g. "Mon Tue Wed"
    sessions            TEXT NOT NULL,   -- "AM PM", "AM" or "PM"
    full_time           BOOLEAN,
    reason              TEXT,
    updated_at          TEXT NOT NULL,
    UNIQUE (upn, provider_id, start_date)
);
CREATE INDEX placements_provider_ref ON placements (provider_id, provider_ref);

CREATE TABLE documents (
    id                  INTEGER PRIMARY KEY,
    provider_id         TEXT NOT NULL REFERENCES providers (id),
    connector           TEXT NOT NULL,   -- connector id, or "manual" for `apsync import`
    external_id         TEXT NOT NULL,
    file_name           TEXT NOT NULL,
    media_type          TEXT,
    sha256              TEXT NOT NULL,
    size                INTEGER NOT NULL,
    bytes               BLOB NOT NULL,
    metadata            TEXT NOT NULL DEFAULT '{}',
    received_at         TEXT NOT NULL,
    imported_at         TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('imported', 'partly-imported', 'rejected')),
    reason              TEXT,
    marks_count         INTEGER NOT NULL DEFAULT 0,
    review_count        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (provider_id, sha256)
);

CREATE TABLE marks (
    upn                 TEXT NOT NULL REFERENCES pupils (upn),
    date                TEXT NOT NULL,
    session             TEXT NOT NULL CHECK (session IN ('AM', 'PM')),
    code                TEXT NOT NULL,
    provider_id         TEXT NOT NULL REFERENCES providers (id),
    raw_mark            TEXT,
    comment             TEXT,
    document_id         INTEGER REFERENCES documents (id),
    review_id           INTEGER,         -- set when a person decided the mark
    received_at         TEXT NOT NULL,
    recorded_at         TEXT NOT NULL,
    PRIMARY KEY (upn, date, session)
);
CREATE INDEX marks_date ON marks (date);

CREATE TABLE mark_history (
    id                  INTEGER PRIMARY KEY,
    upn                 TEXT NOT NULL,
    date                TEXT NOT NULL,
    session             TEXT NOT NULL,
    code                TEXT NOT NULL,
    provider_id         TEXT NOT NULL,
    raw_mark            TEXT,
    comment             TEXT,
    document_id         INTEGER,
    review_id           INTEGER,
    received_at         TEXT NOT NULL,
    recorded_at         TEXT NOT NULL,
    replaced_at         TEXT NOT NULL,
    replaced_by_document INTEGER,
    replaced_by_review  INTEGER
);
CREATE INDEX mark_history_session ON mark_history (upn, date, session);

CREATE TABLE review (
    id                  INTEGER PRIMARY KEY,
    document_id         INTEGER REFERENCES documents (id),
    provider_id         TEXT NOT NULL,
    kind                TEXT NOT NULL,
    locator             TEXT NOT NULL,   -- where in the file: "line 7", "record 3"
    identifier          TEXT,            -- the pupil as the row names them
    raw_row             TEXT NOT NULL,   -- JSON array of the row's cells
    reason              TEXT NOT NULL,
    upn                 TEXT,
    date                TEXT,
    session             TEXT,
    raw_mark            TEXT,
    status              TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'dismissed')),
    created_at          TEXT NOT NULL,
    decided_at          TEXT,
    decided_code        TEXT,
    decision_note       TEXT
);
CREATE INDEX review_status ON review (status);

CREATE TABLE connector_runs (
    id                  INTEGER PRIMARY KEY,
    connector           TEXT NOT NULL,
    started_at          TEXT NOT NULL,
    finished_at         TEXT,
    status              TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
    documents           INTEGER NOT NULL DEFAULT 0,
    marks               INTEGER NOT NULL DEFAULT 0,
    review_items        INTEGER NOT NULL DEFAULT 0,
    error_kind          TEXT,
    error               TEXT,
    duration_ms         INTEGER
);
CREATE INDEX connector_runs_connector ON connector_runs (connector, started_at);

CREATE TABLE checkpoints (
    connector           TEXT PRIMARY KEY,
    value               TEXT NOT NULL,   -- opaque JSON owned by the connector
    version             INTEGER NOT NULL,
    updated_at          TEXT NOT NULL
);
