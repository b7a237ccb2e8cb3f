//! Items that keep failing: counted per connector and item, so one that fails run after run can
//! be quarantined instead of holding up every later return.

use chrono::{DateTime, Utc};

use super::text::clean;
use super::{Store, StoreError, write_tx};

impl Store {
    /// Counts one more failed run on this item and returns how many there have been.
    pub async fn note_item_failure(
        &self,
        connector: &str,
        external_id: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let failures = write_tx!(self, tx => {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO item_failures (connector, external_id, failures, last_error, first_failed_at, last_failed_at)
                 VALUES ($1, $2, 1, $3, $4, $4)
                 ON CONFLICT (connector, external_id) DO UPDATE SET failures = item_failures.failures + 1,
                     last_error = excluded.last_error, last_failed_at = excluded.last_failed_at
                 RETURNING failures",
            )
            .bind(connector)
            .bind(clean(external_id))
            .bind(clean(error))
            .bind(now)
            .fetch_one(&mut *tx)
            .await?
        });
        Ok(failures)
    }
}
