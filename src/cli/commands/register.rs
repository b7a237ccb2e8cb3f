//! `marks`, `marks history` and `report attendance`.

use std::collections::BTreeMap;

use serde_json::json;

use super::print;
use crate::cli::args::{AttendanceBy, AttendancePeriod, DateRange, MarksArgs, MarksCommand};
use crate::cli::output::{Format, Listing};
use crate::cli::{CliError, Context};
use crate::domain::{AttendanceSummary, Code, Upn, format_pct};
use crate::rules::Periods;
use crate::store::{Mark, MarkFilter, PupilLookup};

/// Bounds standing for "no limit" in a date range.
const EARLIEST: Option<chrono::NaiveDate> = chrono::NaiveDate::from_ymd_opt(1900, 1, 1);
const LATEST: Option<chrono::NaiveDate> = chrono::NaiveDate::from_ymd_opt(9999, 12, 31);

pub async fn marks(ctx: &Context, args: MarksArgs) -> Result<(), CliError> {
    if let Some(MarksCommand::History { pupil, range, format }) = args.command {
        return history(ctx, &pupil, range, format).await;
    }
    let upn = match &args.pupil {
        Some(text) => Some(pupil_named(ctx, text).await?),
        None => None,
    };
    let rows = ctx
        .store
        .marks(&MarkFilter {
            from: args.range.from,
            to: args.range.to,
            upn,
        })
        .await?;
    let mut listing = Listing::new(&["upn", "date", "session", "code", "provider"]);
    for m in rows {
        listing.push(vec![
            json!(m.upn),
            json!(m.date.to_string()),
            json!(m.session.as_str()),
            json!(m.code.as_str()),
            json!(m.provider),
        ]);
    }
    print(&listing, args.format)
}

/// The pupil `text` names: a UPN, or an admission number (leading zeros optional, as providers
/// often drop them), resolved as `visits --pupil` resolves it.
async fn pupil_named(ctx: &Context, text: &str) -> Result<Upn, CliError> {
    let found = match ctx.store.pupil_for_visit(text, ctx.now.date_naive()).await? {
        PupilLookup::Placed { upn, .. } | PupilLookup::NotPlaced { upn } => upn,
        PupilLookup::Unknown => {
            return Err(CliError::Usage(format!(
                "--pupil {text}: no pupil on the roster has that UPN or admission number"
            )));
        }
        PupilLookup::Ambiguous => {
            return Err(CliError::Usage(format!(
                "--pupil {text}: several pupils have that admission number; give the UPN"
            )));
        }
    };
    Upn::parse(&found).map_err(|e| CliError::Usage(format!("--pupil {text}: the roster holds `{found}`: {e}")))
}

async fn history(ctx: &Context, pupil: &str, range: DateRange, format: Format) -> Result<(), CliError> {
    let upn = pupil_named(ctx, pupil).await?;
    let rows = ctx
        .store
        .session_history(
            &upn,
            range.from.or(EARLIEST).unwrap_or_default(),
            range.to.or(LATEST).unwrap_or_default(),
        )
        .await?;
    let mut listing = Listing::new(&[
        "date",
        "session",
        "code",
        "state",
        "provider",
        "mark",
        "document",
        "file",
        "received_at",
        "recorded_at",
        "replaced_at",
        "decided_by",
        "note",
    ]);
    for h in rows {
        listing.push(vec![
            json!(h.date.to_string()),
            json!(h.session),
            json!(h.code),
            json!(if h.replaced_at.is_some() { "replaced" } else { "current" }),
            json!(h.provider),
            json!(h.raw_mark),
            json!(h.document_id),
            json!(h.file),
            json!(h.received_at.to_rfc3339()),
            json!(h.recorded_at.to_rfc3339()),
            json!(h.replaced_at.map(|t| t.to_rfc3339())),
            json!(h.decided_by),
            json!(h.decision_note),
        ]);
    }
    print(&listing, format)
}

/// The days `report attendance` covers: `--period`'s, as the digest and the below-target rule
/// define them, or `--from`/`--to`.
pub fn range_of(ctx: &Context, range: DateRange, period: Option<AttendancePeriod>) -> DateRange {
    let Some(period) = period else { return range };
    let config = &ctx.loaded.config;
    let (today, _) = crate::rules::local(config.rule_settings(), ctx.now);
    match Periods::on(&config.calendar, today, config.alerts.below_window_days) {
        Some(p) => {
            let span = match period {
                AttendancePeriod::Week => p.week,
                AttendancePeriod::Term => p.term,
                AttendancePeriod::Window => p.window,
            };
            DateRange {
                from: Some(span.from),
                to: Some(span.to),
            }
        }
        // No school day yet: an empty range.
        None => DateRange {
            from: Some(today),
            to: today.pred_opt(),
        },
    }
}

pub async fn attendance(ctx: &Context, range: DateRange, by: AttendanceBy, format: Format) -> Result<(), CliError> {
    let rows = ctx
        .store
        .marks(&MarkFilter {
            from: range.from,
            to: range.to,
            upn: None,
        })
        .await?;
    let names: BTreeMap<String, String> = ctx
        .store
        .pupils()
        .await?
        .into_iter()
        .map(|p| {
            let forename = p
                .record
                .preferred_forename
                .clone()
                .unwrap_or(p.record.legal_forename.clone());
            (
                p.record.upn.to_string(),
                format!("{forename} {}", p.record.legal_surname),
            )
        })
        .collect();
    let mut columns = vec![
        "upn",
        "name",
        "possible",
        "attended",
        "authorised",
        "unauthorised",
        "attendance_pct",
    ];
    if by == AttendanceBy::Provider {
        columns.insert(0, "provider");
    }
    let mut listing = Listing::new(&columns);
    let summary = |codes: Vec<Code>| {
        let s = AttendanceSummary::from_codes(codes);
        [
            json!(s.possible),
            json!(s.attended),
            json!(s.authorised),
            json!(s.unauthorised),
            json!(format_pct(s.attendance_pct())),
        ]
    };
    match by {
        AttendanceBy::Pupil => {
            for (upn, codes) in codes_by(&rows, |m| m.upn.clone()) {
                let mut row = vec![json!(upn), json!(names.get(&upn))];
                row.extend(summary(codes));
                listing.push(row);
            }
        }
        AttendanceBy::Provider => {
            for (provider, codes) in codes_by(&rows, |m| m.provider.clone()) {
                let mut row = vec![json!(provider), json!("all"), json!(null)];
                row.extend(summary(codes));
                listing.push(row);
                let theirs: Vec<Mark> = rows.iter().filter(|m| m.provider == provider).cloned().collect();
                for (upn, codes) in codes_by(&theirs, |m| m.upn.clone()) {
                    let mut row = vec![json!(provider), json!(upn), json!(names.get(&upn))];
                    row.extend(summary(codes));
                    listing.push(row);
                }
            }
        }
    }
    print(&listing, format)
}

/// The marks' codes grouped by `key`, in key order.
fn codes_by(rows: &[Mark], key: impl Fn(&Mark) -> String) -> BTreeMap<String, Vec<Code>> {
    let mut out: BTreeMap<String, Vec<Code>> = BTreeMap::new();
    for m in rows {
        out.entry(key(m)).or_default().push(m.code);
    }
    out
}
