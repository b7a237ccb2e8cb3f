//! The register as it stands, and the earlier values of a session.

use chrono::{DateTime, NaiveDate, Utc};

use sqlx::Row;

use super::{Store, StoreError, with_pool};
use crate::domain::{Session, Upn};
use crate::register::Mark;

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

/// Bounds that stand for "no limit" and that both backends' date types can hold.
const EARLIEST: Option<NaiveDate> = NaiveDate::from_ymd_opt(1900, 1, 1);
const LATEST: Option<NaiveDate> = NaiveDate::from_ymd_opt(9999, 12, 31);

impl Store {
    /// The register, sorted by UPN, date, AM before PM.
    pub async fn marks(&self, filter: &MarkFilter) -> Result<Vec<Mark>, StoreError> {
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
                out.push(Mark {
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

    /// Each mark in the days given with its version: when it was recorded (a correction is
    /// recorded anew), as text, for the MIS write-back's idempotency key.
    pub async fn mark_versions(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<(Mark, String)>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT upn, date, session, code, provider_id, recorded_at FROM marks
                 WHERE date >= $1 AND date <= $2 ORDER BY upn, date, session",
            )
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let session: String = r.try_get("session")?;
                let code: String = r.try_get("code")?;
                let recorded: DateTime<Utc> = r.try_get("recorded_at")?;
                out.push((
                    Mark {
                        upn: r.try_get("upn")?,
                        date: r.try_get("date")?,
                        session: session.parse().map_err(|e| StoreError::Corrupt(format!("session: {e}")))?,
                        code: code.parse().map_err(|e| StoreError::Corrupt(format!("mark code: {e}")))?,
                        provider: r.try_get("provider_id")?,
                    },
                    recorded.format("%Y%m%dT%H%M%S%.6fZ").to_string(),
                ));
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
