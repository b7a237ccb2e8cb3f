-- Marks without foreign keys on provider_id and document_id: checked per row by triggers, they
-- cost more than the insert itself on a long return (a million rows: tens of seconds), and only
-- the import writes them (the document row in the same transaction, the provider from the
-- configuration). The pupil's key stays checked. PostgreSQL flavour.
ALTER TABLE marks DROP CONSTRAINT IF EXISTS marks_provider_id_fkey, DROP CONSTRAINT IF EXISTS marks_document_id_fkey;
