//! Writing a document's marks as a set: staged into a temporary table in batches, then compared
//! with the register and applied with a few statements, instead of a round trip per mark.
//!
//! The register's rule ([`crate::register::meet`]), in SQL: a later return from the same
//! provider replaces its earlier mark (which goes to history); the same code again changes
//! nothing; another provider's mark, or a mark a person decided and the return now
//! contradicts, is never overwritten: it becomes a conflict for review. The rule is written
//! once, as the [`meeting!`] fragment every statement that needs it is built from.

/// Rows staged per statement: one JSON parameter carries them (a statement per row, or
/// thousands of bound parameters, cost far more than the database's own work).
pub(super) const STAGE_BATCH: usize = 20_000;

/// The staging tables, per backend (a connection's own; emptied before use): the first mark
/// the document gives each session, and any further marks it gives the same session (which
/// make the session a conflict when their codes differ). Where a mark came from in the file
/// travels with it, for the review row a conflict becomes.
pub(super) const STAGE_SQLITE: &str = "CREATE TEMP TABLE IF NOT EXISTS staged_marks (
    seq INTEGER NOT NULL, upn TEXT NOT NULL, date TEXT NOT NULL, session TEXT NOT NULL, code TEXT NOT NULL,
    raw_mark TEXT, comment TEXT, locator TEXT NOT NULL, raw_row TEXT NOT NULL, PRIMARY KEY (upn, date, session))
    WITHOUT ROWID;
  CREATE TEMP TABLE IF NOT EXISTS staged_repeats (
    seq INTEGER NOT NULL, upn TEXT NOT NULL, date TEXT NOT NULL, session TEXT NOT NULL, code TEXT NOT NULL,
    raw_mark TEXT, comment TEXT, locator TEXT NOT NULL, raw_row TEXT NOT NULL);
  DELETE FROM staged_marks; DELETE FROM staged_repeats;";
pub(super) const STAGE_POSTGRES: &str = "CREATE TEMP TABLE IF NOT EXISTS staged_marks (
    seq BIGINT NOT NULL, upn TEXT NOT NULL, date DATE NOT NULL, session TEXT NOT NULL, code TEXT NOT NULL,
    raw_mark TEXT, comment TEXT, locator TEXT NOT NULL, raw_row TEXT NOT NULL, PRIMARY KEY (upn, date, session))
    ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS staged_repeats (
    seq BIGINT NOT NULL, upn TEXT NOT NULL, date DATE NOT NULL, session TEXT NOT NULL, code TEXT NOT NULL,
    raw_mark TEXT, comment TEXT, locator TEXT NOT NULL, raw_row TEXT NOT NULL) ON COMMIT DELETE ROWS;
  DELETE FROM staged_marks; DELETE FROM staged_repeats;";

/// Stages a batch given as one JSON array of
/// `[seq, upn, date, session, code, raw_mark, comment, locator, raw_row]`; a session already
/// staged is left for [`STAGE_REPEATS_SQLITE`] (the statement's count says whether any was).
pub(super) const STAGE_JSON_SQLITE: &str =
    "INSERT INTO staged_marks (seq, upn, date, session, code, raw_mark, comment, locator, raw_row)
  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7,
    value ->> 8 FROM jsonb_each($1) WHERE true ON CONFLICT DO NOTHING";
/// Stages a batch on PostgreSQL from one array per column (`$1` seq ... `$9` raw_row), which the
/// server reads far faster than JSON.
pub(super) const STAGE_ARRAYS_POSTGRES: &str =
    "INSERT INTO staged_marks (seq, upn, date, session, code, raw_mark, comment, locator, raw_row)
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::date[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::text[], $9::text[]) ON CONFLICT DO NOTHING";

/// The marks of a batch that were not staged because their session already was: the same JSON
/// again, rows whose seq is not the staged one. Only run for a batch that had any.
pub(super) const STAGE_REPEATS_SQLITE: &str =
    "INSERT INTO staged_repeats (seq, upn, date, session, code, raw_mark, comment, locator, raw_row)
  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7,
    value ->> 8 FROM jsonb_each($1) j
  WHERE NOT EXISTS (SELECT 1 FROM staged_marks s WHERE s.seq = j.value ->> 0)";
pub(super) const STAGE_REPEATS_POSTGRES: &str =
    "INSERT INTO staged_repeats (seq, upn, date, session, code, raw_mark, comment, locator, raw_row)
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::date[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::text[], $9::text[]) AS r (seq, upn, date, session, code, raw_mark, comment, locator, raw_row)
  WHERE NOT EXISTS (SELECT 1 FROM staged_marks s WHERE s.seq = r.seq)";

/// One batch of marks as the JSON the SQLite staging statements read.
pub(super) fn stage_json(first_seq: usize, marks: &[crate::register::NewMark]) -> String {
    let rows: Vec<_> = marks
        .iter()
        .enumerate()
        .map(|(i, m)| {
            (
                first_seq + i,
                m.upn.as_str(),
                m.date,
                m.session.as_str(),
                m.code.as_str(),
                super::text::clean(&m.raw_mark),
                m.comment.as_deref().map(super::text::clean),
                super::text::clean(&m.locator),
                super::text::cells_json(&m.raw_row),
            )
        })
        .collect();
    serde_json::to_string(&rows).unwrap_or_default()
}

/// One batch of marks as the columns the PostgreSQL staging statements read.
pub(super) struct StageColumns {
    seq: Vec<i64>,
    upn: Vec<String>,
    date: Vec<chrono::NaiveDate>,
    session: Vec<&'static str>,
    code: Vec<&'static str>,
    raw_mark: Vec<String>,
    comment: Vec<Option<String>>,
    locator: Vec<String>,
    raw_row: Vec<String>,
}

impl StageColumns {
    pub(super) fn of(first_seq: usize, marks: &[crate::register::NewMark]) -> Self {
        StageColumns {
            seq: (first_seq..first_seq + marks.len())
                .map(|n| i64::try_from(n).unwrap_or(i64::MAX))
                .collect(),
            upn: marks.iter().map(|m| m.upn.as_str().to_string()).collect(),
            date: marks.iter().map(|m| m.date).collect(),
            session: marks.iter().map(|m| m.session.as_str()).collect(),
            code: marks.iter().map(|m| m.code.as_str()).collect(),
            raw_mark: marks
                .iter()
                .map(|m| super::text::clean(&m.raw_mark).into_owned())
                .collect(),
            comment: marks
                .iter()
                .map(|m| super::text::clean_opt(m.comment.as_deref()))
                .collect(),
            locator: marks
                .iter()
                .map(|m| super::text::clean(&m.locator).into_owned())
                .collect(),
            raw_row: marks.iter().map(|m| super::text::cells_json(&m.raw_row)).collect(),
        }
    }

    /// Binds the columns as `$1` to `$9`.
    pub(super) fn bind<'q>(
        &'q self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        query
            .bind(&self.seq)
            .bind(&self.upn)
            .bind(&self.date)
            .bind(&self.session)
            .bind(&self.code)
            .bind(&self.raw_mark)
            .bind(&self.comment)
            .bind(&self.locator)
            .bind(&self.raw_row)
    }
}

/// Sessions the document gives different codes: every mark it gives them (the staged one and
/// its repeats) goes to review, in file order.
pub(super) const CONTRADICTED: &str = "WITH keys AS (
    SELECT DISTINCT r.upn, r.date, r.session FROM staged_repeats r
    JOIN staged_marks s ON s.upn = r.upn AND s.date = r.date AND s.session = r.session WHERE s.code <> r.code)
  SELECT seq, upn, date, session, code, raw_mark, locator, raw_row FROM (
    SELECT s.* FROM staged_marks s JOIN keys k ON s.upn = k.upn AND s.date = k.date AND s.session = k.session
    UNION ALL
    SELECT r.* FROM staged_repeats r JOIN keys k ON r.upn = k.upn AND r.date = k.date AND r.session = k.session
  ) AS t ORDER BY seq";

/// Drops a contradicted session from the staged marks (its marks are review rows now).
pub(super) const UNSTAGE: &str = "DELETE FROM staged_marks WHERE upn = $1 AND date = $2 AND session = $3";

/// The register's rule ([`crate::register::meet`]) as one SQL expression, written once for
/// every statement below that needs it: what the incoming mark in `$new` does to the session's
/// mark in `$held` (whose columns are NULL when the session has none), for the provider
/// `$provider`. It gives the outcome's name ([`crate::register::Meeting::as_str`]):
/// `'insert'`, `'unchanged'`, `'replace'` or `'conflict'`. (A literal, so that `concat!` can
/// build the statements as constants.)
macro_rules! meeting {
    ($held:ident, $new:ident, $provider:literal) => {
        concat!(
            "(CASE WHEN ",
            stringify!($held),
            ".upn IS NULL THEN 'insert' WHEN ",
            stringify!($held),
            ".provider_id = ",
            $provider,
            " AND ",
            stringify!($held),
            ".code = ",
            stringify!($new),
            ".code THEN 'unchanged' WHEN ",
            stringify!($held),
            ".provider_id = ",
            $provider,
            " AND ",
            stringify!($held),
            ".review_id IS NULL THEN 'replace' ELSE 'conflict' END)"
        )
    };
}

/// What the staged marks do, counted before anything changes. `$1` is the provider.
pub(super) const CLASSIFY: &str = concat!(
    "SELECT COUNT(*) FILTER (WHERE ",
    meeting!(m, s, "$1"),
    " = 'insert') AS added, COUNT(*) FILTER (WHERE ",
    meeting!(m, s, "$1"),
    " = 'unchanged') AS unchanged, COUNT(*) FILTER (WHERE ",
    meeting!(m, s, "$1"),
    " = 'replace') AS replaced, COUNT(m.upn) AS held
  FROM staged_marks s LEFT JOIN marks m ON m.upn = s.upn AND m.date = s.date AND m.session = s.session"
);

/// Staged marks that must not overwrite what is held. `$1` is the provider.
pub(super) const CONFLICTS: &str = concat!(
    "SELECT s.seq, s.upn, s.date, s.session, s.code AS new_code, s.raw_mark,
    s.locator, s.raw_row, m.code, m.provider_id
  FROM staged_marks s JOIN marks m ON m.upn = s.upn AND m.date = s.date AND m.session = s.session
  WHERE ",
    meeting!(m, s, "$1"),
    " = 'conflict' ORDER BY s.seq"
);

/// Staged marks that would put back a value of the provider's own that a later return already
/// replaced (the session's history holds that value, replaced by a document): a re-sent old
/// return never undoes a correction. `$1` is the provider.
pub(super) const STALE_REPEATS: &str = concat!(
    "SELECT s.seq, s.upn, s.date, s.session, s.code AS new_code, s.raw_mark,
    s.locator, s.raw_row, m.code, d.file_name, d.report_date AS replacing_report_date,
    d.received_at AS replacing_received_at
  FROM staged_marks s JOIN marks m ON m.upn = s.upn AND m.date = s.date AND m.session = s.session
  LEFT JOIN documents d ON d.id = m.document_id
  WHERE ",
    meeting!(m, s, "$1"),
    " = 'replace' AND EXISTS (
    SELECT 1 FROM mark_history h WHERE h.upn = s.upn AND h.date = s.date AND h.session = s.session
      AND h.provider_id = $1 AND h.code = s.code AND h.replaced_by_document IS NOT NULL)
  ORDER BY s.seq"
);

/// An earlier document of the provider saying exactly what this one says (the same
/// fingerprint), not rejected and not itself a repeat. `$1` provider, `$2` fingerprint, `$3`
/// this document.
pub(super) const SAME_RETURN: &str = "SELECT id FROM documents
  WHERE provider_id = $1 AND fingerprint = $2 AND id <> $3 AND status <> 'rejected' AND same_as IS NULL
  ORDER BY id LIMIT 1";

/// The marks about to be replaced go to history. `$1` provider, `$2` now, `$3` the document.
pub(super) const ARCHIVE_REPLACED: &str = concat!(
    "INSERT INTO mark_history (upn, date, session, code, provider_id, raw_mark,
    comment, document_id, review_id, received_at, recorded_at, replaced_at, replaced_by_document, replaced_by_review)
  SELECT m.upn, m.date, m.session, m.code, m.provider_id, m.raw_mark, m.comment, m.document_id, m.review_id,
    m.received_at, m.recorded_at, $2, $3, NULL
  FROM marks m JOIN staged_marks s ON m.upn = s.upn AND m.date = s.date AND m.session = s.session
  WHERE ",
    meeting!(m, s, "$1"),
    " = 'replace'"
);

/// New sessions inserted, the provider's own earlier marks replaced, everything else left.
/// `$1` provider, `$2` document, `$3` received, `$4` now. (`WHERE true` lets SQLite parse the
/// upsert after a SELECT.)
pub(super) const APPLY: &str = concat!(
    "INSERT INTO marks (upn, date, session, code, provider_id, raw_mark, comment,
    document_id, review_id, received_at, recorded_at)
  SELECT s.upn, s.date, s.session, s.code, $1, s.raw_mark, s.comment, $2, NULL, $3, $4 FROM staged_marks s WHERE true
  ON CONFLICT (upn, date, session) DO UPDATE SET code = excluded.code, raw_mark = excluded.raw_mark,
    comment = excluded.comment, document_id = excluded.document_id, received_at = excluded.received_at,
    recorded_at = excluded.recorded_at
  WHERE ",
    meeting!(marks, excluded, "$1"),
    " = 'replace'"
);

/// [`APPLY`] when the register holds none of the staged sessions: a plain insert, without the
/// upsert's per-row check. Same parameters.
pub(super) const APPLY_NEW: &str = "INSERT INTO marks (upn, date, session, code, provider_id, raw_mark, comment,
    document_id, review_id, received_at, recorded_at)
  SELECT s.upn, s.date, s.session, s.code, $1, s.raw_mark, s.comment, $2, NULL, $3, $4 FROM staged_marks s";

/// A document's current read, kept before it is read again. `$1` the document, `$2` now.
pub(super) const REREAD_KEEP_READ: &str = "INSERT INTO document_reads (document_id, read_at, status, reason,
    marks_count, review_count, superseded_at)
  SELECT id, imported_at, status, reason, marks_count, review_count, $2 FROM documents WHERE id = $1";

/// A document's marks still standing go to history before it is read again (replaced by no
/// return and no person: `document_reads` says why). `$1` the document, `$2` now.
pub(super) const REREAD_ARCHIVE: &str = "INSERT INTO mark_history (upn, date, session, code, provider_id, raw_mark,
    comment, document_id, review_id, received_at, recorded_at, replaced_at, replaced_by_document, replaced_by_review)
  SELECT upn, date, session, code, provider_id, raw_mark, comment, document_id, review_id, received_at, recorded_at,
    $2, NULL, NULL
  FROM marks WHERE document_id = $1 AND review_id IS NULL";

/// Sessions of a document read again that a later return of the same provider holds: the
/// later mark stands. `$1` provider, `$2` the document's received time.
pub(super) const REREAD_UNSTAGE_LATER: &str = "DELETE FROM staged_marks WHERE EXISTS (
    SELECT 1 FROM marks m JOIN documents d ON d.id = m.document_id
    WHERE m.upn = staged_marks.upn AND m.date = staged_marks.date AND m.session = staged_marks.session
      AND m.provider_id = $1 AND m.review_id IS NULL AND d.received_at > $2)";
