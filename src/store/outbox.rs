//! The outbox: every delivery to the outside world is a row first, delivered at least once, and
//! recorded as delivered only after the receiver accepted it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Backend, Store, StoreError, with_pool, write_tx};

/// Which kind of delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// An email to staff.
    Email,
    /// A request to an HTTP endpoint (visit logs).
    Push,
    /// A write-back of register marks to the school's MIS.
    Mis,
}

impl Channel {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Push => "push",
            Channel::Mis => "mis",
        }
    }
}

/// A delivery to make.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// Email or push.
    pub channel: Channel,
    /// `smtp`, or the endpoint's id: each sink gets its own row, so one failing sink never causes
    /// resends to another.
    pub sink: String,
    /// Stable across attempts and restarts; the same key twice for a sink is one delivery.
    pub idempotency_key: String,
    /// What it is about, for listings.
    pub subject: String,
    /// The message or request body (JSON).
    pub payload: serde_json::Value,
}

/// A delivery as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// Its number, for `outbox retry ID`.
    pub id: i64,
    /// `email` or `push`.
    pub channel: String,
    /// `smtp` or the endpoint's id.
    pub sink: String,
    /// The idempotency key.
    pub idempotency_key: String,
    /// What it is about.
    pub subject: String,
    /// The message or request body.
    pub payload: serde_json::Value,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
    /// When it is next due.
    pub next_attempt_at: DateTime<Utc>,
    /// The last failure.
    pub last_error: Option<String>,
    /// The receiver's id for it.
    pub remote_id: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When the receiver accepted it.
    pub delivered_at: Option<DateTime<Utc>>,
    /// The process holding its lease (`host:pidns:pid:start`), while one does.
    pub leased_by: Option<String>,
    /// When the attempt in progress began, until its outcome is recorded: on a pending row whose
    /// sender died, the receiver may already have it.
    pub attempt_started_at: Option<DateTime<Utc>>,
}

/// What releasing a gone sender's leases did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Released {
    /// Rows due again at once.
    pub rows: u64,
    /// Of those, the ones it was handing to the receiver when it died: the receiver may have them.
    pub in_flight: u64,
}

const COLUMNS: &str = "id, channel, sink, idempotency_key, subject, payload, status, attempts, next_attempt_at, \
                       last_error, remote_id, created_at, delivered_at, leased_by, attempt_started_at";

macro_rules! delivery_from_row {
    ($r:expr) => {{
        let r = $r;
        let payload: String = r.try_get("payload")?;
        Delivery {
            id: r.try_get("id")?,
            channel: r.try_get("channel")?,
            sink: r.try_get("sink")?,
            idempotency_key: r.try_get("idempotency_key")?,
            subject: r.try_get("subject")?,
            payload: serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt(format!("outbox payload: {e}")))?,
            status: r.try_get("status")?,
            attempts: r.try_get("attempts")?,
            next_attempt_at: r.try_get("next_attempt_at")?,
            last_error: r.try_get("last_error")?,
            remote_id: r.try_get("remote_id")?,
            created_at: r.try_get("created_at")?,
            delivered_at: r.try_get("delivered_at")?,
            leased_by: r.try_get("leased_by")?,
            attempt_started_at: r.try_get("attempt_started_at")?,
        }
    }};
}

/// Queues a delivery on an executor (a pool or `&mut *tx`), evaluating to whether it was new
/// (false when the sink already has one with that key).
macro_rules! insert_delivery {
    ($exec:expr, $d:expr, $now:expr) => {{
        let d: &$crate::store::NewDelivery = $d;
        sqlx::query(
            "INSERT INTO outbox (channel, sink, idempotency_key, subject, payload, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (sink, idempotency_key) DO NOTHING",
        )
        .bind(d.channel.as_str())
        .bind(&d.sink)
        .bind(&d.idempotency_key)
        .bind(&d.subject)
        .bind(d.payload.to_string())
        .bind($now)
        .execute($exec)
        .await?
        .rows_affected()
            == 1
    }};
}
pub(crate) use insert_delivery;

impl Store {
    /// Queues a delivery; returns false when the sink already has one with that key.
    pub async fn enqueue(&self, d: &NewDelivery, now: DateTime<Utc>) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(insert_delivery!(pool, d, now)))
    }

    /// Claims up to `limit` due deliveries of a sink for `lease` in the name of `owner` (see
    /// `outbox::owner`), so that another sender (another replica) skips them. A sender
    /// that dies leaves the lease to expire, or to be released by [`Store::release_leases`] when
    /// a process on its host sees it is gone.
    pub async fn claim_due(
        &self,
        channel: Channel,
        sink: &str,
        limit: i64,
        lease: chrono::Duration,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Delivery>, StoreError> {
        // PostgreSQL replicas must not both take a row: SKIP LOCKED. SQLite has one writer at a
        // time (BEGIN IMMEDIATE), which serialises claims anyway.
        let lock = match self.backend {
            Backend::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite(_) => "",
        };
        let select = format!(
            "SELECT id FROM outbox WHERE channel = $1 AND sink = $2 AND status = 'pending' AND next_attempt_at <= $3
               AND (leased_until IS NULL OR leased_until <= $3)
             ORDER BY next_attempt_at, id LIMIT $4{lock}"
        );
        let claimed = write_tx!(self, tx => {
            let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(select))
                .bind(channel.as_str())
                .bind(sink)
                .bind(now)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
            let mut rows = Vec::with_capacity(ids.len());
            for id in ids {
                let r = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE outbox SET leased_until = $1, leased_by = $2 WHERE id = $3 RETURNING {COLUMNS}"
                )))
                .bind(now + lease)
                .bind(owner)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
                rows.push(delivery_from_row!(&r));
            }
            rows
        });
        Ok(claimed)
    }

    /// The payloads of every delivered MIS write-back, oldest first: what apsync wrote to the
    /// MIS, for the next plan.
    pub async fn mis_written(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        with_pool!(self, pool => {
            let rows: Vec<String> = sqlx::query_scalar(
                "SELECT payload FROM outbox WHERE channel = 'mis' AND status = 'delivered' ORDER BY delivered_at, id",
            )
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|p| serde_json::from_str(p).map_err(|e| StoreError::Corrupt(format!("outbox payload: {e}"))))
                .collect()
        })
    }

    /// The owners of leases still running at `now`, for `outbox::release_dead_leases`.
    pub async fn lease_holders(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        with_pool!(self, pool => {
            Ok(sqlx::query_scalar(
                "SELECT DISTINCT leased_by FROM outbox
                 WHERE leased_by IS NOT NULL AND status = 'pending' AND leased_until > $1 ORDER BY leased_by",
            )
            .bind(now)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Ends every lease `owner` holds, so its rows are due again at once. Only for an owner known
    /// to be gone: a live one would find its rows taken by another sender. A row's attempt marker
    /// is kept: it still says the last attempt's outcome is unknown, until the next one ends.
    pub async fn release_leases(&self, owner: &str) -> Result<Released, StoreError> {
        with_pool!(self, pool => {
            let started: Vec<Option<DateTime<Utc>>> = sqlx::query_scalar(
                "UPDATE outbox SET leased_until = NULL, leased_by = NULL WHERE leased_by = $1 AND status = 'pending'
                 RETURNING attempt_started_at",
            )
            .bind(owner)
            .fetch_all(pool)
            .await?;
            Ok(Released {
                rows: started.len() as u64,
                in_flight: started.iter().flatten().count() as u64,
            })
        })
    }

    /// Records, before a delivery is handed to its receiver, that an attempt began at `at`, and
    /// renews the lease to `until` so it covers the attempt however long the batch took. False
    /// when `owner` no longer holds the row (its lease ran out and another sender took it, or it
    /// was released): the caller must then not send it.
    pub async fn begin_attempt(
        &self,
        id: i64,
        owner: &str,
        at: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            Ok(sqlx::query(
                "UPDATE outbox SET attempt_started_at = $1, leased_until = $2
                 WHERE id = $3 AND leased_by = $4 AND status = 'pending'",
            )
            .bind(at)
            .bind(until)
            .bind(id)
            .bind(owner)
            .execute(pool)
            .await?
            .rows_affected()
                == 1)
        })
    }

    /// Records that the receiver accepted a delivery. Never sent again.
    pub async fn mark_delivered(&self, id: i64, remote_id: Option<&str>, now: DateTime<Utc>) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = $1, remote_id = $2,
                     leased_until = NULL, leased_by = NULL, attempt_started_at = NULL, last_error = NULL WHERE id = $3",
            )
            .bind(now)
            .bind(remote_id)
            .bind(id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Records a failed attempt and when to try again.
    pub async fn mark_retry(&self, id: i64, error: &str, next: DateTime<Utc>) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, leased_until = NULL, leased_by = NULL, attempt_started_at = NULL
                 WHERE id = $3",
            )
            .bind(error)
            .bind(next)
            .bind(id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Gives up on a delivery; the payload is kept for `outbox retry`.
    pub async fn mark_dead(&self, id: i64, error: &str) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = $1, leased_until = NULL, leased_by = NULL, attempt_started_at = NULL
                 WHERE id = $2",
            )
            .bind(error)
            .bind(id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Puts a dead (or waiting) delivery back in line, due now. A delivered one is refused: the
    /// receiver has it.
    pub async fn retry_delivery(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            let status: Option<String> = sqlx::query_scalar("SELECT status FROM outbox WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            match status.as_deref() {
                None => return Err(StoreError::NotFound(format!("there is no delivery {id}: see `apsync outbox list`"))),
                Some("delivered") => {
                    return Err(StoreError::Conflict(format!("delivery {id} was already accepted by the receiver; it is not sent again")));
                }
                Some(_) => {}
            }
            sqlx::query("UPDATE outbox SET status = 'pending', next_attempt_at = $1, leased_until = NULL, leased_by = NULL, attempt_started_at = NULL WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Deliveries, newest first: all, or only those not yet delivered.
    pub async fn deliveries(&self, undelivered_only: bool, limit: i64) -> Result<Vec<Delivery>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM outbox WHERE (NOT $1 OR status <> 'delivered') ORDER BY id DESC LIMIT $2");
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(undelivered_only).bind(limit).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(delivery_from_row!(r));
            }
            Ok(out)
        })
    }
}
