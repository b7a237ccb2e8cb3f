//! `marks` and `report attendance`.

use std::collections::BTreeMap;

use serde_json::json;

use super::print;
use crate::cli::args::{DateRange, MarksArgs};
use crate::cli::output::{Format, Listing};
use crate::cli::{CliError, Context};
use crate::domain::{AttendanceSummary, Upn, format_pct};
use crate::store::MarkFilter;

pub async fn marks(ctx: &Context, args: MarksArgs) -> Result<(), CliError> {
    let upn = match &args.pupil {
        Some(text) => Some(Upn::parse(text).map_err(|e| CliError::Usage(format!("--pupil {text}: {e}")))?),
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

pub async fn attendance(ctx: &Context, range: DateRange, format: Format) -> Result<(), CliError> {
    let rows = ctx
        .store
        .marks(&MarkFilter {
            from: range.from,
            to: range.to,
            upn: None,
        })
        .await?;
    let mut by_pupil: BTreeMap<String, Vec<crate::domain::Code>> = BTreeMap::new();
    for m in rows {
        by_pupil.entry(m.upn).or_default().push(m.code);
    }
    let mut listing = Listing::new(&[
        "upn",
        "possible",
        "attended",
        "authorised",
        "unauthorised",
        "attendance_pct",
    ]);
    for (upn, codes) in by_pupil {
        let s = AttendanceSummary::from_codes(codes);
        listing.push(vec![
            json!(upn),
            json!(s.possible),
            json!(s.attended),
            json!(s.authorised),
            json!(s.unauthorised),
            json!(format_pct(s.attendance_pct())),
        ]);
    }
    print(&listing, format)
}
