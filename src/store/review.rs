//! The review queue: rows of returns that wait for a person to decide.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::Row;

use super::shared::archive_mark;
use super::{Store, StoreError, with_pool, write_tx};
use crate::domain::Code;
use crate::register::ReviewKind;

/// Whether a review item still waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewStatus {
    /// Waiting for a person.
    Open,
    /// A person chose the mark.
    Resolved,
    /// A person decided no mark follows from it.
    Dismissed,
}

impl ReviewStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Open => "open",
            ReviewStatus::Resolved => "resolved",
            ReviewStatus::Dismissed => "dismissed",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "open" => Ok(ReviewStatus::Open),
            "resolved" => Ok(ReviewStatus::Resolved),
            "dismissed" => Ok(ReviewStatus::Dismissed),
            other => Err(StoreError::Corrupt(format!("review status `{other}`"))),
        }
    }
}

/// One review item as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewRow {
    /// Its number, for `review resolve ID`.
    pub id: i64,
    /// Whose return it came from.
    pub provider: String,
    /// The file.
    pub file: Option<String>,
    /// Where in the file.
    pub locator: String,
    /// The pupil as the row names them.
    pub identifier: Option<String>,
    /// Why it waits (`unknown-pupil`, ...).
    pub kind: String,
    /// The explanation.
    pub reason: String,
    /// The pupil, when known.
    pub upn: Option<String>,
    /// The date, when readable.
    pub date: Option<NaiveDate>,
    /// The session, when readable.
    pub session: Option<String>,
    /// The provider's mark.
    pub raw_mark: Option<String>,
    /// Open, resolved or dismissed.
    pub status: ReviewStatus,
    /// When it was raised.
    pub created_at: DateTime<Utc>,
    /// The code a person chose.
    pub decided_code: Option<String>,
    /// When a person decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// Why, as they wrote it.
    pub decision_note: Option<String>,
}

/// Who decides a review item, and why.
#[derive(Debug, Clone, Copy)]
pub struct Decision<'a> {
    /// The person (their name, or the operating-system user).
    pub by: &'a str,
    /// Their reason, for the record.
    pub note: Option<&'a str>,
}

/// A conflict with the MIS, to be asked about (`Store::raise_mis_conflicts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MisConflictItem {
    /// The pupil.
    pub upn: String,
    /// The day.
    pub date: NaiveDate,
    /// `AM` or `PM`.
    pub session: String,
    /// The provider whose mark the register holds.
    pub provider: String,
    /// What the MIS holds, when it is a register code.
    pub mis_code: Option<String>,
    /// The explanation for the person deciding.
    pub reason: String,
}

impl Store {
    /// Review items, oldest first; only open ones unless `all`.
    pub async fn review_items(&self, all: bool) -> Result<Vec<ReviewRow>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT r.id, r.provider_id, d.file_name, r.locator, r.identifier, r.kind, r.reason, r.upn, r.date,
                        r.session, r.raw_mark, r.status, r.created_at, r.decided_code, r.decided_at, r.decided_by,
                        r.decision_note
                 FROM review r LEFT JOIN documents d ON d.id = r.document_id
                 WHERE $1 OR r.status = 'open' ORDER BY r.id",
            )
            .bind(all)
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let status: String = r.try_get("status")?;
                out.push(ReviewRow {
                    id: r.try_get("id")?,
                    provider: r.try_get("provider_id")?,
                    file: r.try_get("file_name")?,
                    locator: r.try_get("locator")?,
                    identifier: r.try_get("identifier")?,
                    kind: r.try_get("kind")?,
                    reason: r.try_get("reason")?,
                    upn: r.try_get("upn")?,
                    date: r.try_get("date")?,
                    session: r.try_get("session")?,
                    raw_mark: r.try_get("raw_mark")?,
                    status: ReviewStatus::parse(&status)?,
                    created_at: r.try_get("created_at")?,
                    decided_code: r.try_get("decided_code")?,
                    decided_at: r.try_get("decided_at")?,
                    decided_by: r.try_get("decided_by")?,
                    decision_note: r.try_get("decision_note")?,
                });
            }
            Ok(out)
        })
    }

    /// Raises a review item for each conflict with the MIS (`mis push`): the pupil's session,
    /// the provider whose mark the register holds, what the MIS holds as the raw mark, and the
    /// reason. A session with an open item already gets no second one.
    pub async fn raise_mis_conflicts(
        &self,
        conflicts: &[MisConflictItem],
        now: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let mut raised = 0;
        write_tx!(self, tx => {
            for MisConflictItem { upn, date, session, provider, mis_code, reason } in conflicts {
                let open: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM review WHERE kind = 'mis-conflict' AND status = 'open' AND upn = $1 AND date = $2 AND session = $3",
                )
                .bind(upn)
                .bind(*date)
                .bind(session)
                .fetch_optional(&mut *tx)
                .await?;
                if open.is_some() {
                    continue;
                }
                let raw_row = serde_json::json!([mis_code.clone().unwrap_or_default()]).to_string();
                sqlx::query(
                    "INSERT INTO review (document_id, provider_id, kind, locator, identifier, raw_row, reason, upn, date, session,
                         raw_mark, created_at)
                     VALUES (NULL, $1, 'mis-conflict', 'the MIS', $2, $3, $4, $2, $5, $6, $7, $8)",
                )
                .bind(provider)
                .bind(upn)
                .bind(&raw_row)
                .bind(reason)
                .bind(*date)
                .bind(session)
                .bind(mis_code)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                raised += 1;
            }
        });
        Ok(raised)
    }

    /// Every conflict with the MIS a person was asked about: `(upn, date, session, status)`,
    /// oldest first, so the latest decision for a session comes last.
    pub async fn mis_conflict_items(&self) -> Result<Vec<(String, NaiveDate, String, String)>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT upn, date, session, status FROM review WHERE kind = 'mis-conflict' ORDER BY created_at, id",
            )
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push((r.try_get("upn")?, r.try_get("date")?, r.try_get("session")?, r.try_get("status")?));
            }
            Ok(out)
        })
    }

    /// A person decides the mark for an open item: the mark is written (any earlier mark goes
    /// to history) and the item is closed, in one transaction.
    ///
    /// An item about a day that is not a school day is refused: a mark there would count as a
    /// possible session. It is dismissed, or the calendar is corrected and the return read again.
    pub async fn resolve_review(
        &self,
        id: i64,
        code: Code,
        decision: Decision<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (by, note) = (decision.by, decision.note);
        write_tx!(self, tx => {
            let row = sqlx::query("SELECT status, kind, upn, date, session, provider_id, raw_mark, document_id FROM review WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("there is no review item {id}: see `apsync review list`")))?;
            let status: String = row.try_get("status")?;
            if status != "open" {
                return Err(StoreError::Conflict(format!("review item {id} is already {status}")));
            }
            // Typed, so the refusal cannot drift from the kind's stored name. A kind this version
            // does not know refuses nothing, as before: the item can still be decided.
            let kind = row.try_get::<String, _>("kind")?.parse::<ReviewKind>().ok();
            if kind == Some(ReviewKind::NotASchoolDay) {
                return Err(StoreError::Conflict(format!(
                    "review item {id} is about a day that is not a school day, where a mark would count as a possible session: \
                     dismiss it (`apsync review dismiss {id}`); or, if the calendar is wrong, add the day to [calendar] and \
                     read the return again (`apsync documents reread`)"
                )));
            }
            let upn: Option<String> = row.try_get("upn")?;
            let date: Option<NaiveDate> = row.try_get("date")?;
            let session: Option<String> = row.try_get("session")?;
            let (Some(upn), Some(date), Some(session)) = (upn, date, session) else {
                return Err(StoreError::Conflict(format!(
                    "review item {id} does not say which pupil and session it is about, so no mark can be written: \
                     fix the roster or the return and import it again, then `apsync review dismiss {id}`"
                )));
            };
            let provider: String = row.try_get("provider_id")?;
            let raw_mark: Option<String> = row.try_get("raw_mark")?;
            let document_id: Option<i64> = row.try_get("document_id")?;
            archive_mark!(tx, &upn, date, &session, now, None::<i64>, Some(id));
            sqlx::query(
                "INSERT INTO marks (upn, date, session, code, provider_id, raw_mark, comment, document_id, review_id,
                     received_at, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
                 ON CONFLICT (upn, date, session) DO UPDATE SET code = excluded.code, provider_id = excluded.provider_id,
                     raw_mark = excluded.raw_mark, comment = excluded.comment, document_id = excluded.document_id,
                     review_id = excluded.review_id, received_at = excluded.received_at, recorded_at = excluded.recorded_at",
            )
            .bind(&upn)
            .bind(date)
            .bind(&session)
            .bind(code.as_str())
            .bind(&provider)
            .bind(&raw_mark)
            .bind(note)
            .bind(document_id)
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE review SET status = 'resolved', decided_at = $1, decided_code = $2, decision_note = $3, decided_by = $4
                 WHERE id = $5",
            )
                .bind(now)
                .bind(code.as_str())
                .bind(note)
                .bind(by)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// A person decides no mark follows from an open item; the item and the reason are kept.
    pub async fn dismiss_review(&self, id: i64, decision: Decision<'_>, now: DateTime<Utc>) -> Result<(), StoreError> {
        let (by, note) = (decision.by, decision.note);
        write_tx!(self, tx => {
            let status: Option<String> = sqlx::query_scalar("SELECT status FROM review WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            match status.as_deref() {
                None => return Err(StoreError::NotFound(format!("there is no review item {id}: see `apsync review list`"))),
                Some("open") => {}
                Some(other) => return Err(StoreError::Conflict(format!("review item {id} is already {other}"))),
            }
            sqlx::query("UPDATE review SET status = 'dismissed', decided_at = $1, decision_note = $2, decided_by = $3 WHERE id = $4")
                .bind(now)
                .bind(note)
                .bind(by)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }
}
