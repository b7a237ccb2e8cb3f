//! Leases on scheduled jobs (`job_leases`), so that replicas on one database run each job once,
//! and the school a database belongs to (`database_school`).
//!
//! A lease is taken with one `INSERT .. ON CONFLICT DO UPDATE .. WHERE` on the job's row: the
//! update happens only when the lease is free (released or run out) or already this holder's.
//! PostgreSQL locks the row for the statement, and a second process's statement waits for the
//! first to commit and then re-checks the condition on the row as committed, so two processes
//! never both take one job. A row lock held by a statement is used rather than an advisory lock
//! held by a session: the lease outlives no connection, yet is a row that names its holder and
//! since when it is held (for `status` and `/metrics`), runs out by itself, and works the same on
//! SQLite (where one writer at a time makes the statement atomic).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError, with_pool, write_tx};

/// A job's lease as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobLease {
    /// The job: `connector:ID`, `rules`, `housekeeping`.
    pub job: String,
    /// The process holding it (`host:pidns:pid:start`).
    pub held_by: String,
    /// Since when it holds it.
    pub held_since: DateTime<Utc>,
    /// When the lease runs out unless renewed.
    pub leased_until: DateTime<Utc>,
}

impl Store {
    /// Takes the lease on `job` for `owner` until `until`, when it is free at `now` (never taken,
    /// released, run out) or already `owner`'s. False when another holder has it.
    pub async fn take_job(
        &self,
        job: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let taken: Option<String> = sqlx::query_scalar(
                "INSERT INTO job_leases (job, held_by, held_since, leased_until, last_taken_at, last_taken_by)
                 VALUES ($1, $2, $3, $4, $3, $2)
                 ON CONFLICT (job) DO UPDATE SET held_by = excluded.held_by, held_since = excluded.held_since,
                     leased_until = excluded.leased_until, last_taken_at = excluded.last_taken_at,
                     last_taken_by = excluded.last_taken_by
                 WHERE job_leases.held_by IS NULL OR job_leases.leased_until IS NULL
                    OR job_leases.leased_until <= $3 OR job_leases.held_by = $2
                 RETURNING job",
            )
            .bind(job)
            .bind(owner)
            .bind(now)
            .bind(until)
            .fetch_optional(pool)
            .await?;
            Ok(taken.is_some())
        })
    }

    /// Takes the lease on `job` from `from`, a holder known to be gone; false when `from` no
    /// longer holds it (another process took it first).
    pub async fn take_job_from(
        &self,
        job: &str,
        from: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            Ok(sqlx::query(
                "UPDATE job_leases SET held_by = $1, held_since = $2, leased_until = $3, last_taken_at = $2, last_taken_by = $1
                 WHERE job = $4 AND held_by = $5",
            )
            .bind(owner)
            .bind(now)
            .bind(until)
            .bind(job)
            .bind(from)
            .execute(pool)
            .await?
            .rows_affected()
                > 0)
        })
    }

    /// Extends `owner`'s lease on `job` to `until`; false when `owner` no longer holds it.
    pub async fn renew_job(&self, job: &str, owner: &str, until: DateTime<Utc>) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            Ok(sqlx::query("UPDATE job_leases SET leased_until = $1 WHERE job = $2 AND held_by = $3")
                .bind(until)
                .bind(job)
                .bind(owner)
                .execute(pool)
                .await?
                .rows_affected()
                > 0)
        })
    }

    /// Gives up `owner`'s lease on `job`.
    pub async fn release_job(&self, job: &str, owner: &str) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE job_leases SET held_by = NULL, held_since = NULL, leased_until = NULL WHERE job = $1 AND held_by = $2",
            )
            .bind(job)
            .bind(owner)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// When `job` was last taken, and by whom (held now or since released); `None` if never.
    pub async fn job_last_taken(&self, job: &str) -> Result<Option<(DateTime<Utc>, String)>, StoreError> {
        with_pool!(self, pool => {
            let row: Option<(Option<DateTime<Utc>>, Option<String>)> =
                sqlx::query_as("SELECT last_taken_at, last_taken_by FROM job_leases WHERE job = $1")
                    .bind(job)
                    .fetch_optional(pool)
                    .await?;
            Ok(row.and_then(|(at, by)| at.zip(by)))
        })
    }

    /// The leases held at `now` (not released, not run out), by job.
    pub async fn held_jobs(&self, now: DateTime<Utc>) -> Result<Vec<JobLease>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT job, held_by, held_since, leased_until FROM job_leases
                 WHERE held_by IS NOT NULL AND leased_until > $1 ORDER BY job",
            )
            .bind(now)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(JobLease {
                        job: r.try_get("job")?,
                        held_by: r.try_get("held_by")?,
                        held_since: r.try_get("held_since")?,
                        leased_until: r.try_get("leased_until")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(StoreError::from)
        })
    }

    /// The school this database belongs to: the one already recorded, else `school`, recorded
    /// now (the first apsync to open a database claims it).
    pub async fn claim_database_for(&self, school: &str, now: DateTime<Utc>) -> Result<String, StoreError> {
        write_tx!(self, tx => {
            sqlx::query("INSERT INTO database_school (id, school, claimed_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING")
                .bind(school)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let owner: String = sqlx::query_scalar("SELECT school FROM database_school WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
            Ok(owner)
        })
    }

    /// The school recorded as this database's, if any has been.
    pub async fn database_school(&self) -> Result<Option<String>, StoreError> {
        with_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT school FROM database_school WHERE id = 1")
                .fetch_optional(pool)
                .await?)
        })
    }
}
