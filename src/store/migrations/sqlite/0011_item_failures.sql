-- Items that failed a connector run (a download that broke off, a file that cannot be read),
-- counted per item, so one that fails the same way run after run is quarantined instead of
-- holding up every later return. SQLite flavour.
CREATE TABLE item_failures (
    connector           TEXT NOT NULL,
    external_id         TEXT NOT NULL,
    failures            INTEGER NOT NULL,
    last_error          TEXT NOT NULL,
    first_failed_at     TEXT NOT NULL,
    last_failed_at      TEXT NOT NULL,
    PRIMARY KEY (connector, external_id)
);
