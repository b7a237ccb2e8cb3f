//! `import --provider ID FILE...`.

use std::path::Path;

use serde_json::json;

use super::print;
use crate::cli::args::ImportArgs;
use crate::cli::output::Listing;
use crate::cli::{CliError, Context};
use crate::config::{Config, ProviderConfig};
use crate::pipeline::decode::check_size;
use crate::pipeline::import::{Content, ImportOutcome, Incoming, RosterSnapshot, import};

/// Imports each file in order; a file that cannot be read is recorded as rejected and makes the
/// command fail (exit 1) after the others have been imported.
pub async fn run(ctx: &Context, args: ImportArgs) -> Result<(), CliError> {
    let outcomes = import_files(ctx, &args.provider, &args.files).await?;
    let mut listing = Listing::new(&["file", "result", "added", "replaced", "unchanged", "review", "reason"]);
    for o in &outcomes {
        let result = match (&o.rejected, o.summary.duplicate) {
            (Some(_), true) => "rejected (already recorded)",
            (None, true) => "already imported",
            (Some(_), false) => "rejected",
            (None, false) if o.summary.review_items > 0 => "partly imported",
            (None, false) => "imported",
        };
        listing.push(vec![
            json!(o.file_name),
            json!(result),
            json!(o.summary.marks_added),
            json!(o.summary.marks_replaced),
            json!(o.summary.marks_unchanged),
            json!(o.summary.review_items),
            json!(o.rejected),
        ]);
    }
    print(&listing, args.format)?;
    // The rules run after every import; the emails they queue go out with the next `sync`.
    super::alerts::rules_then_email(ctx, false).await?;
    let rejected: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.rejected.is_some())
        .map(|o| o.file_name.as_str())
        .collect();
    if !rejected.is_empty() {
        return Err(CliError::Failed(format!(
            "{} could not be read and {} recorded as rejected (see the reason column); fix the provider's format, then read \
             the stored file again with `apsync documents reread --provider {} --status rejected`; or ask the provider for a readable file",
            rejected.join(", "),
            if rejected.len() == 1 { "was" } else { "were" },
            args.provider
        )));
    }
    let held: Vec<(&str, u32)> = outcomes
        .iter()
        .filter(|o| !o.summary.duplicate && o.summary.review_items > 0)
        .map(|o| (o.file_name.as_str(), o.summary.review_items))
        .collect();
    match for_review(&held) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Exit 3, naming the files whose rows wait for a person, when there are any.
pub fn for_review(held: &[(&str, u32)]) -> Option<CliError> {
    if held.is_empty() {
        return None;
    }
    let rows: u32 = held.iter().map(|(_, n)| n).sum();
    let files: Vec<String> = held.iter().map(|(f, n)| format!("{f} ({n})")).collect();
    let (noun, verb) = if rows == 1 { ("row", "waits") } else { ("rows", "wait") };
    Some(CliError::ForReview(format!(
        "{rows} {noun} {verb} for a person, from {}: see `apsync review list`",
        files.join(", ")
    )))
}

/// The provider `--provider` names, or a usage error listing those there are.
pub fn provider<'c>(config: &'c Config, provider_id: &str) -> Result<&'c ProviderConfig, CliError> {
    config.provider(provider_id).ok_or_else(|| {
        let known: Vec<&str> = config.providers.iter().map(|p| p.id.as_str()).collect();
        CliError::Usage(format!(
            "--provider {provider_id}: no such provider; the configuration has {}",
            known.join(", ")
        ))
    })
}

/// Imports files of one provider in order, loading the roster once.
pub async fn import_files(
    ctx: &Context,
    provider_id: &str,
    files: &[impl AsRef<Path>],
) -> Result<Vec<ImportOutcome>, CliError> {
    let config = &ctx.loaded.config;
    let provider = provider(config, provider_id)?;
    let roster = RosterSnapshot::load(&ctx.store).await?;
    let mut outcomes = Vec::new();
    for path in files {
        let path = path.as_ref();
        let unreadable = |e: std::io::Error| CliError::Failed(format!("cannot read {}: {e}", path.display()));
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Refused by its size before it is read: a 2 GB file must not be pulled into memory (nor
        // into the ledger) to find out it is too big. It stays where it is; nothing is lost.
        let size = std::fs::metadata(path).map_err(unreadable)?.len();
        if let Some(Err(e)) = provider.format.as_ref().map(|f| check_size(size, &file_name, f)) {
            outcomes.push(ImportOutcome {
                file_name,
                summary: Default::default(),
                rejected: Some(e.to_string()),
            });
            continue;
        }
        // Read as it streams past (more than once), never held whole.
        let incoming = Incoming {
            external_id: path.display().to_string(),
            file_name,
            content: Content::File(path.to_path_buf()),
            connector: "manual".into(),
            media_type: None,
            metadata: json!({ "path": path.display().to_string() }),
            received_at: ctx.now,
            hold_for_review: None,
        };
        let outcome = import(&ctx.store, config, &roster, provider, incoming, None, ctx.now)
            .await
            .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
        outcomes.push(outcome);
    }
    Ok(outcomes)
}
