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
                    json!(sink_label(ctx, &d.sink)),
                    json!(d.subject),
                    json!(d.status),
                    json!(d.attempts),
                    json!((d.status == "pending").then(|| ctx.local(d.next_attempt_at))),
                    json!(d.last_error),
                    json!(d.delivered_at.map(|t| ctx.local(t))),
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

/// The email sink as the configuration sends it: `email (smtp)` or `email (file)`; an endpoint's
/// sink as its id.
fn sink_label(ctx: &Context, sink: &str) -> String {
    if sink != crate::outbox::email::SINK {
        return sink.to_string();
    }
    match ctx.loaded.config.email.as_ref().map(|e| &e.transport) {
        Some(crate::config::EmailTransport::File { .. }) => "email (file)".into(),
        _ => "email (smtp)".into(),
    }
}
