//! The ledger of documents, the marks they carry and the history of every replaced mark.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::Row;

use apsync_connector_core::Checkpoint;

use super::shared::{insert_review, save_checkpoint};
use super::staged::{
    APPLY, ARCHIVE_REPLACED, CLASSIFY, CONFLICTS, STAGE_BATCH, STAGE_JSON_POSTGRES, STAGE_JSON_SQLITE, STAGE_POSTGRES,
    STAGE_SQLITE, stage_json,
};
use super::{Backend, Store, StoreError, with_pool, write_tx};
use crate::domain::{Code, Session, Upn};
use crate::register::{NewMark, NewReview, ReviewKind};

/// How much of a document became marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentStatus {
    /// Every row became a mark (or was blank).
    Imported,
    /// Some rows went to review; the rest became marks.
    PartlyImported,
    /// The file could not be read at all; nothing of it was written.
    Rejected,
}

impl DocumentStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentStatus::Imported => "imported",
            DocumentStatus::PartlyImported => "partly-imported",
            DocumentStatus::Rejected => "rejected",
        }
    }
}

/// A fetched return about to enter the ledger.
#[derive(Debug, Clone)]
pub struct NewDocument {
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
    /// The raw bytes, kept so any import can be checked or replayed.
    pub bytes: Vec<u8>,
    /// Transport details (sender, message id) as JSON.
    pub metadata: serde_json::Value,
    /// When the transport received it.
    pub received_at: DateTime<Utc>,
    /// Set when the file could not be read at all: why.
    pub rejected: Option<String>,
}

impl NewDocument {
    /// The SHA-256 of the bytes, hex: the same bytes from any route import once.
    pub fn sha256(&self) -> String {
        crate::digest::sha256_hex(&self.bytes)
    }
}

/// A connector's checkpoint moving on with the document it fetched.
#[derive(Debug, Clone, Copy)]
pub struct CheckpointUpdate<'a> {
    /// The connector.
    pub connector: &'a str,
    /// Its position after this document.
    pub checkpoint: &'a Checkpoint,
    /// The version read before fetching; another run having moved it aborts the transaction.
    pub expected_version: i64,
}

/// What importing one document did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// The ledger row (the earlier one when the bytes were seen before).
    pub document_id: i64,
    /// The same bytes were already imported: nothing was written.
    pub duplicate: bool,
    /// Marks written for sessions that had none.
    pub marks_added: u32,
    /// Marks that replaced an earlier mark of the same provider (the earlier one is in history).
    pub marks_replaced: u32,
    /// Marks identical to the current ones.
    pub marks_unchanged: u32,
    /// Rows held for a person, including conflicts with another provider.
    pub review_items: u32,
}

/// Which marks to list.
#[derive(Debug, Clone, Default)]
pub struct MarkFilter {
    /// First day, inclusive.
    pub from: Option<NaiveDate>,
    /// Last day, inclusive.
    pub to: Option<NaiveDate>,
    /// One pupil only.
    pub upn: Option<Upn>,
}

/// One row of the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MarkRow {
    /// The pupil.
    pub upn: String,
    /// The school day.
    pub date: NaiveDate,
    /// AM or PM.
    pub session: Session,
    /// The statutory code.
    pub code: Code,
    /// Who reported it.
    pub provider: String,
}

/// Bounds that stand for "no limit" and that both backends' date types can hold.
const EARLIEST: Option<NaiveDate> = NaiveDate::from_ymd_opt(1900, 1, 1);
const LATEST: Option<NaiveDate> = NaiveDate::from_ymd_opt(9999, 12, 31);

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
        let sha = doc.sha256();
        let mut s = ImportSummary::default();
        let (stage_ddl, stage_json_sql) = match self.backend {
            Backend::Sqlite(_) => (STAGE_SQLITE, STAGE_JSON_SQLITE),
            Backend::Postgres(_) => (STAGE_POSTGRES, STAGE_JSON_POSTGRES),
        };
        write_tx!(self, tx => {
            let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM documents WHERE provider_id = $1 AND sha256 = $2")
                .bind(&doc.provider_id)
                .bind(&sha)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(c) = checkpoint {
                save_checkpoint!(tx, c.connector, c.checkpoint, c.expected_version, now);
            }
            if let Some(id) = existing {
                s.document_id = id;
                s.duplicate = true;
            } else {
                let status = if doc.rejected.is_some() {
                    DocumentStatus::Rejected
                } else if reviews.is_empty() {
                    DocumentStatus::Imported
                } else {
                    DocumentStatus::PartlyImported
                };
                s.document_id = sqlx::query_scalar(
                    "INSERT INTO documents (provider_id, connector, external_id, file_name, media_type, sha256, size, bytes,
                         metadata, received_at, imported_at, status, reason)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
                )
                .bind(&doc.provider_id)
                .bind(&doc.connector)
                .bind(&doc.external_id)
                .bind(&doc.file_name)
                .bind(&doc.media_type)
                .bind(&sha)
                .bind(doc.bytes.len() as i64)
                .bind(&doc.bytes)
                .bind(doc.metadata.to_string())
                .bind(doc.received_at)
                .bind(now)
                .bind(status.as_str())
                .bind(&doc.rejected)
                .fetch_one(&mut *tx)
                .await?;
                if doc.rejected.is_none() {
                    if !marks.is_empty() {
                        sqlx::raw_sql(sqlx::AssertSqlSafe(stage_ddl)).execute(&mut *tx).await?;
                        sqlx::query("DELETE FROM staged_marks").execute(&mut *tx).await?;
                        for (n, chunk) in marks.chunks(STAGE_BATCH).enumerate() {
                            sqlx::query(sqlx::AssertSqlSafe(stage_json_sql))
                                .bind(stage_json(n * STAGE_BATCH, chunk))
                                .execute(&mut *tx)
                                .await?;
                        }
                        let counts = sqlx::query(CLASSIFY).bind(&doc.provider_id).fetch_one(&mut *tx).await?;
                        s.marks_added = count(counts.try_get("added")?);
                        s.marks_unchanged = count(counts.try_get("unchanged")?);
                        s.marks_replaced = count(counts.try_get("replaced")?);
                        let conflicts = sqlx::query(CONFLICTS).bind(&doc.provider_id).fetch_all(&mut *tx).await?;
                        for c in &conflicts {
                            let seq: i64 = c.try_get("seq")?;
                            let (code, holder): (String, String) = (c.try_get("code")?, c.try_get("provider_id")?);
                            let Some(m) = usize::try_from(seq).ok().and_then(|i| marks.get(i)) else { continue };
                            let review = conflict_review(m, &doc.provider_id, &holder, &code);
                            insert_review!(tx, &review, s.document_id, &doc.provider_id, now);
                            s.review_items += 1;
                        }
                        sqlx::query(ARCHIVE_REPLACED)
                            .bind(&doc.provider_id)
                            .bind(now)
                            .bind(s.document_id)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query(APPLY)
                            .bind(&doc.provider_id)
                            .bind(s.document_id)
                            .bind(doc.received_at)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                    }
                    for r in reviews {
                        insert_review!(tx, r, s.document_id, &doc.provider_id, now);
                        s.review_items += 1;
                    }
                }
                sqlx::query("UPDATE documents SET marks_count = $1, review_count = $2 WHERE id = $3")
                    .bind(i64::from(s.marks_added + s.marks_replaced + s.marks_unchanged))
                    .bind(i64::from(s.review_items))
                    .bind(s.document_id)
                    .execute(&mut *tx)
                    .await?;
            }
        });
        Ok(s)
    }

    /// The register, sorted by UPN, date, AM before PM.
    pub async fn marks(&self, filter: &MarkFilter) -> Result<Vec<MarkRow>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT upn, date, session, code, provider_id FROM marks
                 WHERE date >= $1 AND date <= $2 AND ($3 = '' OR upn = $3)
                 ORDER BY upn, date, session",
            )
            .bind(filter.from.or(EARLIEST))
            .bind(filter.to.or(LATEST))
            .bind(filter.upn.as_ref().map(|u| u.as_str()).unwrap_or(""))
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let session: String = r.try_get("session")?;
                let code: String = r.try_get("code")?;
                out.push(MarkRow {
                    upn: r.try_get("upn")?,
                    date: r.try_get("date")?,
                    session: session.parse().map_err(|e| StoreError::Corrupt(format!("session: {e}")))?,
                    code: code.parse().map_err(|e| StoreError::Corrupt(format!("mark code: {e}")))?,
                    provider: r.try_get("provider_id")?,
                });
            }
            Ok(out)
        })
    }

    /// Earlier values of one pupil's session, oldest first: `(code, provider, document)`.
    pub async fn mark_history(
        &self,
        upn: &Upn,
        date: NaiveDate,
        session: Session,
    ) -> Result<Vec<(String, String, Option<i64>)>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT code, provider_id, document_id FROM mark_history
                 WHERE upn = $1 AND date = $2 AND session = $3 ORDER BY id",
            )
            .bind(upn.as_str())
            .bind(date)
            .bind(session.as_str())
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| Ok((r.try_get("code")?, r.try_get("provider_id")?, r.try_get("document_id")?)))
                .collect::<Result<Vec<_>, StoreError>>()
        })
    }
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The review item for a mark another provider (or a person) already holds the session for.
fn conflict_review(m: &NewMark, provider: &str, holder: &str, code: &str) -> NewReview {
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
        locator: m.locator.clone(),
        identifier: Some(m.upn.to_string()),
        raw_row: m.raw_row.clone(),
        reason,
        upn: Some(m.upn.clone()),
        date: Some(m.date),
        session: Some(m.session),
        raw_mark: Some(m.raw_mark.clone()),
    }
}
