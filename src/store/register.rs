//! The ledger of documents, the marks they carry and the history of every replaced mark.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::Row;

use apsync_connector_core::Checkpoint;

use super::import::{Begun, DocumentEntry, PART_BYTES};
use super::{Store, StoreError, with_pool};
use crate::domain::{Session, Upn};
use crate::register::{NewMark, NewReview};

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
        crate::sha256::sha256_hex(&self.bytes)
    }

    /// The ledger entry, without the bytes.
    pub fn entry(&self) -> DocumentEntry {
        DocumentEntry {
            provider_id: self.provider_id.clone(),
            connector: self.connector.clone(),
            external_id: self.external_id.clone(),
            file_name: self.file_name.clone(),
            media_type: self.media_type.clone(),
            sha256: self.sha256(),
            size: self.bytes.len() as u64,
            metadata: self.metadata.clone(),
            received_at: self.received_at,
            rejected: self.rejected.clone(),
        }
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

/// One row of the register (the core's [`Mark`](crate::register::Mark)).
pub use crate::register::Mark as MarkRow;

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
        let mut tx = match self.begin_import(&doc.entry(), checkpoint, now).await? {
            Begun::Duplicate { summary, .. } => return Ok(summary),
            Begun::New(tx) => tx,
        };
        for part in doc.bytes.chunks(PART_BYTES) {
            tx.write_part(part).await?;
        }
        tx.stage_marks(marks).await?;
        tx.add_reviews(reviews).await?;
        tx.finish(None).await
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
