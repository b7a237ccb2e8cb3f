//! `mis check`, `mis roster`, `mis plan`.

use std::path::PathBuf;

use serde_json::json;

use super::print;
use crate::cli::args::MisCommand;
use crate::cli::output::Listing;
use crate::cli::{CliError, Context};
use crate::config::MisConfig;
use crate::domain::Code;
use crate::mis::wonde::Wonde;
use crate::mis::{MisLink, plan, push, roster};

pub async fn run(ctx: &Context, cmd: MisCommand) -> Result<(), CliError> {
    let config = ctx.loaded.config.mis.as_ref().ok_or_else(|| {
        CliError::Usage(
            "there is no [mis] section in the configuration: add one (see config/apsync.example.toml and docs/mis.md)"
                .into(),
        )
    })?;
    let link = link(ctx, config)?;
    match cmd {
        MisCommand::Check { format } => {
            let school = link.school().await.map_err(failed)?;
            let codes = link.codes().await.map_err(failed)?;
            let mut listing = Listing::new(&["check", "result"]);
            listing.push(vec![json!("school"), json!(format!("{} ({})", school.name, school.id))]);
            listing.push(vec![json!("token"), json!("accepted")]);
            let mapped: Vec<&str> = Code::ALL
                .iter()
                .filter(|c| codes.iter().any(|m| m.code.trim().eq_ignore_ascii_case(c.as_str())))
                .map(|c| c.as_str())
                .collect();
            let unmapped: Vec<&str> = Code::ALL
                .iter()
                .map(|c| c.as_str())
                .filter(|c| !mapped.contains(c))
                .collect();
            listing.push(vec![
                json!("codes"),
                json!(format!("{} in the MIS's list", codes.len())),
            ]);
            listing.push(vec![json!("codes mapped"), json!(mapped.join(" "))]);
            listing.push(vec![
                json!("codes not in the MIS"),
                json!(if unmapped.is_empty() {
                    "none".to_string()
                } else {
                    unmapped.join(" ")
                }),
            ]);
            print(&listing, format)
        }
        MisCommand::Roster { format } => {
            let pulled = roster::pull(&link, &ctx.store, ctx.now)
                .await
                .map_err(|e| CliError::Failed(e.to_string()))?;
            let c = &pulled.changes;
            let mut listing = Listing::new(&[
                "what",
                "listed",
                "added",
                "updated",
                "unchanged",
                "left_roll",
                "refused",
            ]);
            listing.push(vec![
                json!("pupils"),
                json!(pulled.students),
                json!(c.pupils_added),
                json!(c.pupils_updated),
                json!(c.pupils_unchanged),
                json!(c.pupils_left_roll),
                json!(pulled.problems.len()),
            ]);
            print(&listing, format)?;
            if pulled.problems.is_empty() {
                return Ok(());
            }
            let lines: Vec<String> = pulled.problems.iter().map(|p| format!("  - {p}")).collect();
            Err(CliError::ForReview(format!(
                "{} students from the MIS were not loaded (correct them in the MIS; the others were loaded):\n{}",
                pulled.problems.len(),
                lines.join("\n")
            )))
        }
        MisCommand::Push { range, confirm, format } => {
            if !config.write_back {
                return Err(CliError::Usage(
                    "[mis] write_back is not true: nothing is written to the MIS (see `apsync mis plan`)".into(),
                ));
            }
            let (from, to) = days(ctx, &range)?;
            let planned = plan::plan_write_back(&link, &ctx.store, config, from, to)
                .await
                .map_err(|e| CliError::Failed(e.to_string()))?;
            let queued = push::queue(&planned, &ctx.store, confirm, ctx.now)
                .await
                .map_err(|e| CliError::Failed(e.to_string()))?;
            let sink = push::MisSink::new(link);
            let report =
                crate::outbox::dispatch_once(&ctx.store, &sink, &crate::outbox::RetryPolicy::default(), ctx.now)
                    .await?;
            let mut listing = Listing::new(&[
                "queued_dates",
                "queued_marks",
                "delivered",
                "retrying",
                "dead",
                "conflicts",
                "waiting",
            ]);
            listing.push(vec![
                json!(queued.dates),
                json!(queued.marks),
                json!(report.delivered),
                json!(report.retrying),
                json!(report.dead),
                json!(queued.conflicts_raised),
                json!(planned.plan.waiting),
            ]);
            print(&listing, format)?;
            if queued.conflicts_raised > 0 {
                eprintln!(
                    "apsync: {} marks a person entered in the MIS differ from the register: see `apsync review list` (dismiss to keep the MIS's mark, resolve with the code to write it)",
                    queued.conflicts_raised
                );
            }
            if report.retrying > 0 || report.dead > 0 {
                return Err(CliError::Failed(
                    "some write-backs were not accepted by the MIS: see `apsync outbox list`".into(),
                ));
            }
            Ok(())
        }
        MisCommand::Plan { range, format } => {
            let (from, to) = days(ctx, &range)?;
            let planned = plan::plan_write_back(&link, &ctx.store, config, from, to)
                .await
                .map_err(|e| CliError::Failed(e.to_string()))?;
            let mut listing = Listing::new(&["action", "upn", "date", "session", "code", "mis", "detail"]);
            for w in planned.plan.writes.values().flatten() {
                listing.push(vec![
                    json!("write"),
                    json!(w.upn),
                    json!(w.key.date.to_string()),
                    json!(w.key.session.as_str()),
                    json!(w.code.as_str()),
                    json!(null),
                    json!(format!("code id {}", w.code_id)),
                ]);
            }
            for c in &planned.plan.conflicts {
                listing.push(vec![
                    json!("conflict"),
                    json!(c.upn),
                    json!(c.key.date.to_string()),
                    json!(c.key.session.as_str()),
                    json!(c.register.as_str()),
                    json!(c.mis.map(|m| m.as_str())),
                    json!(c.reason()),
                ]);
            }
            print(&listing, format)?;
            for (code, n) in &planned.plan.unmapped {
                eprintln!(
                    "apsync: code {code} is not in the MIS's attendance code list: {n} marks with it are not written (see `apsync mis check`)"
                );
            }
            if !planned.without_mis_id.is_empty() {
                eprintln!(
                    "apsync: {} placed pupils have no MIS id, so their marks are not written: run `apsync mis roster` ({})",
                    planned.without_mis_id.len(),
                    planned.without_mis_id.join(", ")
                );
            }
            for (date, writes) in &planned.plan.writes {
                let placed = planned.placed_sessions.get(date).copied().unwrap_or(0);
                if apsync_core::mis::needs_confirmation(writes.len(), placed) {
                    eprintln!(
                        "apsync: {date}: {} marks to write is more than twice the {placed} placed sessions; a write-back would ask for --confirm",
                        writes.len()
                    );
                }
            }
            eprintln!(
                "apsync: {} to write, {} already in the MIS, {} conflicting with a mark a person entered in the MIS",
                planned.plan.writes.values().map(Vec::len).sum::<usize>(),
                planned.plan.unchanged,
                planned.plan.conflicts.len()
            );
            Ok(())
        }
    }
}

/// `--from` and `--to`, each defaulting to today.
fn days(
    ctx: &Context,
    range: &crate::cli::args::DateRange,
) -> Result<(chrono::NaiveDate, chrono::NaiveDate), CliError> {
    let today = ctx.now.with_timezone(&ctx.loaded.config.school.timezone).date_naive();
    let from = range.from.unwrap_or(today);
    let to = range.to.unwrap_or(from.max(today));
    if to < from {
        return Err(CliError::Usage(format!("--to {to} is before --from {from}")));
    }
    Ok((from, to))
}

fn link(ctx: &Context, config: &MisConfig) -> Result<Wonde, CliError> {
    let creds = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
    let token = config
        .token
        .read(creds.as_deref(), ctx.loaded.dir())
        .map_err(|e| CliError::Failed(e.to_string()))?;
    Wonde::new(config, token).map_err(failed)
}

fn failed(e: crate::mis::MisError) -> CliError {
    CliError::Failed(e.to_string())
}
