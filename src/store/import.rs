//! Writing one document as a stream: its ledger row, its raw bytes in parts, its marks and
//! review rows a batch at a time, all in one transaction that commits at the end or leaves no
//! trace. A long return is never held whole, here or upstream.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use super::register::{CheckpointUpdate, DocumentStatus, ImportSummary};
use super::shared::{insert_review, save_checkpoint};
use super::staged::{
    APPLY, APPLY_NEW, ARCHIVE_REPLACED, CLASSIFY, CONFLICTS, CONTRADICTED, REREAD_ARCHIVE, REREAD_KEEP_READ,
    REREAD_UNSTAGE_LATER, SAME_RETURN, STAGE_ARRAYS_POSTGRES, STAGE_BATCH, STAGE_JSON_SQLITE, STAGE_POSTGRES,
    STAGE_REPEATS_POSTGRES, STAGE_REPEATS_SQLITE, STAGE_SQLITE, STALE_REPEATS, StageColumns, UNSTAGE, stage_json,
};
use super::{Backend, Store, StoreError, text};
use crate::domain::{Session, Upn};
use crate::register::{NewMark, NewReview, ReviewKind};

/// The size of the parts a document's bytes are kept in.
pub const PART_BYTES: usize = 1024 * 1024;

/// A document about to enter the ledger, described without its bytes (they follow in parts).
#[derive(Debug, Clone)]
pub struct DocumentEntry {
    /// Whose return it is.
    pub provider_id: String,
    /// The connector that fetched it, or `manual`.
    pub connector: String,
    /// Identity upstream (path+size+mtime, UIDVALIDITY+UID, ...).
    pub external_id: String,
    /// The file name.
    pub file_name: String,
    /// Media type if known.
    pub media_type: Option<String>,
    /// The SHA-256 of the bytes, hex: the same bytes from any route import once.
    pub sha256: String,
    /// The number of bytes.
    pub size: u64,
    /// Transport details (sender, message id) as JSON.
    pub metadata: serde_json::Value,
    /// When the transport received it.
    pub received_at: DateTime<Utc>,
    /// Set when the file could not be read at all: why.
    pub rejected: Option<String>,
}

/// How [`Store::begin_import`] went.
pub enum Begun {
    /// The same bytes were recorded before: nothing written but the checkpoint, committed.
    Duplicate {
        /// Says `duplicate`, with the earlier ledger row.
        summary: ImportSummary,
        /// Why the earlier record was rejected, when it was.
        rejected: Option<String>,
    },
    /// A new ledger row, in a transaction still open.
    New(ImportTx),
}

enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs a body once per backend with `$conn` the transaction's connection.
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

/// One document being written. Dropped without [`ImportTx::finish`], it rolls back.
pub struct ImportTx {
    tx: Tx,
    provider_id: String,
    received_at: DateTime<Utc>,
    now: DateTime<Utc>,
    rejected: bool,
    summary: ImportSummary,
    parts: i64,
    staged: usize,
    repeats: bool,
    /// A stored document read again: its place among the provider's returns is its own
    /// received time, not now.
    reread: bool,
    /// When the provider made the return, when its format says ([`ImportTx::set_report_date`]).
    report_date: Option<NaiveDate>,
}

impl Store {
    /// Opens the transaction for one document: the ledger row (unless the same bytes are
    /// recorded already) and the connector's checkpoint.
    pub async fn begin_import(
        &self,
        doc: &DocumentEntry,
        checkpoint: Option<CheckpointUpdate<'_>>,
        now: DateTime<Utc>,
    ) -> Result<Begun, StoreError> {
        let mut tx = match &self.backend {
            Backend::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        };
        let stage = match &tx {
            Tx::Sqlite(_) => STAGE_SQLITE,
            Tx::Postgres(_) => STAGE_POSTGRES,
        };
        let status = if doc.rejected.is_some() {
            DocumentStatus::Rejected
        } else {
            DocumentStatus::Imported
        };
        // Ok(the new ledger row), or Err(the row already holding these bytes, its reason).
        let begun: Result<i64, (i64, Option<String>)> = on_tx!(&mut tx, conn => {
            let existing: Option<(i64, Option<String>)> =
                sqlx::query_as("SELECT id, reason FROM documents WHERE provider_id = $1 AND sha256 = $2")
                    .bind(&doc.provider_id)
                    .bind(&doc.sha256)
                    .fetch_optional(&mut *conn)
                    .await?;
            if let Some(c) = checkpoint {
                save_checkpoint!(conn, c.connector, c.checkpoint, c.expected_version, now);
            }
            match existing {
                Some(id) => Err(id),
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO documents (provider_id, connector, external_id, file_name, media_type, sha256, size,
                             bytes, metadata, received_at, imported_at, status, reason)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
                    )
                    .bind(&doc.provider_id)
                    .bind(&doc.connector)
                    .bind(text::clean(&doc.external_id).into_owned())
                    .bind(text::clean(&doc.file_name).into_owned())
                    .bind(text::clean_opt(doc.media_type.as_deref()))
                    .bind(&doc.sha256)
                    .bind(i64::try_from(doc.size).unwrap_or(i64::MAX))
                    .bind(Vec::<u8>::new())
                    .bind(text::json_text(&doc.metadata))
                    .bind(doc.received_at)
                    .bind(now)
                    .bind(status.as_str())
                    .bind(text::clean_opt(doc.rejected.as_deref()))
                    .fetch_one(&mut *conn)
                    .await?;
                    sqlx::raw_sql(sqlx::AssertSqlSafe(stage)).execute(&mut *conn).await?;
                    Ok(id)
                }
            }
        });
        let id = match begun {
            Ok(id) => id,
            Err((existing, rejected)) => {
                match tx {
                    Tx::Sqlite(t) => t.commit().await?,
                    Tx::Postgres(t) => t.commit().await?,
                }
                let summary = ImportSummary {
                    document_id: existing,
                    duplicate: true,
                    ..ImportSummary::default()
                };
                return Ok(Begun::Duplicate { summary, rejected });
            }
        };
        Ok(Begun::New(ImportTx {
            tx,
            provider_id: doc.provider_id.clone(),
            received_at: doc.received_at,
            now,
            rejected: doc.rejected.is_some(),
            summary: ImportSummary {
                document_id: id,
                ..ImportSummary::default()
            },
            parts: 0,
            staged: 0,
            repeats: false,
            reread: false,
            report_date: None,
        }))
    }

    /// Opens the transaction for reading document `id`'s stored bytes again (after its
    /// provider's format was fixed): the earlier read is kept in `document_reads`, its marks
    /// still standing go to history and leave the register, and its open review items are
    /// closed as superseded. The new read's marks and review rows then go in as for a new
    /// document, and [`ImportTx::finish`] records it on the document's row.
    pub async fn begin_reread(&self, id: i64, now: DateTime<Utc>) -> Result<ImportTx, StoreError> {
        let mut tx = match &self.backend {
            Backend::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        };
        let stage = match &tx {
            Tx::Sqlite(_) => STAGE_SQLITE,
            Tx::Postgres(_) => STAGE_POSTGRES,
        };
        let found: Option<(String, DateTime<Utc>)> = on_tx!(&mut tx, conn => {
            let found: Option<(String, DateTime<Utc>)> =
                sqlx::query_as("SELECT provider_id, received_at FROM documents WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
            if found.is_some() {
                sqlx::query(REREAD_KEEP_READ).bind(id).bind(now).execute(&mut *conn).await?;
                sqlx::query(REREAD_ARCHIVE).bind(id).bind(now).execute(&mut *conn).await?;
                sqlx::query("DELETE FROM marks WHERE document_id = $1 AND review_id IS NULL")
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query(
                    "UPDATE review SET status = 'dismissed', decided_at = $1, decision_note = $2
                     WHERE document_id = $3 AND status = 'open'",
                )
                .bind(now)
                .bind("superseded: the document was read again (apsync documents reread)")
                .bind(id)
                .execute(&mut *conn)
                .await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(stage)).execute(&mut *conn).await?;
            }
            found
        });
        let (provider_id, received_at) = found.ok_or_else(|| {
            StoreError::NotFound(format!("no document {id}: `apsync documents list` shows the ledger"))
        })?;
        Ok(ImportTx {
            tx,
            provider_id,
            received_at,
            now,
            rejected: false,
            summary: ImportSummary {
                document_id: id,
                ..ImportSummary::default()
            },
            parts: 0,
            staged: 0,
            repeats: false,
            reread: true,
            report_date: None,
        })
    }

    /// Records that reading document `id` again failed as well: the earlier read is kept in
    /// `document_reads` and the document is now rejected with `reason`; its marks and review
    /// items are left as they were.
    pub async fn record_reread_rejected(&self, id: i64, reason: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        super::with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(REREAD_KEEP_READ).bind(id).bind(now).execute(&mut *tx).await?;
            sqlx::query("UPDATE documents SET status = 'rejected', reason = $1, imported_at = $2 WHERE id = $3")
                .bind(text::clean(reason).into_owned())
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// A document's raw bytes, as recorded.
    pub async fn document_bytes(&self, id: i64) -> Result<Vec<u8>, StoreError> {
        super::with_pool!(self, pool => {
            let mut bytes: Vec<u8> = sqlx::query_scalar("SELECT bytes FROM documents WHERE id = $1")
                .bind(id)
                .fetch_one(pool)
                .await?;
            let parts: Vec<Vec<u8>> =
                sqlx::query_scalar("SELECT bytes FROM document_parts WHERE document_id = $1 ORDER BY part")
                    .bind(id)
                    .fetch_all(pool)
                    .await?;
            for part in parts {
                bytes.extend_from_slice(&part);
            }
            Ok(bytes)
        })
    }
}

impl ImportTx {
    /// Records when the provider made the return (its format's `report_date`): with it, a
    /// return that repeats a mark a later return replaced proves it is newer when its date is
    /// after that return's (or after the day that one was received, when it has none).
    pub fn set_report_date(&mut self, date: Option<NaiveDate>) {
        self.report_date = date;
    }

    /// Appends the next part of the document's raw bytes (at most [`PART_BYTES`] each).
    pub async fn write_part(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        let (id, part) = (self.summary.document_id, self.parts);
        on_tx!(&mut self.tx, conn => {
            sqlx::query("INSERT INTO document_parts (document_id, part, bytes) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(part)
                .bind(bytes)
                .execute(&mut *conn)
                .await?;
        });
        self.parts += 1;
        Ok(())
    }

    /// Stages the next marks of the document, in file order.
    pub async fn stage_marks(&mut self, marks: &[NewMark]) -> Result<(), StoreError> {
        if self.rejected {
            return Ok(());
        }
        for chunk in marks.chunks(STAGE_BATCH) {
            let first = self.staged;
            self.staged += chunk.len();
            let found_repeats = match &mut self.tx {
                Tx::Sqlite(t) => {
                    let json = stage_json(first, chunk);
                    let staged = sqlx::query(STAGE_JSON_SQLITE)
                        .bind(&json)
                        .execute(&mut **t)
                        .await?
                        .rows_affected();
                    // Rare: the file gives a session twice. Kept aside, to compare at the end.
                    let repeats = staged < chunk.len() as u64;
                    if repeats {
                        sqlx::query(STAGE_REPEATS_SQLITE).bind(&json).execute(&mut **t).await?;
                    }
                    repeats
                }
                Tx::Postgres(t) => {
                    let columns = StageColumns::of(first, chunk);
                    let staged = columns
                        .bind(sqlx::query(STAGE_ARRAYS_POSTGRES))
                        .execute(&mut **t)
                        .await?
                        .rows_affected();
                    let repeats = staged < chunk.len() as u64;
                    if repeats {
                        columns
                            .bind(sqlx::query(STAGE_REPEATS_POSTGRES))
                            .execute(&mut **t)
                            .await?;
                    }
                    repeats
                }
            };
            self.repeats |= found_repeats;
        }
        Ok(())
    }

    /// Adds review rows of the document.
    pub async fn add_reviews(&mut self, reviews: &[NewReview]) -> Result<(), StoreError> {
        if self.rejected {
            return Ok(());
        }
        let (id, provider, now) = (self.summary.document_id, self.provider_id.as_str(), self.now);
        on_tx!(&mut self.tx, conn => {
            for r in reviews {
                insert_review!(conn, r, id, provider, now);
            }
        });
        self.summary.review_items += u32::try_from(reviews.len()).unwrap_or(u32::MAX);
        Ok(())
    }

    /// Applies the staged marks to the register (a later return replaces the provider's own
    /// earlier mark, which goes to history; anything else held becomes a conflict for review),
    /// records the counts, and commits.
    ///
    /// With the document's `fingerprint` (see `pipeline::fingerprint`): when an earlier
    /// document of the provider says exactly the same, this one is kept with its bytes but
    /// writes nothing (its review rows are dropped too), and the summary says `duplicate`
    /// with the earlier document.
    pub async fn finish(mut self, fingerprint: Option<String>) -> Result<ImportSummary, StoreError> {
        let provider = self.provider_id.clone();
        let (id, received, now) = (self.summary.document_id, self.received_at, self.now);
        let mut s = std::mem::take(&mut self.summary);
        let (rejected, repeats, staged) = (self.rejected, self.repeats, self.staged > 0);
        let same_as: Option<i64> = match (&fingerprint, rejected || self.reread) {
            (Some(f), false) => on_tx!(&mut self.tx, conn => {
                sqlx::query_scalar(SAME_RETURN).bind(&provider).bind(f).bind(id).fetch_optional(&mut *conn).await?
            }),
            _ => None,
        };
        if let Some(earlier) = same_as {
            on_tx!(&mut self.tx, conn => {
                sqlx::query("DELETE FROM review WHERE document_id = $1").bind(id).execute(&mut *conn).await?;
                sqlx::query("UPDATE documents SET fingerprint = $1, same_as = $2 WHERE id = $3")
                    .bind(&fingerprint)
                    .bind(earlier)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            });
            self.commit().await?;
            return Ok(ImportSummary {
                document_id: earlier,
                duplicate: true,
                ..ImportSummary::default()
            });
        }
        let (reread, report_date) = (self.reread, self.report_date);
        on_tx!(&mut self.tx, conn => {
            if report_date.is_some() {
                sqlx::query("UPDATE documents SET report_date = $1 WHERE id = $2")
                    .bind(report_date)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
            if reread && staged {
                // Read again, an old return takes its place by when it came: a session a later
                // return of the provider reports keeps that later mark.
                sqlx::query(REREAD_UNSTAGE_LATER).bind(&provider).bind(received).execute(&mut *conn).await?;
            }
            if !rejected && staged {
                if repeats {
                    let rows = sqlx::query(CONTRADICTED).fetch_all(&mut *conn).await?;
                    let mut keys = std::collections::BTreeSet::new();
                    for r in &rows {
                        let mark = staged_mark(r, "code")?;
                        let review = NewReview {
                            kind: ReviewKind::Conflict,
                            reason: format!(
                                "the file gives this pupil's {} {} session more than one mark: decide which is right",
                                mark.date, mark.session
                            ),
                            identifier: Some(mark.upn.to_string()),
                            upn: Some(mark.upn.clone()),
                            date: Some(mark.date),
                            session: Some(mark.session),
                            raw_mark: Some(mark.raw_mark),
                            locator: mark.locator,
                            raw_row: mark.raw_row,
                        };
                        insert_review!(conn, &review, id, &provider, now);
                        s.review_items += 1;
                        keys.insert((mark.upn.to_string(), mark.date, mark.session.as_str()));
                    }
                    for (upn, date, session) in keys {
                        sqlx::query(UNSTAGE).bind(upn).bind(date).bind(session).execute(&mut *conn).await?;
                    }
                }
                let counts = sqlx::query(CLASSIFY).bind(&provider).fetch_one(&mut *conn).await?;
                s.marks_added = count(counts.try_get("added")?);
                s.marks_unchanged = count(counts.try_get("unchanged")?);
                s.marks_replaced = count(counts.try_get("replaced")?);
                // Sessions the register holds already: conflicts, and marks going to history.
                // A return of new sessions (the usual case) skips both passes.
                let held: i64 = counts.try_get("held")?;
                if held > 0 {
                    let stale = sqlx::query(STALE_REPEATS).bind(&provider).fetch_all(&mut *conn).await?;
                    for r in &stale {
                        if proves_newer(report_date, r)? {
                            continue;
                        }
                        let mark = staged_mark(r, "new_code")?;
                        let held_code: String = r.try_get("code")?;
                        let by: Option<String> = r.try_get("file_name")?;
                        sqlx::query(UNSTAGE)
                            .bind(mark.upn.as_str())
                            .bind(mark.date)
                            .bind(mark.session.as_str())
                            .execute(&mut *conn)
                            .await?;
                        let review = stale_review(mark, &held_code, by.as_deref());
                        insert_review!(conn, &review, id, &provider, now);
                        s.review_items += 1;
                        // Counted as a replacement by CLASSIFY; it is not one now.
                        s.marks_replaced = s.marks_replaced.saturating_sub(1);
                    }
                    let conflicts = sqlx::query(CONFLICTS).bind(&provider).fetch_all(&mut *conn).await?;
                    for c in &conflicts {
                        let mark = staged_mark(c, "new_code")?;
                        let (code, holder): (String, String) = (c.try_get("code")?, c.try_get("provider_id")?);
                        let review = conflict_review(mark, &provider, &holder, &code);
                        insert_review!(conn, &review, id, &provider, now);
                        s.review_items += 1;
                    }
                    sqlx::query(ARCHIVE_REPLACED).bind(&provider).bind(now).bind(id).execute(&mut *conn).await?;
                }
                sqlx::query(if held > 0 { APPLY } else { APPLY_NEW })
                    .bind(&provider)
                    .bind(id)
                    .bind(received)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
            }
            let status = match (rejected, s.review_items) {
                (true, _) => DocumentStatus::Rejected,
                (false, 0) => DocumentStatus::Imported,
                (false, _) => DocumentStatus::PartlyImported,
            };
            sqlx::query(
                "UPDATE documents SET status = $1, marks_count = $2, review_count = $3, fingerprint = $4,
                     reason = CASE WHEN $5 THEN NULL ELSE reason END, imported_at = $6 WHERE id = $7",
            )
            .bind(status.as_str())
            .bind(i64::from(s.marks_added + s.marks_replaced + s.marks_unchanged))
            .bind(i64::from(s.review_items))
            .bind(&fingerprint)
            .bind(reread)
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        });
        self.commit().await?;
        Ok(s)
    }

    async fn commit(self) -> Result<(), StoreError> {
        match self.tx {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// The review item for a mark that repeats a value a later return of the same provider
/// replaced: the register keeps the later one until a person decides.
/// Whether a return dated `report_date` is newer than the one that replaced the mark it repeats
/// (a [`STALE_REPEATS`] row): its report date is after that return's, or after the day that one
/// was received when it names none.
fn proves_newer<R>(report_date: Option<NaiveDate>, replacing: &R) -> Result<bool, StoreError>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    for<'c> Option<NaiveDate>: sqlx::Decode<'c, R::Database> + sqlx::Type<R::Database>,
    for<'c> Option<DateTime<Utc>>: sqlx::Decode<'c, R::Database> + sqlx::Type<R::Database>,
{
    let theirs: Option<NaiveDate> = replacing.try_get("replacing_report_date")?;
    let received: Option<DateTime<Utc>> = replacing.try_get("replacing_received_at")?;
    Ok(crate::register::repeat_is_newer(
        report_date,
        theirs.or(received.map(|t| t.date_naive())),
    ))
}

fn stale_review(m: StagedMark, held: &str, by: Option<&str>) -> NewReview {
    let by = by.map(|f| format!(" ({f})")).unwrap_or_default();
    let reason = format!(
        "repeats an earlier mark that a later return replaced: {} for {} {} was changed to {held} by a later return{by}; \
         the register keeps {held}. If {} is right after all, resolve this item with it",
        m.code, m.date, m.session, m.code
    );
    NewReview {
        kind: ReviewKind::RepeatsReplaced,
        locator: m.locator,
        identifier: Some(m.upn.to_string()),
        raw_row: m.raw_row,
        reason,
        upn: Some(m.upn.clone()),
        date: Some(m.date),
        session: Some(m.session),
        raw_mark: Some(m.raw_mark),
    }
}

/// A staged mark read back, for the review row it becomes.
struct StagedMark {
    upn: Upn,
    date: NaiveDate,
    session: Session,
    code: String,
    raw_mark: String,
    locator: String,
    raw_row: Vec<String>,
}

fn staged_mark<R>(r: &R, code_column: &str) -> Result<StagedMark, StoreError>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    for<'d> String: sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
    for<'d> Option<String>: sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
    for<'d> NaiveDate: sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
{
    let corrupt = |what: &str, e: String| StoreError::Corrupt(format!("staged {what}: {e}"));
    let upn: String = r.try_get("upn")?;
    let session: String = r.try_get("session")?;
    let raw_row: String = r.try_get("raw_row")?;
    Ok(StagedMark {
        upn: upn
            .parse()
            .map_err(|e: crate::domain::UpnError| corrupt("UPN", e.to_string()))?,
        date: r.try_get("date")?,
        session: session.parse().map_err(|e| corrupt("session", format!("{e}")))?,
        code: r.try_get(code_column)?,
        raw_mark: r.try_get::<Option<String>, _>("raw_mark")?.unwrap_or_default(),
        locator: r.try_get("locator")?,
        raw_row: serde_json::from_str(&raw_row).map_err(|e| corrupt("row", e.to_string()))?,
    })
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The review item for a mark another provider (or a person) already holds the session for.
fn conflict_review(m: StagedMark, provider: &str, holder: &str, code: &str) -> NewReview {
    let reason = if holder == provider {
        format!(
            "{provider} now reports {} for {} {}, but a person decided {code} for that session: decide again",
            m.code, m.date, m.session
        )
    } else {
        format!(
            "{provider} reports {} for {} {}, but {holder} already holds {code} for that session: decide which is right",
            m.code, m.date, m.session
        )
    };
    NewReview {
        kind: ReviewKind::Conflict,
        locator: m.locator,
        identifier: Some(m.upn.to_string()),
        raw_row: m.raw_row,
        reason,
        upn: Some(m.upn.clone()),
        date: Some(m.date),
        session: Some(m.session),
        raw_mark: Some(m.raw_mark),
    }
}
