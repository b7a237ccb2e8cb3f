-- Scheduled jobs shared by replicas on one database: each connector run, the rules pass (with the
-- digest) and housekeeping is held by one process at a time. A lease names its holder as outbox
-- leases do (`host:pidns:pid:start`), says since when it is held, and runs out unless renewed, so
-- a job whose holder died is taken over: at once by a process on the same host that can see the
-- holder is gone, else when the lease runs out. PostgreSQL flavour.
CREATE TABLE job_leases (
    job                 TEXT PRIMARY KEY,   -- "connector:ID", "rules", "housekeeping"
    held_by             TEXT,               -- NULL when released
    held_since          TIMESTAMPTZ,
    leased_until        TIMESTAMPTZ,
    last_taken_at       TIMESTAMPTZ,    -- when a holder last took it (kept after release)
    last_taken_by       TEXT                -- and who
);
-- The school a database belongs to, written by the first apsync that opens it, so that two
-- configurations of different schools pointing at one database are refused (`apsync check`).
CREATE TABLE database_school (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    school              TEXT NOT NULL,
    claimed_at          TIMESTAMPTZ NOT NULL
);
