//! What `/metrics` reports, read from the store at scrape time (so a restart loses nothing), and
//! the cheap query `/readyz` and the watchdog use to prove the database answers.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError, with_pool};

/// Counts across the store for the Prometheus exposition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Connector runs by connector and status (`running`, `ok`, `failed`, `interrupted`).
    pub runs: Vec<(String, String, i64)>,
    /// When each connector last finished a run without error.
    pub last_success: Vec<(String, DateTime<Utc>)>,
    /// Documents by status (`imported`, `partly-imported`, `rejected`).
    pub documents: Vec<(String, i64)>,
    /// Marks in the register.
    pub marks: i64,
    /// Review items waiting.
    pub review_open: i64,
    /// Alerts open, by rule.
    pub alerts_open: Vec<(String, i64)>,
    /// Deliveries by channel, sink and status (`pending`, `delivered`, `dead`).
    pub deliveries: Vec<(String, String, String, i64)>,
    /// Per channel: when the oldest pending delivery was queued.
    pub oldest_pending: Vec<(String, DateTime<Utc>)>,
    /// The scheduled jobs held now (by which process, since when), for replicas on one database.
    pub jobs: Vec<super::JobLease>,
}

impl Store {
    /// Proves the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let _one: i64 = sqlx::query_scalar("SELECT CAST(1 AS BIGINT)").fetch_one(pool).await?;
            Ok(())
        })
    }

    /// Everything `/metrics` shows.
    pub async fn metrics(&self) -> Result<MetricsSnapshot, StoreError> {
        let mut m = MetricsSnapshot::default();
        with_pool!(self, pool => {
            for r in sqlx::query("SELECT connector, status, COUNT(*) AS n FROM connector_runs GROUP BY connector, status ORDER BY connector, status")
                .fetch_all(pool)
                .await?
            {
                m.runs.push((r.try_get("connector")?, r.try_get("status")?, r.try_get("n")?));
            }
            let connectors: Vec<String> = sqlx::query_scalar("SELECT DISTINCT connector FROM connector_runs ORDER BY connector")
                .fetch_all(pool)
                .await?;
            for c in connectors {
                let last: Option<DateTime<Utc>> = sqlx::query_scalar(
                    "SELECT finished_at FROM connector_runs WHERE connector = $1 AND status = 'ok' ORDER BY id DESC LIMIT 1",
                )
                .bind(&c)
                .fetch_optional(pool)
                .await?
                .flatten();
                if let Some(last) = last {
                    m.last_success.push((c, last));
                }
            }
            for r in sqlx::query("SELECT status, COUNT(*) AS n FROM documents GROUP BY status ORDER BY status")
                .fetch_all(pool)
                .await?
            {
                m.documents.push((r.try_get("status")?, r.try_get("n")?));
            }
            m.marks = sqlx::query_scalar("SELECT COUNT(*) FROM marks").fetch_one(pool).await?;
            m.review_open = sqlx::query_scalar("SELECT COUNT(*) FROM review WHERE status = 'open'")
                .fetch_one(pool)
                .await?;
            for r in sqlx::query("SELECT rule, COUNT(*) AS n FROM alerts WHERE state = 'open' GROUP BY rule ORDER BY rule")
                .fetch_all(pool)
                .await?
            {
                m.alerts_open.push((r.try_get("rule")?, r.try_get("n")?));
            }
            for r in sqlx::query(
                "SELECT channel, sink, status, COUNT(*) AS n FROM outbox GROUP BY channel, sink, status ORDER BY channel, sink, status",
            )
            .fetch_all(pool)
            .await?
            {
                m.deliveries.push((r.try_get("channel")?, r.try_get("sink")?, r.try_get("status")?, r.try_get("n")?));
            }
            for channel in ["email", "push"] {
                let oldest: Option<DateTime<Utc>> = sqlx::query_scalar(
                    "SELECT created_at FROM outbox WHERE channel = $1 AND status = 'pending' ORDER BY created_at LIMIT 1",
                )
                .bind(channel)
                .fetch_optional(pool)
                .await?;
                if let Some(oldest) = oldest {
                    m.oldest_pending.push((channel.to_string(), oldest));
                }
            }
        });
        m.jobs = self.held_jobs(Utc::now()).await?;
        Ok(m)
    }
}
