-- When the attempt in progress began: written, and committed, before a delivery is handed to its
-- receiver, and cleared with the attempt's outcome. A pending row that still has one after its
-- sender died was in flight: the receiver may have it. An email has no idempotency key, so it may
-- then arrive twice (same Message-ID); a push repeats its Idempotency-Key. PostgreSQL flavour.
ALTER TABLE outbox ADD COLUMN attempt_started_at TIMESTAMPTZ;
