//! The ledger as people read it: every document recorded, its latest read and its earlier ones.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError, with_pool};

/// One document in the ledger, as its latest read left it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentRow {
    /// The ledger id (what `documents reread` takes).
    pub id: i64,
    /// Whose return it is.
    pub provider: String,
    /// The connector that fetched it, or `manual`.
    pub connector: String,
    /// Identity upstream.
    pub external_id: String,
    /// The file name.
    pub file_name: String,
    /// Media type, when known.
    pub media_type: Option<String>,
    /// Transport details.
    pub metadata: serde_json::Value,
    /// When the transport received it.
    pub received_at: DateTime<Utc>,
    /// When it was last read.
    pub read_at: DateTime<Utc>,
    /// `imported`, `partly-imported` or `rejected`.
    pub status: String,
    /// Why it was rejected, when it was.
    pub reason: Option<String>,
    /// Marks its latest read gave.
    pub marks: i64,
    /// Rows its latest read sent to review.
    pub review_items: i64,
    /// The earlier document saying exactly the same, when this one is a repeat of it.
    pub same_as: Option<i64>,
    /// How many times it was read before its latest read.
    pub earlier_reads: i64,
}

/// Which documents to list.
#[derive(Debug, Clone, Default)]
pub struct DocumentFilter {
    /// One provider only.
    pub provider: Option<String>,
    /// One status only (`imported`, `partly-imported`, `rejected`).
    pub status: Option<String>,
}

const SELECT: &str = "SELECT d.id, d.provider_id, d.connector, d.external_id, d.file_name, d.media_type, d.metadata,
    d.received_at, d.imported_at, d.status, d.reason, d.marks_count, d.review_count, d.same_as,
    (SELECT COUNT(*) FROM document_reads r WHERE r.document_id = d.id) AS earlier_reads
  FROM documents d";

impl Store {
    /// The documents matching `filter`, oldest first.
    pub async fn documents(&self, filter: &DocumentFilter) -> Result<Vec<DocumentRow>, StoreError> {
        let query =
            format!("{SELECT} WHERE ($1 = '' OR d.provider_id = $1) AND ($2 = '' OR d.status = $2) ORDER BY d.id");
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(query))
                .bind(filter.provider.clone().unwrap_or_default())
                .bind(filter.status.clone().unwrap_or_default())
                .fetch_all(pool)
                .await?;
            rows.iter().map(document_row).collect()
        })
    }

    /// One document, if the ledger has it.
    pub async fn document(&self, id: i64) -> Result<Option<DocumentRow>, StoreError> {
        let query = format!("{SELECT} WHERE d.id = $1");
        with_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(query)).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(document_row).transpose()
        })
    }
}

fn document_row<R>(r: &R) -> Result<DocumentRow, StoreError>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    for<'d> String: sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
    for<'d> Option<String>: sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
    for<'d> i64: sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
    for<'d> Option<i64>: sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
    for<'d> DateTime<Utc>: sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
{
    let metadata: String = r.try_get("metadata")?;
    Ok(DocumentRow {
        id: r.try_get("id")?,
        provider: r.try_get("provider_id")?,
        connector: r.try_get("connector")?,
        external_id: r.try_get("external_id")?,
        file_name: r.try_get("file_name")?,
        media_type: r.try_get("media_type")?,
        metadata: serde_json::from_str(&metadata).unwrap_or(serde_json::Value::Null),
        received_at: r.try_get("received_at")?,
        read_at: r.try_get("imported_at")?,
        status: r.try_get("status")?,
        reason: r.try_get("reason")?,
        marks: r.try_get("marks_count")?,
        review_items: r.try_get("review_count")?,
        same_as: r.try_get("same_as")?,
        earlier_reads: r.try_get("earlier_reads")?,
    })
}
