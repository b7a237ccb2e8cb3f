//! `documents list` and `documents reread`: the ledger, and reading stored returns again once
//! their provider's format is fixed.

use serde_json::json;

use super::print;
use crate::cli::args::DocumentsCommand;
use crate::cli::output::Format;
use crate::cli::output::Listing;
use crate::cli::{CliError, Context};
use crate::pipeline::import::{ImportOutcome, RosterSnapshot, reread};
use crate::store::DocumentFilter;

pub async fn run(ctx: &Context, cmd: DocumentsCommand) -> Result<(), CliError> {
    match cmd {
        DocumentsCommand::List {
            provider,
            status,
            format,
        } => list(ctx, provider, status.map(|s| s.as_str().to_string()), format).await,
        DocumentsCommand::Reread {
            ids,
            provider,
            status,
            format,
        } => {
            let ids = match provider {
                Some(p) => {
                    known_provider(ctx, &p)?;
                    let filter = DocumentFilter {
                        provider: Some(p),
                        status: status.map(|s| s.as_str().to_string()),
                    };
                    ctx.store.documents(&filter).await?.into_iter().map(|d| d.id).collect()
                }
                None => ids,
            };
            read_again(ctx, &ids, format).await
        }
    }
}

fn known_provider(ctx: &Context, id: &str) -> Result<(), CliError> {
    let config = &ctx.loaded.config;
    if config.provider(id).is_some() {
        return Ok(());
    }
    let known: Vec<&str> = config.providers.iter().map(|p| p.id.as_str()).collect();
    Err(CliError::Usage(format!(
        "--provider {id}: no such provider; the configuration has {}",
        known.join(", ")
    )))
}

async fn list(ctx: &Context, provider: Option<String>, status: Option<String>, format: Format) -> Result<(), CliError> {
    if let Some(p) = &provider {
        known_provider(ctx, p)?;
    }
    let mut listing = Listing::new(&[
        "id",
        "provider",
        "file",
        "connector",
        "received_at",
        "read_at",
        "status",
        "marks",
        "review",
        "same_as",
        "earlier_reads",
        "reason",
    ]);
    for d in ctx.store.documents(&DocumentFilter { provider, status }).await? {
        listing.push(vec![
            json!(d.id),
            json!(d.provider),
            json!(d.file_name),
            json!(d.connector),
            json!(ctx.local(d.received_at)),
            json!(ctx.local(d.read_at)),
            json!(d.status),
            json!(d.marks),
            json!(d.review_items),
            json!(d.same_as),
            json!(d.earlier_reads),
            json!(d.reason),
        ]);
    }
    print(&listing, format)
}

/// Reads each document again, in the order received (so the rule that a later return wins
/// holds among them), then runs the rules; exit as `import` does.
async fn read_again(ctx: &Context, ids: &[i64], format: Format) -> Result<(), CliError> {
    let mut docs = Vec::new();
    for id in ids {
        match ctx.store.document(*id).await? {
            Some(d) => docs.push(d),
            None => {
                return Err(CliError::Failed(format!(
                    "no document {id}: `apsync documents list` shows the ledger"
                )));
            }
        }
    }
    docs.sort_by_key(|d| (d.received_at, d.id));
    let roster = RosterSnapshot::load(&ctx.store).await?;
    let mut outcomes: Vec<(i64, ImportOutcome)> = Vec::new();
    for d in &docs {
        let outcome = reread(&ctx.store, &ctx.loaded.config, &roster, d.id, ctx.now)
            .await
            .map_err(|e| CliError::Failed(format!("document {} ({}): {e}", d.id, d.file_name)))?;
        outcomes.push((d.id, outcome));
    }
    let mut listing = Listing::new(&[
        "id",
        "file",
        "result",
        "added",
        "replaced",
        "unchanged",
        "review",
        "reason",
    ]);
    for (id, o) in &outcomes {
        let result = match (&o.rejected, o.summary.review_items) {
            (Some(_), _) => "rejected again",
            (None, 0) => "read again",
            (None, _) => "read again, partly imported",
        };
        listing.push(vec![
            json!(id),
            json!(o.file_name),
            json!(result),
            json!(o.summary.marks_added),
            json!(o.summary.marks_replaced),
            json!(o.summary.marks_unchanged),
            json!(o.summary.review_items),
            json!(o.rejected),
        ]);
    }
    print(&listing, format)?;
    super::alerts::rules_then_email(ctx, false).await?;
    let rejected: Vec<&str> = outcomes
        .iter()
        .filter(|(_, o)| o.rejected.is_some())
        .map(|(_, o)| o.file_name.as_str())
        .collect();
    if !rejected.is_empty() {
        return Err(CliError::Failed(format!(
            "{} still cannot be read with the provider's current format (see the reason column)",
            rejected.join(", ")
        )));
    }
    let held: Vec<(&str, u32)> = outcomes
        .iter()
        .filter(|(_, o)| o.summary.review_items > 0)
        .map(|(_, o)| (o.file_name.as_str(), o.summary.review_items))
        .collect();
    match super::import::for_review(&held) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
