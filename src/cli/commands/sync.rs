//! `sync [--connector ID]...`.

use serde_json::json;

use super::print;
use crate::cli::args::SyncArgs;
use crate::cli::output::Listing;
use crate::cli::{CliError, Context};
use crate::runtime::jobs::sync_connector;
use crate::runtime::sync::RunReport;

/// Runs the chosen connectors once, one after another (one failing never stops the others), then
/// reads the visits CSV folder and pushes due visits, then runs the rules and delivers due email.
/// Exit 1 if any connector failed, a document was rejected, or pushing or email failed; else
/// exit 3 if rows went to review; else 0. Refused items (a stranger's email) change nothing.
pub async fn run(ctx: &Context, args: SyncArgs) -> Result<(), CliError> {
    let reports = sync(ctx, &args.connectors).await?;
    let mut listing = Listing::new(&[
        "connector",
        "provider",
        "result",
        "documents",
        "marks",
        "review",
        "rejected",
        "refused",
        "error",
        "error_kind",
    ]);
    for r in &reports {
        listing.push(vec![
            json!(r.connector),
            json!(r.provider),
            json!(if r.error.is_some() { "failed" } else { "ok" }),
            json!(r.documents),
            json!(r.marks),
            json!(r.review_items),
            json!(r.rejected),
            json!(r.refused),
            json!(r.error),
            json!(r.error_kind.map(apsync_connector_core::ErrorKind::as_str)),
        ]);
    }
    print(&listing, args.format)?;
    // Pushing failing must not stop the rules and alerts from running.
    let pushed = super::visits::after_sync(ctx).await;
    let mail = super::alerts::rules_then_email(ctx, true).await;
    pushed?;
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| r.error.is_some())
        .map(|r| r.connector.as_str())
        .collect();
    if !failed.is_empty() {
        return Err(CliError::Failed(format!(
            "connector run failed: {} (see the error column and `apsync status`)",
            failed.join(", ")
        )));
    }
    mail?;
    let rejected: Vec<&str> = reports
        .iter()
        .filter(|r| r.rejected > 0)
        .map(|r| r.connector.as_str())
        .collect();
    if !rejected.is_empty() {
        return Err(CliError::Failed(format!(
            "a file could not be read and was recorded as rejected: {} (see `apsync documents list --status rejected`)",
            rejected.join(", ")
        )));
    }
    let held: Vec<(&str, u32)> = reports
        .iter()
        .filter(|r| r.review_items > 0)
        .map(|r| (r.connector.as_str(), u32::try_from(r.review_items).unwrap_or(u32::MAX)))
        .collect();
    match super::import::for_review(&held) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Runs the named connectors (all when none are named), in configuration order.
pub async fn sync(ctx: &Context, only: &[String]) -> Result<Vec<RunReport>, CliError> {
    let config = &ctx.loaded.config;
    if let Some(unknown) = only.iter().find(|id| !config.connectors.iter().any(|c| &c.id == *id)) {
        let known: Vec<&str> = config.connectors.iter().map(|c| c.id.as_str()).collect();
        return Err(CliError::Usage(format!(
            "--connector {unknown}: no such connector; the configuration has {}",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    // Runs a killed daemon or sync left marked running are closed first (they count as failures).
    crate::runtime::runs::close_interrupted_runs(
        &ctx.store,
        crate::outbox::owner::this_process(),
        crate::outbox::owner::probe,
        ctx.now,
    )
    .await?;
    let mut reports = Vec::new();
    for connector in config
        .connectors
        .iter()
        .filter(|c| only.is_empty() || only.contains(&c.id))
    {
        reports.push(sync_connector(&ctx.store, &ctx.loaded, connector, ctx.now).await?);
    }
    Ok(reports)
}
