-- When each endpoint last refused apsync's pushes (401, 403, 404, a redirect: a misconfiguration
-- only IT can fix) and when it last accepted one, so IT is told while it refuses (once a day)
-- and the alert resolves when a delivery succeeds again. PostgreSQL flavour.
CREATE TABLE endpoint_refusals (
    sink                TEXT PRIMARY KEY,
    refused_at          TIMESTAMPTZ NOT NULL,
    reason              TEXT NOT NULL,
    delivered_at        TIMESTAMPTZ
);
