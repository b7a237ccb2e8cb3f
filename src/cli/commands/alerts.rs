//! `alerts`, and the rules-then-email step that `sync` and `import` end with.

use serde_json::json;

use super::print;
use crate::cli::args::AlertsArgs;
use crate::cli::output::Listing;
use crate::cli::{CliError, Context};
use crate::runtime::alerts::{AlertsError, dispatch};
use crate::runtime::jobs::WhenBusy;

impl From<AlertsError> for CliError {
    fn from(e: AlertsError) -> Self {
        match e {
            AlertsError::Store(e) => CliError::Store(e),
            other => CliError::Failed(other.to_string()),
        }
    }
}

/// Lists open alerts and those closed within `--days`, newest first.
pub async fn list(ctx: &Context, args: AlertsArgs) -> Result<(), CliError> {
    let since = ctx.now - chrono::Duration::days(args.days.max(0));
    let mut listing = Listing::new(&[
        "id",
        "rule",
        "key",
        "state",
        "level",
        "title",
        "first_seen",
        "closed_at",
    ]);
    for a in ctx.store.alerts(since).await? {
        listing.push(vec![
            json!(a.id),
            json!(a.rule),
            json!(a.subject_key),
            json!(a.state),
            json!(a.level),
            json!(a.title),
            json!(ctx.local(a.first_seen)),
            json!(a.closed_at.map(|t| ctx.local(t))),
        ]);
    }
    print(&listing, args.format)
}

/// Runs the rules (queueing their emails) and, when `send`, delivers due email. Says what it did
/// on standard error, leaving standard output to the command's own listing. A mail server that
/// refuses apsync's credentials (or TLS) fails the command: IT must hear of it, and email cannot
/// carry that news.
pub async fn rules_then_email(ctx: &Context, send: bool) -> Result<(), CliError> {
    let run = crate::runtime::jobs::evaluate_once(&ctx.store, &ctx.loaded, ctx.now, send, WhenBusy::Wait)
        .await?
        .unwrap_or_default();
    let c = run.counts;
    eprintln!(
        "alerts: {} raised, {} escalated, {} resolved, {} lapsed; {} and {} queued",
        c.raised,
        c.escalated,
        c.resolved,
        c.lapsed,
        crate::cli::output::count(c.emails, "email"),
        crate::cli::output::count(run.digest, "digest")
    );
    if !send {
        return Ok(());
    }
    match dispatch(&ctx.store, &ctx.loaded, ctx.now).await? {
        None => eprintln!("email: no [email] section, so alerts are recorded but not sent"),
        Some(r) => {
            eprintln!(
                "email: {} delivered, {} waiting to retry, {} dead-lettered",
                r.delivered, r.retrying, r.dead
            );
            if r.misconfigured > 0 {
                return Err(CliError::Failed(
                    "email is misconfigured and nothing more can be sent: see `apsync outbox list --pending` and `apsync status`".into(),
                ));
            }
        }
    }
    Ok(())
}
