//! Counts for `apsync status`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::runs::ConnectorRun;
use super::{Store, StoreError, with_pool};

/// What is in the store, at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreStatus {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// Pupils on roll.
    pub pupils_on_roll: i64,
    /// Pupils kept after leaving the roll.
    pub pupils_off_roll: i64,
    /// Placements.
    pub placements: i64,
    /// Providers.
    pub providers: i64,
    /// Documents imported wholly.
    pub documents_imported: i64,
    /// Documents with rows in review.
    pub documents_partly_imported: i64,
    /// Documents that could not be read.
    pub documents_rejected: i64,
    /// Marks in the register.
    pub marks: i64,
    /// Review items waiting.
    pub review_open: i64,
    /// When the oldest waiting review item was raised.
    pub review_oldest_open: Option<DateTime<Utc>>,
    /// The latest run of each connector.
    pub connectors: Vec<ConnectorRun>,
}

impl Store {
    /// Counts of everything `status` shows.
    pub async fn status(&self) -> Result<StoreStatus, StoreError> {
        let connectors = self.latest_runs().await?;
        with_pool!(self, pool => {
            let r = sqlx::query(
                "SELECT
                   (SELECT COUNT(*) FROM pupils WHERE on_roll) AS on_roll,
                   (SELECT COUNT(*) FROM pupils WHERE NOT on_roll) AS off_roll,
                   (SELECT COUNT(*) FROM placements) AS placements,
                   (SELECT COUNT(*) FROM providers) AS providers,
                   (SELECT COUNT(*) FROM documents WHERE status = 'imported') AS imported,
                   (SELECT COUNT(*) FROM documents WHERE status = 'partly-imported') AS partly,
                   (SELECT COUNT(*) FROM documents WHERE status = 'rejected') AS rejected,
                   (SELECT COUNT(*) FROM marks) AS marks,
                   (SELECT COUNT(*) FROM review WHERE status = 'open') AS review_open",
            )
            .fetch_one(pool)
            .await?;
            let oldest: Option<DateTime<Utc>> =
                sqlx::query_scalar("SELECT created_at FROM review WHERE status = 'open' ORDER BY id LIMIT 1")
                    .fetch_optional(pool)
                    .await?;
            Ok(StoreStatus {
                backend: self.backend_name().to_string(),
                pupils_on_roll: r.try_get("on_roll")?,
                pupils_off_roll: r.try_get("off_roll")?,
                placements: r.try_get("placements")?,
                providers: r.try_get("providers")?,
                documents_imported: r.try_get("imported")?,
                documents_partly_imported: r.try_get("partly")?,
                documents_rejected: r.try_get("rejected")?,
                marks: r.try_get("marks")?,
                review_open: r.try_get("review_open")?,
                review_oldest_open: oldest,
                connectors,
            })
        })
    }
}
