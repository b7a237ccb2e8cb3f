//! Applying a document's staged marks to the register by its rule (see
//! [`crate::register::meet`] and `store/staged.rs`), and the review items the rule raises:
//! sessions the file contradicts itself on, marks that would undo a correction, and conflicts
//! with what the register holds.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use super::{ImportTx, Tx};
use crate::domain::{Session, Upn};
use crate::register::{NewReview, ReviewKind};
use crate::store::StoreError;
use crate::store::ledger::{DocumentStatus, ImportSummary};
use crate::store::shared::insert_review;
use crate::store::staged::{
    APPLY, APPLY_NEW, ARCHIVE_REPLACED, CLASSIFY, CONFLICTS, CONTRADICTED, REREAD_UNSTAGE_LATER, SAME_RETURN,
    STALE_REPEATS, UNSTAGE,
};

impl ImportTx {
    /// Applies the staged marks to the register (a later return replaces the provider's own
    /// earlier mark, which goes to history; anything else held becomes a conflict for review),
    /// records the counts, and commits.
    ///
    /// With the document's `fingerprint` (see `pipeline::fingerprint`): when an earlier
    /// document of the provider says exactly the same, this one is kept with its bytes but
    /// writes nothing (its review rows are dropped too), and the summary says `duplicate`
    /// with the earlier document.
    pub async fn finish(mut self, fingerprint: Option<String>) -> Result<ImportSummary, StoreError> {
        let provider = self.provider_id.clone();
        let (id, received, now) = (self.summary.document_id, self.received_at, self.now);
        let mut s = std::mem::take(&mut self.summary);
        let (rejected, repeats, staged) = (self.rejected, self.repeats, self.staged > 0);
        let same_as: Option<i64> = match (&fingerprint, rejected || self.reread) {
            (Some(f), false) => on_tx!(&mut self.tx, conn => {
                sqlx::query_scalar(SAME_RETURN).bind(&provider).bind(f).bind(id).fetch_optional(&mut *conn).await?
            }),
            _ => None,
        };
        if let Some(earlier) = same_as {
            on_tx!(&mut self.tx, conn => {
                sqlx::query("DELETE FROM review WHERE document_id = $1").bind(id).execute(&mut *conn).await?;
                sqlx::query("UPDATE documents SET fingerprint = $1, same_as = $2 WHERE id = $3")
                    .bind(&fingerprint)
                    .bind(earlier)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            });
            self.commit().await?;
            return Ok(ImportSummary {
                document_id: earlier,
                duplicate: true,
                ..ImportSummary::default()
            });
        }
        let (reread, report_date) = (self.reread, self.report_date);
        on_tx!(&mut self.tx, conn => {
            if report_date.is_some() {
                sqlx::query("UPDATE documents SET report_date = $1 WHERE id = $2")
                    .bind(report_date)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
            if reread && staged {
                // Read again, an old return takes its place by when it came: a session a later
                // return of the provider reports keeps that later mark.
                sqlx::query(REREAD_UNSTAGE_LATER).bind(&provider).bind(received).execute(&mut *conn).await?;
            }
            if !rejected && staged {
                if repeats {
                    let rows = sqlx::query(CONTRADICTED).fetch_all(&mut *conn).await?;
                    let mut keys = std::collections::BTreeSet::new();
                    for r in &rows {
                        let mark = staged_mark(r, "code")?;
                        let reason = format!(
                            "the file gives this pupil's {} {} session more than one mark: decide which is right",
                            mark.date, mark.session
                        );
                        keys.insert((mark.upn.to_string(), mark.date, mark.session.as_str()));
                        let review = mark.review(ReviewKind::Conflict, reason);
                        insert_review!(conn, &review, id, &provider, now);
                        s.review_items += 1;
                    }
                    for (upn, date, session) in keys {
                        sqlx::query(UNSTAGE).bind(upn).bind(date).bind(session).execute(&mut *conn).await?;
                    }
                }
                let counts = sqlx::query(CLASSIFY).bind(&provider).fetch_one(&mut *conn).await?;
                s.marks_added = count(counts.try_get("added")?);
                s.marks_unchanged = count(counts.try_get("unchanged")?);
                s.marks_replaced = count(counts.try_get("replaced")?);
                // Sessions the register holds already: conflicts, and marks going to history.
                // A return of new sessions (the usual case) skips both passes.
                let held: i64 = counts.try_get("held")?;
                if held > 0 {
                    let stale = sqlx::query(STALE_REPEATS).bind(&provider).fetch_all(&mut *conn).await?;
                    for r in &stale {
                        if proves_newer(report_date, r)? {
                            continue;
                        }
                        let mark = staged_mark(r, "new_code")?;
                        let held_code: String = r.try_get("code")?;
                        let by: Option<String> = r.try_get("file_name")?;
                        sqlx::query(UNSTAGE)
                            .bind(mark.upn.as_str())
                            .bind(mark.date)
                            .bind(mark.session.as_str())
                            .execute(&mut *conn)
                            .await?;
                        let review = stale_review(mark, &held_code, by.as_deref());
                        insert_review!(conn, &review, id, &provider, now);
                        s.review_items += 1;
                        // Counted as a replacement by CLASSIFY; it is not one now.
                        s.marks_replaced = s.marks_replaced.saturating_sub(1);
                    }
                    let conflicts = sqlx::query(CONFLICTS).bind(&provider).fetch_all(&mut *conn).await?;
                    for c in &conflicts {
                        let mark = staged_mark(c, "new_code")?;
                        let (code, holder): (String, String) = (c.try_get("code")?, c.try_get("provider_id")?);
                        let review = conflict_review(mark, &provider, &holder, &code);
                        insert_review!(conn, &review, id, &provider, now);
                        s.review_items += 1;
                    }
                    sqlx::query(ARCHIVE_REPLACED).bind(&provider).bind(now).bind(id).execute(&mut *conn).await?;
                }
                sqlx::query(if held > 0 { APPLY } else { APPLY_NEW })
                    .bind(&provider)
                    .bind(id)
                    .bind(received)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
            }
            let status = match (rejected, s.review_items) {
                (true, _) => DocumentStatus::Rejected,
                (false, 0) => DocumentStatus::Imported,
                (false, _) => DocumentStatus::PartlyImported,
            };
            sqlx::query(
                "UPDATE documents SET status = $1, marks_count = $2, review_count = $3, fingerprint = $4,
                     reason = CASE WHEN $5 THEN NULL ELSE reason END, imported_at = $6 WHERE id = $7",
            )
            .bind(status.as_str())
            .bind(i64::from(s.marks_added + s.marks_replaced + s.marks_unchanged))
            .bind(i64::from(s.review_items))
            .bind(&fingerprint)
            .bind(reread)
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        });
        self.commit().await?;
        Ok(s)
    }
}

/// Whether a return dated `report_date` is newer than the one that replaced the mark it repeats
/// (a [`STALE_REPEATS`] row): its report date is after that return's, or after the day that one
/// was received when it names none.
fn proves_newer<R>(report_date: Option<NaiveDate>, replacing: &R) -> Result<bool, StoreError>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    for<'c> Option<NaiveDate>: sqlx::Decode<'c, R::Database> + sqlx::Type<R::Database>,
    for<'c> Option<DateTime<Utc>>: sqlx::Decode<'c, R::Database> + sqlx::Type<R::Database>,
{
    let theirs: Option<NaiveDate> = replacing.try_get("replacing_report_date")?;
    let received: Option<DateTime<Utc>> = replacing.try_get("replacing_received_at")?;
    Ok(crate::register::repeat_is_newer(
        report_date,
        theirs.or(received.map(|t| t.date_naive())),
    ))
}

/// The review item for a mark that repeats a value a later return of the same provider
/// replaced: the register keeps the later one until a person decides.
fn stale_review(m: StagedMark, held: &str, by: Option<&str>) -> NewReview {
    let by = by.map(|f| format!(" ({f})")).unwrap_or_default();
    let reason = format!(
        "repeats an earlier mark that a later return replaced: {} for {} {} was changed to {held} by a later return{by}; \
         the register keeps {held}. If {} is right after all, resolve this item with it",
        m.code, m.date, m.session, m.code
    );
    m.review(ReviewKind::RepeatsReplaced, reason)
}

/// A staged mark read back, for the review row it becomes.
struct StagedMark {
    upn: Upn,
    date: NaiveDate,
    session: Session,
    code: String,
    raw_mark: String,
    locator: String,
    raw_row: Vec<String>,
}

impl StagedMark {
    /// The review row the mark becomes, for `kind` and why.
    fn review(self, kind: ReviewKind, reason: String) -> NewReview {
        NewReview {
            kind,
            identifier: Some(self.upn.to_string()),
            upn: Some(self.upn),
            date: Some(self.date),
            session: Some(self.session),
            raw_mark: Some(self.raw_mark),
            locator: self.locator,
            raw_row: self.raw_row,
            reason,
        }
    }
}

fn staged_mark<R>(r: &R, code_column: &str) -> Result<StagedMark, StoreError>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    for<'d> String: sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
    for<'d> Option<String>: sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
    for<'d> NaiveDate: sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
{
    let corrupt = |what: &str, e: String| StoreError::Corrupt(format!("staged {what}: {e}"));
    let upn: String = r.try_get("upn")?;
    let session: String = r.try_get("session")?;
    let raw_row: String = r.try_get("raw_row")?;
    Ok(StagedMark {
        upn: upn
            .parse()
            .map_err(|e: crate::domain::UpnError| corrupt("UPN", e.to_string()))?,
        date: r.try_get("date")?,
        session: session.parse().map_err(|e| corrupt("session", format!("{e}")))?,
        code: r.try_get(code_column)?,
        raw_mark: r.try_get::<Option<String>, _>("raw_mark")?.unwrap_or_default(),
        locator: r.try_get("locator")?,
        raw_row: serde_json::from_str(&raw_row).map_err(|e| corrupt("row", e.to_string()))?,
    })
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The review item for a mark another provider (or a person) already holds the session for.
fn conflict_review(m: StagedMark, provider: &str, holder: &str, code: &str) -> NewReview {
    let reason = if holder == provider {
        format!(
            "{provider} now reports {} for {} {}, but a person decided {code} for that session: decide again",
            m.code, m.date, m.session
        )
    } else {
        format!(
            "{provider} reports {} for {} {}, but {holder} already holds {code} for that session: decide which is right",
            m.code, m.date, m.session
        )
    };
    m.review(ReviewKind::Conflict, reason)
}
