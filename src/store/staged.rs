//! Writing a document's marks as a set: staged into a temporary table in batches, then compared
//! with the register and applied with a few statements, instead of a round trip per mark.
//!
//! The register's rule, in SQL: a later return from the same provider replaces its earlier mark
//! (which goes to history); the same code again changes nothing; another provider's mark, or a
//! mark a person decided and the return now contradicts, is never overwritten: it becomes a
//! conflict for review.

/// Rows staged per statement: one JSON parameter carries them (a statement per row, or
/// thousands of bound parameters, cost far more than the database's own work).
pub(super) const STAGE_BATCH: usize = 20_000;

/// The staging table, per backend (a connection's own; emptied before use).
pub(super) const STAGE_SQLITE: &str = "CREATE TEMP TABLE IF NOT EXISTS staged_marks (
    seq INTEGER NOT NULL, upn TEXT NOT NULL, date TEXT NOT NULL, session TEXT NOT NULL, code TEXT NOT NULL,
    raw_mark TEXT, comment TEXT, PRIMARY KEY (upn, date, session))";
pub(super) const STAGE_POSTGRES: &str = "CREATE TEMP TABLE IF NOT EXISTS staged_marks (
    seq BIGINT NOT NULL, upn TEXT NOT NULL, date DATE NOT NULL, session TEXT NOT NULL, code TEXT NOT NULL,
    raw_mark TEXT, comment TEXT, PRIMARY KEY (upn, date, session)) ON COMMIT DELETE ROWS";

/// Stages a batch given as one JSON array of `[seq, upn, date, session, code, raw_mark, comment]`.
pub(super) const STAGE_JSON_SQLITE: &str = "INSERT INTO staged_marks (seq, upn, date, session, code, raw_mark, comment)
  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6 FROM json_each($1)";
pub(super) const STAGE_JSON_POSTGRES: &str =
    "INSERT INTO staged_marks (seq, upn, date, session, code, raw_mark, comment)
  SELECT (r ->> 0)::bigint, r ->> 1, (r ->> 2)::date, r ->> 3, r ->> 4, r ->> 5, r ->> 6
  FROM jsonb_array_elements($1::text::jsonb) AS r";

/// One batch of marks as the JSON the staging statements read.
pub(super) fn stage_json(first_seq: usize, marks: &[crate::register::NewMark]) -> String {
    let rows: Vec<serde_json::Value> = marks
        .iter()
        .enumerate()
        .map(|(i, m)| {
            serde_json::json!([
                first_seq + i,
                m.upn.as_str(),
                m.date.to_string(),
                m.session.as_str(),
                m.code.as_str(),
                m.raw_mark,
                m.comment
            ])
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// What the staged marks do, counted before anything changes. `$1` is the provider.
pub(super) const CLASSIFY: &str = "SELECT
    COUNT(*) FILTER (WHERE m.upn IS NULL) AS added,
    COUNT(*) FILTER (WHERE m.provider_id = $1 AND m.code = s.code) AS unchanged,
    COUNT(*) FILTER (WHERE m.provider_id = $1 AND m.review_id IS NULL AND m.code <> s.code) AS replaced
  FROM staged_marks s LEFT JOIN marks m ON m.upn = s.upn AND m.date = s.date AND m.session = s.session";

/// Staged marks that must not overwrite what is held. `$1` is the provider.
pub(super) const CONFLICTS: &str = "SELECT s.seq, m.code, m.provider_id
  FROM staged_marks s JOIN marks m ON m.upn = s.upn AND m.date = s.date AND m.session = s.session
  WHERE m.provider_id <> $1 OR (m.review_id IS NOT NULL AND m.code <> s.code)
  ORDER BY s.seq";

/// The marks about to be replaced go to history. `$1` provider, `$2` now, `$3` the document.
pub(super) const ARCHIVE_REPLACED: &str = "INSERT INTO mark_history (upn, date, session, code, provider_id, raw_mark,
    comment, document_id, review_id, received_at, recorded_at, replaced_at, replaced_by_document, replaced_by_review)
  SELECT m.upn, m.date, m.session, m.code, m.provider_id, m.raw_mark, m.comment, m.document_id, m.review_id,
    m.received_at, m.recorded_at, $2, $3, NULL
  FROM marks m JOIN staged_marks s ON m.upn = s.upn AND m.date = s.date AND m.session = s.session
  WHERE m.provider_id = $1 AND m.review_id IS NULL AND m.code <> s.code";

/// New sessions inserted, the provider's own earlier marks replaced, everything else left.
/// `$1` provider, `$2` document, `$3` received, `$4` now. (`WHERE true` lets SQLite parse the
/// upsert after a SELECT.)
pub(super) const APPLY: &str = "INSERT INTO marks (upn, date, session, code, provider_id, raw_mark, comment,
    document_id, review_id, received_at, recorded_at)
  SELECT s.upn, s.date, s.session, s.code, $1, s.raw_mark, s.comment, $2, NULL, $3, $4 FROM staged_marks s WHERE true
  ON CONFLICT (upn, date, session) DO UPDATE SET code = excluded.code, raw_mark = excluded.raw_mark,
    comment = excluded.comment, document_id = excluded.document_id, received_at = excluded.received_at,
    recorded_at = excluded.recorded_at
  WHERE marks.provider_id = excluded.provider_id AND marks.review_id IS NULL AND marks.code <> excluded.code";
