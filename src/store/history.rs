//! How each of a pupil's sessions came to hold its mark: every value it held, from which return
//! or whose decision, and when it was replaced.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError, with_pool};
use crate::domain::Upn;

/// One value a session held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryRow {
    /// The school day.
    pub date: NaiveDate,
    /// `AM` or `PM`.
    pub session: String,
    /// The statutory code.
    pub code: String,
    /// The provider whose return (or whose row, decided by a person) gave it.
    pub provider: String,
    /// The provider's mark as written.
    pub raw_mark: Option<String>,
    /// The ledger id of the return it came from.
    pub document_id: Option<i64>,
    /// That return's file name.
    pub file: Option<String>,
    /// When that return was received.
    pub received_at: DateTime<Utc>,
    /// When the value was written to the register.
    pub recorded_at: DateTime<Utc>,
    /// When it was replaced; `None` for the value held now.
    pub replaced_at: Option<DateTime<Utc>>,
    /// The person who decided it, when a person did (a review item resolved).
    pub decided_by: Option<String>,
    /// Their note.
    pub decision_note: Option<String>,
}

/// One statement for both backends. The value held now has no `replaced_at`: its NULL is cast
/// to a timestamp, so that on PostgreSQL every branch of the union gives the column the same
/// type without a second text of the query; SQLite takes any type name in a cast, and NULL
/// stays NULL.
const HISTORY: &str = "SELECT date, session, code, provider_id, raw_mark, document_id, file_name, received_at,
    recorded_at, replaced_at, decided_by, decision_note FROM (
  SELECT m.date, m.session, m.code, m.provider_id, m.raw_mark, m.document_id, d.file_name, m.received_at,
    m.recorded_at, CAST(NULL AS TIMESTAMPTZ) AS replaced_at, r.decided_by, r.decision_note, 1 AS current_value, 0 AS seq
  FROM marks m LEFT JOIN documents d ON d.id = m.document_id LEFT JOIN review r ON r.id = m.review_id
  WHERE m.upn = $1 AND m.date >= $2 AND m.date <= $3
  UNION ALL
  SELECT h.date, h.session, h.code, h.provider_id, h.raw_mark, h.document_id, d.file_name, h.received_at,
    h.recorded_at, h.replaced_at, r.decided_by, r.decision_note, 0 AS current_value, h.id AS seq
  FROM mark_history h LEFT JOIN documents d ON d.id = h.document_id LEFT JOIN review r ON r.id = h.review_id
  WHERE h.upn = $1 AND h.date >= $2 AND h.date <= $3
) AS t ORDER BY date, session, current_value, seq";

impl Store {
    /// Every value each of `upn`'s sessions from `from` to `to` held, per session oldest
    /// first and the value held now last.
    pub async fn session_history(
        &self,
        upn: &Upn,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<HistoryRow>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query(HISTORY)
                .bind(upn.as_str())
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(HistoryRow {
                        date: r.try_get("date")?,
                        session: r.try_get("session")?,
                        code: r.try_get("code")?,
                        provider: r.try_get("provider_id")?,
                        raw_mark: r.try_get("raw_mark")?,
                        document_id: r.try_get("document_id")?,
                        file: r.try_get("file_name")?,
                        received_at: r.try_get("received_at")?,
                        recorded_at: r.try_get("recorded_at")?,
                        replaced_at: r.try_get("replaced_at")?,
                        decided_by: r.try_get("decided_by")?,
                        decision_note: r.try_get("decision_note")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(StoreError::from)
        })
    }
}
