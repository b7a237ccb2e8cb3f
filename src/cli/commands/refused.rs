//! `refused`: what connectors turned away, so IT can see each item once, with why.

use serde_json::json;

use super::print;
use crate::cli::args::RefusedArgs;
use crate::cli::output::Listing;
use crate::cli::{CliError, Context};

/// Lists the items refused within `--days`, newest first.
pub async fn list(ctx: &Context, args: RefusedArgs) -> Result<(), CliError> {
    let since = ctx.now - chrono::Duration::days(args.days.max(0));
    let mut listing = Listing::new(&[
        "recorded_at",
        "connector",
        "code",
        "sender",
        "item",
        "reason",
        "verdict",
        "size",
        "sha256",
    ]);
    for r in ctx.store.refusals_since(since).await? {
        listing.push(vec![
            json!(ctx.local(r.recorded_at)),
            json!(r.connector),
            json!(r.code),
            json!(r.sender),
            json!(r.display_name),
            json!(r.reason),
            json!(r.verdict),
            json!(r.size),
            json!(r.sha256),
        ]);
    }
    print(&listing, args.format)
}
