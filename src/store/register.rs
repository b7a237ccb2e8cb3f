//! The ledger of documents, the marks they carry and the history of every replaced mark.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use apsync_connector_core::Checkpoint;

use super::shared::{archive_mark, insert_review, save_checkpoint};
use super::{Store, StoreError, with_pool, write_tx};
use crate::domain::{Code, Session, Upn};
use crate::register::{CurrentMark, MarkDecision, NewMark, NewReview, ReviewKind, decide};

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
        let digest = Sha256::digest(&self.bytes);
        digest.iter().map(|b| format!("{b:02x}")).collect()
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
                    for m in marks {
                        let current = sqlx::query(
                            "SELECT code, provider_id, review_id FROM marks WHERE upn = $1 AND date = $2 AND session = $3",
                        )
                        .bind(m.upn.as_str())
                        .bind(m.date)
                        .bind(m.session.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                        let current = match &current {
                            Some(r) => Some((r.try_get::<String, _>("code")?, r.try_get::<String, _>("provider_id")?, r.try_get::<Option<i64>, _>("review_id")?.is_some())),
                            None => None,
                        };
                        let view = current.as_ref().map(|(code, provider_id, by_person)| CurrentMark {
                            code,
                            provider_id,
                            decided_by_person: *by_person,
                        });
                        match decide(view.as_ref(), &doc.provider_id, m.code.as_str()) {
                            MarkDecision::Unchanged => s.marks_unchanged += 1,
                            MarkDecision::Conflict => {
                                let (code, holder, _) = current.as_ref().map(|(c, p, b)| (c.as_str(), p.as_str(), b)).unwrap_or(("", "", &false));
                                let review = NewReview {
                                    kind: ReviewKind::Conflict,
                                    locator: m.locator.clone(),
                                    identifier: Some(m.upn.to_string()),
                                    raw_row: m.raw_row.clone(),
                                    reason: format!(
                                        "{} reports {} for {} {}, but {} already holds {} for that session: decide which is right",
                                        doc.provider_id, m.code, m.date, m.session, holder, code
                                    ),
                                    upn: Some(m.upn.clone()),
                                    date: Some(m.date),
                                    session: Some(m.session),
                                    raw_mark: Some(m.raw_mark.clone()),
                                };
                                insert_review!(tx, &review, s.document_id, &doc.provider_id, now);
                                s.review_items += 1;
                            }
                            decision @ (MarkDecision::Insert | MarkDecision::Replace) => {
                                if decision == MarkDecision::Replace {
                                    archive_mark!(tx, m.upn.as_str(), m.date, m.session.as_str(), now, Some(s.document_id), None::<i64>);
                                    s.marks_replaced += 1;
                                } else {
                                    s.marks_added += 1;
                                }
                                sqlx::query(
                                    "INSERT INTO marks (upn, date, session, code, provider_id, raw_mark, comment, document_id,
                                         review_id, received_at, recorded_at)
                                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10)
                                     ON CONFLICT (upn, date, session) DO UPDATE SET code = excluded.code,
                                         provider_id = excluded.provider_id, raw_mark = excluded.raw_mark,
                                         comment = excluded.comment, document_id = excluded.document_id, review_id = NULL,
                                         received_at = excluded.received_at, recorded_at = excluded.recorded_at",
                                )
                                .bind(m.upn.as_str())
                                .bind(m.date)
                                .bind(m.session.as_str())
                                .bind(m.code.as_str())
                                .bind(&doc.provider_id)
                                .bind(&m.raw_mark)
                                .bind(&m.comment)
                                .bind(s.document_id)
                                .bind(doc.received_at)
                                .bind(now)
                                .execute(&mut *tx)
                                .await?;
                            }
                        }
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
