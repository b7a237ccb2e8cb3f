-- The API's tokens get scopes, and visits remember the token that posted them, so a token reads
-- only its own visits unless it may read all; and a client's retry of the same visit (its
-- Idempotency-Key or its own reference, kept in source_ref) returns the first visit, with the
-- request's digest to tell a true retry from a key reused for another visit.
-- PostgreSQL flavour.
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'intake';  -- space-separated: intake, read
ALTER TABLE visits ADD COLUMN token_id BIGINT REFERENCES api_tokens (id);
ALTER TABLE visits ADD COLUMN request_sha256 TEXT;
