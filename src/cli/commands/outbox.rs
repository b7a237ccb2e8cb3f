//! `outbox list`, `outbox retry`.

use crate::cli::say;
use serde_json::json;

use super::print;
use crate::cli::args::OutboxCommand;
use crate::cli::output::Listing;
use crate::cli::{CliError, Context};

pub async fn run(ctx: &Context, cmd: OutboxCommand) -> Result<(), CliError> {
    match cmd {
        OutboxCommand::List { pending, limit, format } => {
            let mut listing = Listing::new(&[
                "id",
                "channel",
                "sink",
                "subject",
                "status",
                "attempts",
                "next_attempt",
                "last_error",
                "delivered_at",
            ]);
            for d in ctx.store.deliveries(pending, limit).await? {
                listing.push(vec![
                    json!(d.id),
                    json!(d.channel),
                    json!(d.sink),
                    json!(d.subject),
                    json!(d.status),
                    json!(d.attempts),
                    json!((d.status == "pending").then(|| d.next_attempt_at.to_rfc3339())),
                    json!(d.last_error),
                    json!(d.delivered_at.map(|t| t.to_rfc3339())),
                ]);
            }
            print(&listing, format)
        }
        OutboxCommand::Retry { id } => {
            ctx.store.retry_delivery(id, ctx.now).await?;
            say!("delivery {id} is queued to be sent again now");
            Ok(())
        }
    }
}
