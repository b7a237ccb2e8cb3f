//! The ledger of refused items: what a connector turned away (a stranger's or an unauthenticated
//! email, a message without an attachment), each recorded once with why, never imported.

use apsync_connector_core::Refusal;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::shared::save_checkpoint;
use super::text::{clean, clean_opt, json_text};
use super::{CheckpointUpdate, Store, StoreError, with_pool, write_tx};

/// A refused item as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusalRow {
    /// The connector that refused it.
    pub connector: String,
    /// Its provider.
    pub provider: String,
    /// Identity upstream.
    pub external_id: String,
    /// What a person recognises it by (printable).
    pub display_name: String,
    /// Stable code, e.g. `IMAP-UNAUTHENTICATED`.
    pub code: String,
    /// Why, for IT.
    pub reason: String,
    /// Who it claims to come from (printable).
    pub sender: Option<String>,
    /// The authentication verdict seen (printable).
    pub verdict: Option<String>,
    /// Its size in bytes, when known.
    pub size: Option<i64>,
    /// The SHA-256 of its bytes, when they were read.
    pub sha256: Option<String>,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// Today's refusals of one connector from one sender (strangers counted together).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedSender {
    /// The connector.
    pub connector: String,
    /// The sender's address; `None` for files, which have none, and for strangers.
    pub sender: Option<String>,
    /// Whether these are everyone not in the connector's `senders`, counted together.
    pub strangers: bool,
    /// How many items were refused.
    pub count: i64,
    /// The latest one's code.
    pub code: String,
    /// The latest one's reason.
    pub reason: String,
}

/// The stable code of mail from someone not in `senders` (counted together, never one alert
/// per stranger).
pub const STRANGER_CODE: &str = apsync_connector_core::ErrorCode::ImapSender.as_str();

impl Store {
    /// Records a refused item, once (by connector and external id), moving the connector's
    /// checkpoint on in the same transaction. Returns whether it was new.
    pub async fn record_refusal(
        &self,
        connector: &str,
        provider: &str,
        refusal: &Refusal,
        checkpoint: Option<CheckpointUpdate<'_>>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let size = refusal.size.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
        let new = write_tx!(self, tx => {
            let added = sqlx::query(
                "INSERT INTO refusals (connector, provider_id, external_id, display_name, code, reason, sender, verdict,
                     size, sha256, metadata, received_at, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT (connector, external_id) DO NOTHING",
            )
            // Already printable, but a stranger's text is cleaned again where it is stored:
            // PostgreSQL refuses a NUL in a text column.
            .bind(connector)
            .bind(provider)
            .bind(clean(&refusal.external_id))
            .bind(clean(&refusal.display_name))
            .bind(refusal.code.as_str())
            .bind(clean(&refusal.reason))
            .bind(clean_opt(refusal.sender.as_deref()))
            .bind(clean_opt(refusal.verdict.as_deref()))
            .bind(size)
            .bind(&refusal.sha256)
            .bind(json_text(&refusal.metadata))
            .bind(refusal.received_at)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if let Some(c) = checkpoint {
                save_checkpoint!(tx, c.connector, c.checkpoint, c.expected_version, now);
            }
            added > 0
        });
        Ok(new)
    }

    /// Refused items recorded since `since`, latest first.
    pub async fn refusals_since(&self, since: DateTime<Utc>) -> Result<Vec<RefusalRow>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT connector, provider_id, external_id, display_name, code, reason, sender, verdict, size, sha256,
                        recorded_at
                 FROM refusals WHERE recorded_at >= $1 ORDER BY recorded_at DESC, id DESC",
            )
            .bind(since)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(RefusalRow {
                        connector: r.try_get("connector")?,
                        provider: r.try_get("provider_id")?,
                        external_id: r.try_get("external_id")?,
                        display_name: r.try_get("display_name")?,
                        code: r.try_get("code")?,
                        reason: r.try_get("reason")?,
                        sender: r.try_get("sender")?,
                        verdict: r.try_get("verdict")?,
                        size: r.try_get("size")?,
                        sha256: r.try_get("sha256")?,
                        recorded_at: r.try_get("recorded_at")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(StoreError::from)
        })
    }

    /// Refusals since `since` per connector and sender, strangers (code [`STRANGER_CODE`])
    /// counted together as one sender `None`; each with its latest code and reason.
    pub async fn refused_senders_since(&self, since: DateTime<Utc>) -> Result<Vec<RefusedSender>, StoreError> {
        let mut out: Vec<RefusedSender> = Vec::new();
        for row in self.refusals_since(since).await? {
            let strangers = row.code == STRANGER_CODE;
            let sender = if strangers { None } else { row.sender.clone() };
            match out
                .iter_mut()
                .find(|s| s.connector == row.connector && s.sender == sender && s.strangers == strangers)
            {
                Some(s) => s.count += 1,
                None => out.push(RefusedSender {
                    connector: row.connector,
                    sender,
                    strangers,
                    count: 1,
                    code: row.code,
                    reason: row.reason,
                }),
            }
        }
        out.sort_by(|a, b| (&a.connector, a.strangers, &a.sender).cmp(&(&b.connector, b.strangers, &b.sender)));
        Ok(out)
    }
}
