//! Writing one document as a stream: its ledger row, its raw bytes in parts, its marks and
//! review rows a batch at a time, all in one transaction that commits at the end or leaves no
//! trace. A long return is never held whole, here or upstream.

use chrono::{DateTime, NaiveDate, Utc};

use super::ledger::{CheckpointUpdate, DocumentEntry, DocumentStatus, ImportSummary, NewDocument, PART_BYTES};
use super::shared::{insert_review, save_checkpoint};
use super::staged::{
    REREAD_ARCHIVE, REREAD_KEEP_READ, STAGE_ARRAYS_POSTGRES, STAGE_BATCH, STAGE_JSON_SQLITE, STAGE_POSTGRES,
    STAGE_REPEATS_POSTGRES, STAGE_REPEATS_SQLITE, STAGE_SQLITE, StageColumns, stage_json,
};
use super::{Backend, Store, StoreError, text};
use crate::register::{NewMark, NewReview};

/// How [`Store::begin_import`] went: the bytes were recorded before, or a new document is
/// being written.
pub enum NewOrDuplicate {
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

// After `on_tx!`, which it uses: macros are visible in the text that follows them.
mod apply;

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
    /// Writes a document, its marks, its review rows and (for a connector) its new checkpoint in
    /// one transaction. The same bytes for the same provider a second time write no marks and
    /// report `duplicate`; the checkpoint still moves on.
    pub async fn import_document(
        &self,
        doc: &NewDocument,
        marks: &[NewMark],
        reviews: &[NewReview],
        checkpoint: Option<CheckpointUpdate<'_>>,
        now: DateTime<Utc>,
    ) -> Result<ImportSummary, StoreError> {
        let mut tx = match self.begin_import(&doc.entry(), checkpoint, now).await? {
            NewOrDuplicate::Duplicate { summary, .. } => return Ok(summary),
            NewOrDuplicate::New(tx) => tx,
        };
        for part in doc.bytes.chunks(PART_BYTES) {
            tx.write_part(part).await?;
        }
        tx.stage_marks(marks).await?;
        tx.add_reviews(reviews).await?;
        tx.finish(None).await
    }

    /// Opens the transaction for one document: the ledger row (unless the same bytes are
    /// recorded already) and the connector's checkpoint.
    pub async fn begin_import(
        &self,
        doc: &DocumentEntry,
        checkpoint: Option<CheckpointUpdate<'_>>,
        now: DateTime<Utc>,
    ) -> Result<NewOrDuplicate, StoreError> {
        let (mut tx, stage) = self.begin_write().await?;
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
                return Ok(NewOrDuplicate::Duplicate { summary, rejected });
            }
        };
        let mut tx = ImportTx::new(tx, id, doc.provider_id.clone(), doc.received_at, now);
        tx.rejected = doc.rejected.is_some();
        Ok(NewOrDuplicate::New(tx))
    }

    /// Opens the transaction for reading document `id`'s stored bytes again (after its
    /// provider's format was fixed): the earlier read is kept in `document_reads`, its marks
    /// still standing go to history and leave the register, and its open review items are
    /// closed as superseded. The new read's marks and review rows then go in as for a new
    /// document, and [`ImportTx::finish`] records it on the document's row.
    pub async fn begin_reread(&self, id: i64, now: DateTime<Utc>) -> Result<ImportTx, StoreError> {
        let (mut tx, stage) = self.begin_write().await?;
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
        let mut tx = ImportTx::new(tx, id, provider_id, received_at, now);
        tx.reread = true;
        Ok(tx)
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

    /// A write transaction for one document (SQLite takes its lock up front, as in
    /// [`write_tx!`](super::write_tx)), with the statement that makes its staging tables.
    async fn begin_write(&self) -> Result<(Tx, &'static str), StoreError> {
        Ok(match &self.backend {
            Backend::Sqlite(pool) => (Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?), STAGE_SQLITE),
            Backend::Postgres(pool) => (Tx::Postgres(pool.begin().await?), STAGE_POSTGRES),
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
    /// Document `id`'s transaction, nothing written through it yet.
    fn new(tx: Tx, id: i64, provider_id: String, received_at: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        ImportTx {
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
            reread: false,
            report_date: None,
        }
    }

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

    async fn commit(self) -> Result<(), StoreError> {
        match self.tx {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}
