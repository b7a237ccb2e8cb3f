//! Alerts: the open ones the rules compare against, the changes they decide (written in one
//! transaction with the emails that say them), and the facts the operations rules read.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{NewDelivery, Store, StoreError, with_pool, write_tx};
use crate::config::Role;
use crate::rules::{Change, Condition, Detail, EndpointRefusing, OpenAlert, OpsFacts, Rule};

/// An alert as listed by `apsync alerts`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRow {
    /// Its number.
    pub id: i64,
    /// The rule.
    pub rule: String,
    /// Its key within the rule.
    pub subject_key: String,
    /// `open`, `resolved` or `lapsed`.
    pub state: String,
    /// 0 normally; higher is worse.
    pub level: i64,
    /// What the emails say.
    pub title: String,
    /// When it was raised.
    pub first_seen: DateTime<Utc>,
    /// When it last changed.
    pub last_changed: DateTime<Utc>,
    /// When it closed.
    pub closed_at: Option<DateTime<Utc>>,
}

/// What applying a set of changes did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AlertCounts {
    /// Raised.
    pub raised: u32,
    /// Escalated.
    pub escalated: u32,
    /// Resolved.
    pub resolved: u32,
    /// Lapsed quietly.
    pub lapsed: u32,
    /// Updated quietly.
    pub updated: u32,
    /// Emails queued.
    pub emails: u32,
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn roles_json(roles: &[Role]) -> String {
    json(&roles)
}

fn conflict(what: &str) -> StoreError {
    StoreError::Conflict(format!(
        "alert {what} was changed by another evaluation at the same time; nothing was written and the rules run again"
    ))
}

impl Store {
    /// The alerts open now.
    pub async fn open_alerts(&self) -> Result<Vec<OpenAlert>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, rule, subject_key, level, roles, about, upn, provider_id, detail, first_seen
                 FROM alerts WHERE state = 'open' ORDER BY id",
            )
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let rule: String = r.try_get("rule")?;
                let roles: String = r.try_get("roles")?;
                let detail: String = r.try_get("detail")?;
                let level: i64 = r.try_get("level")?;
                out.push(OpenAlert {
                    id: r.try_get("id")?,
                    rule: Rule::parse(&rule).ok_or_else(|| StoreError::Corrupt(format!("alert rule `{rule}`")))?,
                    key: r.try_get("subject_key")?,
                    level: u8::try_from(level).unwrap_or(u8::MAX),
                    roles: serde_json::from_str(&roles).map_err(|e| StoreError::Corrupt(format!("alert roles: {e}")))?,
                    about: r.try_get::<Option<NaiveDate>, _>("about")?,
                    first_seen: r.try_get("first_seen")?,
                    upn: r.try_get("upn")?,
                    provider: r.try_get("provider_id")?,
                    detail: serde_json::from_str::<Detail>(&detail)
                        .map_err(|e| StoreError::Corrupt(format!("alert detail: {e}")))?,
                });
            }
            Ok(out)
        })
    }

    /// Writes the changes and queues the emails that say them, in one transaction. Every change
    /// is checked against the state it was decided on; if another evaluation got there first
    /// nothing is written and [`StoreError::Conflict`] is returned, so no email is queued twice.
    pub async fn apply_alert_changes(
        &self,
        changes: &[Change],
        emails: &[NewDelivery],
        now: DateTime<Utc>,
    ) -> Result<AlertCounts, StoreError> {
        let mut counts = AlertCounts::default();
        write_tx!(self, tx => {
            for change in changes {
                let (id, state, level, c): (i64, &str, u8, Option<&Condition>) = match change {
                    Change::Raise(c) => {
                        let open: i64 = sqlx::query_scalar(
                            "SELECT COUNT(*) FROM alerts WHERE rule = $1 AND subject_key = $2 AND state = 'open'",
                        )
                        .bind(c.rule.as_str())
                        .bind(&c.key)
                        .fetch_one(&mut *tx)
                        .await?;
                        if open > 0 {
                            return Err(conflict(&format!("{} {}", c.rule.as_str(), c.key)));
                        }
                        sqlx::query(
                            "INSERT INTO alerts (rule, subject_key, state, level, roles, about, upn, provider_id, detail,
                                 first_seen, last_changed)
                             VALUES ($1, $2, 'open', $3, $4, $5, $6, $7, $8, $9, $9)",
                        )
                        .bind(c.rule.as_str())
                        .bind(&c.key)
                        .bind(i64::from(c.level))
                        .bind(roles_json(&c.roles))
                        .bind(c.about)
                        .bind(&c.upn)
                        .bind(&c.provider)
                        .bind(json(&c.detail))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        counts.raised += 1;
                        continue;
                    }
                    Change::Escalate(a, c) => {
                        counts.escalated += 1;
                        (a.id, "open", a.level, Some(c))
                    }
                    Change::Update(a, c) => {
                        counts.updated += 1;
                        (a.id, "open", a.level, Some(c))
                    }
                    Change::Resolve(a) => {
                        counts.resolved += 1;
                        (a.id, "resolved", a.level, None)
                    }
                    Change::Lapse(a) => {
                        counts.lapsed += 1;
                        (a.id, "lapsed", a.level, None)
                    }
                };
                let done = match c {
                    Some(c) => sqlx::query(
                        "UPDATE alerts SET level = $1, roles = $2, detail = $3, last_changed = $4
                         WHERE id = $5 AND state = 'open' AND level = $6",
                    )
                    .bind(i64::from(c.level))
                    .bind(roles_json(&c.roles))
                    .bind(json(&c.detail))
                    .bind(now)
                    .bind(id)
                    .bind(i64::from(level))
                    .execute(&mut *tx)
                    .await?,
                    None => sqlx::query(
                        "UPDATE alerts SET state = $1, closed_at = $2, last_changed = $2
                         WHERE id = $3 AND state = 'open' AND level = $4",
                    )
                    .bind(state)
                    .bind(now)
                    .bind(id)
                    .bind(i64::from(level))
                    .execute(&mut *tx)
                    .await?,
                };
                if done.rows_affected() != 1 {
                    return Err(conflict(&id.to_string()));
                }
            }
            for d in emails {
                let queued = sqlx::query(
                    "INSERT INTO outbox (channel, sink, idempotency_key, subject, payload, next_attempt_at, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (sink, idempotency_key) DO NOTHING",
                )
                .bind(d.channel.as_str())
                .bind(&d.sink)
                .bind(&d.idempotency_key)
                .bind(&d.subject)
                .bind(d.payload.to_string())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                counts.emails += u32::try_from(queued.rows_affected()).unwrap_or(0);
            }
        });
        Ok(counts)
    }

    /// Open alerts and those closed since `since`, newest first.
    pub async fn alerts(&self, since: DateTime<Utc>) -> Result<Vec<AlertRow>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, rule, subject_key, state, level, detail, first_seen, last_changed, closed_at FROM alerts
                 WHERE state = 'open' OR closed_at >= $1 ORDER BY id DESC",
            )
            .bind(since)
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let detail: String = r.try_get("detail")?;
                let detail: Detail = serde_json::from_str(&detail).unwrap_or_default();
                out.push(AlertRow {
                    id: r.try_get("id")?,
                    rule: r.try_get("rule")?,
                    subject_key: r.try_get("subject_key")?,
                    state: r.try_get("state")?,
                    level: r.try_get("level")?,
                    title: detail.title,
                    first_seen: r.try_get("first_seen")?,
                    last_changed: r.try_get("last_changed")?,
                    closed_at: r.try_get("closed_at")?,
                });
            }
            Ok(out)
        })
    }

    /// What the operations rules look at.
    pub async fn ops_facts(&self) -> Result<OpsFacts, StoreError> {
        let status = self.status().await?;
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT r.connector, COUNT(*) AS failures,
                        (SELECT e.error FROM connector_runs e WHERE e.connector = r.connector ORDER BY e.id DESC LIMIT 1) AS error
                 FROM connector_runs r
                 WHERE r.status IN ('failed', 'interrupted') AND r.id > COALESCE(
                     (SELECT MAX(o.id) FROM connector_runs o WHERE o.connector = r.connector AND o.status = 'ok'), 0)
                 GROUP BY r.connector ORDER BY r.connector",
            )
            .fetch_all(pool)
            .await?;
            let mut connector_failures = Vec::new();
            for r in &rows {
                let n: i64 = r.try_get("failures")?;
                connector_failures.push((r.try_get("connector")?, u32::try_from(n).unwrap_or(u32::MAX), r.try_get("error")?));
            }
            let dead = sqlx::query("SELECT id, subject FROM outbox WHERE status = 'dead' ORDER BY id")
                .fetch_all(pool)
                .await?;
            let mut dead_deliveries = Vec::new();
            for r in &dead {
                dead_deliveries.push((r.try_get("id")?, r.try_get("subject")?));
            }
            let refusing = sqlx::query(
                "SELECT sink, reason, refused_at FROM endpoint_refusals
                 WHERE delivered_at IS NULL OR delivered_at < refused_at ORDER BY sink",
            )
            .fetch_all(pool)
            .await?;
            let mut endpoints_refusing = Vec::new();
            for r in &refusing {
                endpoints_refusing.push(EndpointRefusing {
                    endpoint: r.try_get("sink")?,
                    reason: r.try_get("reason")?,
                    since: r.try_get("refused_at")?,
                });
            }
            Ok(OpsFacts {
                connector_failures,
                dead_deliveries,
                endpoints_refusing,
                review_open: status.review_open,
                review_oldest: status.review_oldest_open,
                // Filled by the runtime, which knows the school's day.
                refused_today: Vec::new(),
            })
        })
    }

    /// Notes that an endpoint refused a push as misconfigured (401, 403, 404, a redirect).
    pub async fn note_endpoint_refused(&self, sink: &str, reason: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO endpoint_refusals (sink, refused_at, reason) VALUES ($1, $2, $3)
                 ON CONFLICT (sink) DO UPDATE SET refused_at = excluded.refused_at, reason = excluded.reason",
            )
            .bind(sink)
            .bind(now)
            .bind(reason)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Notes that an endpoint accepted a push; a no-op unless it had refused one since its last
    /// success.
    pub async fn note_endpoint_delivered(&self, sink: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE endpoint_refusals SET delivered_at = $2
                 WHERE sink = $1 AND (delivered_at IS NULL OR delivered_at < refused_at)",
            )
            .bind(sink)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Whether a sink already has a delivery whose key starts with `prefix` (queued, sent or dead).
    pub async fn has_delivery_prefixed(&self, sink: &str, prefix: &str) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE sink = $1 AND substr(idempotency_key, 1, $2) = $3")
                .bind(sink)
                .bind(i32::try_from(prefix.len()).unwrap_or(i32::MAX))
                .bind(prefix)
                .fetch_one(pool)
                .await?;
            Ok(n > 0)
        })
    }

    /// Per channel: deliveries pending, dead, and the latest error of a pending one, for `status`.
    pub async fn outbox_health(&self) -> Result<Vec<(String, i64, i64, Option<String>)>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT channel,
                        SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS pending,
                        SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END) AS dead,
                        (SELECT l.last_error FROM outbox l WHERE l.channel = o.channel AND l.status <> 'delivered'
                           AND l.last_error IS NOT NULL ORDER BY l.id DESC LIMIT 1) AS last_error
                 FROM outbox o GROUP BY channel ORDER BY channel",
            )
            .fetch_all(pool)
            .await?;
            let mut out = Vec::new();
            for r in &rows {
                out.push((r.try_get("channel")?, r.try_get("pending")?, r.try_get("dead")?, r.try_get("last_error")?));
            }
            Ok(out)
        })
    }
}
