//! Statements used by more than one part of the store, as macros so that one text serves both
//! backends' transaction types.

/// Copies a session's current mark into `mark_history` before it is replaced.
macro_rules! archive_mark {
    ($tx:ident, $upn:expr, $date:expr, $session:expr, $now:expr, $by_document:expr, $by_review:expr) => {
        sqlx::query(
            "INSERT INTO mark_history (upn, date, session, code, provider_id, raw_mark, comment, document_id, review_id,
                 received_at, recorded_at, replaced_at, replaced_by_document, replaced_by_review)
             SELECT upn, date, session, code, provider_id, raw_mark, comment, document_id, review_id,
                 received_at, recorded_at, $4, $5, $6
             FROM marks WHERE upn = $1 AND date = $2 AND session = $3",
        )
        .bind($upn)
        .bind($date)
        .bind($session)
        .bind($now)
        .bind($by_document)
        .bind($by_review)
        .execute(&mut *$tx)
        .await?
    };
}
pub(crate) use archive_mark;

/// Adds a review row for a document, evaluating to its id; its texts [`clean`](super::text::clean)ed.
macro_rules! insert_review {
    ($tx:ident, $review:expr, $document_id:expr, $provider_id:expr, $now:expr) => {{
        let r: &$crate::register::NewReview = $review;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO review (document_id, provider_id, kind, locator, identifier, raw_row, reason, upn, date, session,
                 raw_mark, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open', $12) RETURNING id",
        )
        .bind($document_id)
        .bind($provider_id)
        .bind(r.kind.as_str())
        .bind($crate::store::text::clean(&r.locator).into_owned())
        .bind($crate::store::text::clean_opt(r.identifier.as_deref()))
        .bind($crate::store::text::cells_json(&r.raw_row))
        .bind($crate::store::text::clean(&r.reason).into_owned())
        .bind(r.upn.as_ref().map(|u| u.as_str().to_string()))
        .bind(r.date)
        .bind(r.session.map(|s| s.as_str()))
        .bind($crate::store::text::clean_opt(r.raw_mark.as_deref()))
        .bind($now)
        .fetch_one(&mut *$tx)
        .await?;
        id
    }};
}
pub(crate) use insert_review;

/// Moves a connector's checkpoint on, if nobody moved it since `$expected` was read
/// (compare-and-swap), so two runs or replicas can never both advance it.
macro_rules! save_checkpoint {
    ($tx:ident, $connector:expr, $checkpoint:expr, $expected:expr, $now:expr) => {{
        let connector: &str = $connector;
        let changed = sqlx::query(
            "INSERT INTO checkpoints (connector, value, version, updated_at) VALUES ($1, $2, 1, $4)
             ON CONFLICT (connector) DO UPDATE SET value = excluded.value, version = checkpoints.version + 1,
                 updated_at = excluded.updated_at
             WHERE checkpoints.version = $3",
        )
        .bind(connector)
        .bind($checkpoint.0.to_string())
        .bind($expected)
        .bind($now)
        .execute(&mut *$tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err($crate::store::StoreError::Conflict(format!(
                "the checkpoint of connector {connector} was moved by another run; this run's work is rolled back and will be repeated"
            )));
        }
    }};
}
pub(crate) use save_checkpoint;
