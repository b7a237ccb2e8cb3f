//! Connector runs and checkpoints.

use apsync_connector_core::Checkpoint;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::shared::save_checkpoint;
use super::{Store, StoreError, with_pool, write_tx};

/// How a connector run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Still going (or the daemon stopped during it).
    Running,
    /// Finished.
    Ok,
    /// Failed; see the error.
    Failed,
    /// Cut short: the process running it stopped (killed, crashed, the machine restarted) before
    /// it finished, as a later process found.
    Interrupted,
}

impl RunStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// A finished or running connector run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectorRun {
    /// The connector.
    pub connector: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// `running`, `ok`, `failed` or `interrupted`.
    pub status: String,
    /// Documents imported.
    pub documents: i64,
    /// Marks written.
    pub marks: i64,
    /// Rows sent to review.
    pub review_items: i64,
    /// The error kind, when it failed.
    pub error_kind: Option<String>,
    /// The error, when it failed.
    pub error: Option<String>,
}

impl Store {
    /// Records the start of a run by the process `run_by` (`host:pidns:pid:start`, see
    /// `outbox::owner`), returning its id.
    pub async fn start_run(&self, connector: &str, run_by: &str, now: DateTime<Utc>) -> Result<i64, StoreError> {
        with_pool!(self, pool => {
            Ok(sqlx::query_scalar(
                "INSERT INTO connector_runs (connector, started_at, status, run_by) VALUES ($1, $2, 'running', $3) RETURNING id",
            )
            .bind(connector)
            .bind(now)
            .bind(run_by)
            .fetch_one(pool)
            .await?)
        })
    }

    /// Who is running the runs still marked running: each process named once, `None` for runs
    /// recorded before runs named their process.
    pub async fn run_holders(&self) -> Result<Vec<Option<String>>, StoreError> {
        with_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT DISTINCT run_by FROM connector_runs WHERE status = 'running' ORDER BY run_by")
                .fetch_all(pool)
                .await?)
        })
    }

    /// Closes the runs still marked running by `run_by` (`None`: runs naming no process) that
    /// started before `started_before` (any time when `None`), with `status` and the error
    /// (kind, text); how many. Only
    /// for a process known to be gone, or runs too old to be alive: a live run would be closed
    /// under its feet (its own end, when it comes, is recorded over this).
    pub async fn close_runs_of(
        &self,
        run_by: Option<&str>,
        started_before: Option<DateTime<Utc>>,
        status: RunStatus,
        error: (&str, &str),
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let holder = if run_by.is_some() {
            "run_by = $5"
        } else {
            "run_by IS NULL AND $5 IS NULL"
        };
        let sql = format!(
            "UPDATE connector_runs SET status = $1, error_kind = $2, error = $3, finished_at = $4
             WHERE status = 'running' AND {holder} AND ($6 IS NULL OR started_at < $6)"
        );
        with_pool!(self, pool => {
            Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(status.as_str())
                .bind(error.0)
                .bind(error.1)
                .bind(now)
                .bind(run_by)
                .bind(started_before)
                .execute(pool)
                .await?
                .rows_affected())
        })
    }

    /// Closes the runs of `connector` still marked running by `run_by` with `status` and the
    /// error (kind, text), when the task running it ended without recording its end; how many.
    pub async fn close_runs_of_connector(
        &self,
        connector: &str,
        run_by: &str,
        status: RunStatus,
        error: (&str, &str),
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        with_pool!(self, pool => {
            Ok(sqlx::query(
                "UPDATE connector_runs SET status = $1, error_kind = $2, error = $3, finished_at = $4
                 WHERE status = 'running' AND connector = $5 AND run_by = $6",
            )
            .bind(status.as_str())
            .bind(error.0)
            .bind(error.1)
            .bind(now)
            .bind(connector)
            .bind(run_by)
            .execute(pool)
            .await?
            .rows_affected())
        })
    }

    /// Records how a run ended.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_run(
        &self,
        id: i64,
        status: RunStatus,
        counts: (i64, i64, i64),
        error: Option<(&str, &str)>,
        started_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let duration_ms = (now - started_at).num_milliseconds();
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE connector_runs SET finished_at = $1, status = $2, documents = $3, marks = $4, review_items = $5,
                     error_kind = $6, error = $7, duration_ms = $8 WHERE id = $9",
            )
            .bind(now)
            .bind(status.as_str())
            .bind(counts.0)
            .bind(counts.1)
            .bind(counts.2)
            .bind(error.map(|e| e.0))
            .bind(error.map(|e| e.1))
            .bind(duration_ms)
            .bind(id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The latest run of each connector, by connector.
    pub async fn latest_runs(&self) -> Result<Vec<ConnectorRun>, StoreError> {
        self.runs_where(
            "id = (SELECT MAX(id) FROM connector_runs l WHERE l.connector = r.connector)",
            "",
        )
        .await
    }

    /// Every run of one connector, oldest first.
    pub async fn runs_of(&self, connector: &str) -> Result<Vec<ConnectorRun>, StoreError> {
        self.runs_where("connector = $1", connector).await
    }

    async fn runs_where(&self, condition: &'static str, connector: &str) -> Result<Vec<ConnectorRun>, StoreError> {
        let sql = format!(
            "SELECT connector, started_at, finished_at, status, documents, marks, review_items, error_kind, error
             FROM connector_runs r WHERE {condition} ORDER BY connector, id"
        );
        with_pool!(self, pool => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            if condition.contains("$1") {
                query = query.bind(connector);
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter()
                .map(|r| {
                    Ok(ConnectorRun {
                        connector: r.try_get("connector")?,
                        started_at: r.try_get("started_at")?,
                        finished_at: r.try_get("finished_at")?,
                        status: r.try_get("status")?,
                        documents: r.try_get("documents")?,
                        marks: r.try_get("marks")?,
                        review_items: r.try_get("review_items")?,
                        error_kind: r.try_get("error_kind")?,
                        error: r.try_get("error")?,
                    })
                })
                .collect()
        })
    }

    /// A connector's checkpoint and its version (0 when none is stored yet).
    pub async fn checkpoint(&self, connector: &str) -> Result<(Checkpoint, i64), StoreError> {
        with_pool!(self, pool => {
            let row = sqlx::query("SELECT value, version FROM checkpoints WHERE connector = $1")
                .bind(connector)
                .fetch_optional(pool)
                .await?;
            match row {
                None => Ok((Checkpoint::start(), 0)),
                Some(r) => {
                    let text: String = r.try_get("value")?;
                    let value = serde_json::from_str(&text)
                        .map_err(|e| StoreError::Corrupt(format!("checkpoint of {connector}: {e}")))?;
                    Ok((Checkpoint(value), r.try_get("version")?))
                }
            }
        })
    }

    /// Stores a connector's new checkpoint if nobody moved it since `expected_version` was read
    /// (compare-and-swap), so two replicas can never both advance it.
    pub async fn save_checkpoint(
        &self,
        connector: &str,
        checkpoint: &Checkpoint,
        expected_version: i64,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        write_tx!(self, tx => {
            save_checkpoint!(tx, connector, checkpoint, expected_version, now);
        });
        Ok(expected_version + 1)
    }
}
