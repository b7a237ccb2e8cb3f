//! `review list`, `review resolve`, `review dismiss`.

use crate::cli::say;
use serde_json::json;

use super::print;
use crate::cli::args::ReviewCommand;
use crate::cli::output::Listing;
use crate::cli::{CliError, Context};
use crate::domain::Code;

pub async fn run(ctx: &Context, cmd: ReviewCommand) -> Result<(), CliError> {
    match cmd {
        ReviewCommand::List { all, format } => {
            let mut listing = Listing::new(&[
                "id",
                "status",
                "kind",
                "provider",
                "file",
                "locator",
                "identifier",
                "date",
                "session",
                "mark",
                "reason",
            ]);
            for r in ctx.store.review_items(all).await? {
                listing.push(vec![
                    json!(r.id),
                    json!(r.status.as_str()),
                    json!(r.kind),
                    json!(r.provider),
                    json!(r.file),
                    json!(r.locator),
                    json!(r.identifier),
                    json!(r.date.map(|d| d.to_string())),
                    json!(r.session),
                    json!(r.raw_mark),
                    json!(r.reason),
                ]);
            }
            print(&listing, format)
        }
        ReviewCommand::Resolve { id, code, note } => {
            let code: Code = code
                .parse()
                .map_err(|e| CliError::Usage(format!("--code: {e}; use a statutory code such as B, I, M, N or O")))?;
            ctx.store.resolve_review(id, code, note.as_deref(), ctx.now).await?;
            say!("review item {id} resolved: {code} recorded");
            Ok(())
        }
        ReviewCommand::Dismiss { id, note } => {
            ctx.store.dismiss_review(id, note.as_deref(), ctx.now).await?;
            say!("review item {id} dismissed");
            Ok(())
        }
    }
}
