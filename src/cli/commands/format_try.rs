//! `format try --provider ID FILE... [--rows N]`: a provider's format tried on files, writing
//! nothing (the store is opened read-only, for the roster).

use serde_json::json;

use super::import::provider;
use super::print;
use crate::cli::args::FormatTryArgs;
use crate::cli::output::{Format, Listing};
use crate::cli::{CliError, Context, say};
use crate::pipeline::import::{Content, RosterSnapshot};
use crate::pipeline::trial::{TrialReport, try_file};

/// Reads each file with the provider's format and reports what an import would do. Exit 1 when
/// a file cannot be read, else 3 when some rows would go to review, else 0.
pub async fn run(ctx: &Context, args: FormatTryArgs) -> Result<(), CliError> {
    let config = &ctx.loaded.config;
    let provider = provider(config, &args.provider)?;
    let roster = RosterSnapshot::load(&ctx.store).await?;
    let mut reports = Vec::new();
    for path in &args.files {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let content = Content::File(path.clone());
        let report = try_file(config, &roster, provider, &file_name, &content, args.rows)
            .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
        reports.push(report);
    }
    match args.format {
        Format::Json => {
            let stdout = std::io::stdout();
            serde_json::to_writer_pretty(stdout.lock(), &reports).map_err(std::io::Error::from)?;
            say!();
        }
        Format::Csv => print(&observations(&reports), Format::Csv)?,
        Format::Table => {
            for report in &reports {
                show(report)?;
            }
        }
    }
    outcome(&reports, &args.provider)
}

/// The exit status: a file that cannot be read, then rows for review.
fn outcome(reports: &[TrialReport], provider: &str) -> Result<(), CliError> {
    let rejected: Vec<&str> = reports
        .iter()
        .filter(|r| r.rejected.is_some())
        .map(|r| r.file.as_str())
        .collect();
    if !rejected.is_empty() {
        return Err(CliError::Failed(format!(
            "{} cannot be read with the format of {provider} (see above): an import would reject it; nothing was written",
            rejected.join(", ")
        )));
    }
    let held: Vec<String> = reports
        .iter()
        .filter(|r| r.review > 0)
        .map(|r| {
            format!(
                "{} {} of {}",
                r.review,
                if r.review == 1 { "row" } else { "rows" },
                r.file
            )
        })
        .collect();
    if held.is_empty() {
        return Ok(());
    }
    Err(CliError::ForReview(format!(
        "an import would send {} to review (see the problems above); nothing was written",
        held.join(", ")
    )))
}

/// The observations shown, as a listing (`--format csv`).
fn observations(reports: &[TrialReport]) -> Listing {
    let mut listing = Listing::new(&[
        "file",
        "locator",
        "date",
        "session",
        "mark",
        "becomes",
        "upn",
        "matched_by",
    ]);
    for r in reports {
        for o in &r.observations {
            listing.push(vec![
                json!(r.file),
                json!(o.locator),
                json!(o.date),
                json!(o.session),
                json!(o.mark),
                json!(o.becomes),
                json!(o.upn),
                json!(o.matched_by),
            ]);
        }
    }
    listing
}

/// One file's report, for a person.
fn show(r: &TrialReport) -> Result<(), CliError> {
    say!("{}", r.file);
    match &r.header_at {
        Some(at) => say!("  header: {at}"),
        None => say!("  header: not found"),
    }
    for c in &r.columns {
        say!("    `{}`: {}", c.column, c.role);
    }
    say!("  layout: {}", r.layout);
    if !r.date_patterns.is_empty() {
        let quoted: Vec<String> = r
            .date_patterns
            .iter()
            .map(|p| if p.contains('%') { format!("`{p}`") } else { p.clone() })
            .collect();
        say!("  dates read with: {}", quoted.join(", "));
    }
    if !r.observations.is_empty() {
        say!("  the first {} observations:", r.observations.len());
    }
    for o in &r.observations {
        let pupil = match &o.upn {
            Some(upn) => format!("pupil {upn} by {}", o.matched_by),
            None => o.matched_by.clone(),
        };
        say!(
            "    {}: {} {} `{}` becomes {}; {pupil}",
            o.locator,
            o.date.format("%a %-d %b %Y"),
            o.session,
            o.mark,
            o.becomes
        );
    }
    if !r.problems.is_empty() {
        say!("  would go to review ({}):", r.problems.len());
    }
    for p in &r.problems {
        say!("    {} ({}): {}", p.locator, p.kind, p.reason);
    }
    match &r.rejected {
        Some(why) => say!("  cannot be read: {why}"),
        None if r.review == 0 => say!("  every row would become a mark ({} marks)", r.marks),
        None => say!(
            "  {} {}, {} {} for review",
            r.marks,
            if r.marks == 1 { "mark" } else { "marks" },
            r.review,
            if r.review == 1 { "row" } else { "rows" }
        ),
    }
    Ok(())
}
