//! `review list`, `review resolve`, `review dismiss`.

use crate::cli::say;
use serde_json::json;

use super::print;
use crate::cli::args::ReviewCommand;
use crate::cli::output::Listing;
use crate::cli::{CliError, Context};
use crate::domain::Code;
use crate::store::Decision;

pub async fn run(ctx: &Context, cmd: ReviewCommand) -> Result<(), CliError> {
    match cmd {
        ReviewCommand::List { all, format } => {
            let mut columns = vec![
                "id",
                "status",
                "kind",
                "provider",
                "file",
                "locator",
                "identifier",
                "upn",
                "date",
                "session",
                "mark",
                "reason",
            ];
            // With decided items, who decided what, when and why.
            if all {
                columns.extend(["decided_code", "decided_by", "decided_at", "decision_note"]);
            }
            let mut listing = Listing::new(&columns);
            for r in ctx.store.review_items(all).await? {
                let mut row = vec![
                    json!(r.id),
                    json!(r.status.as_str()),
                    json!(r.kind),
                    json!(r.provider),
                    json!(r.file),
                    json!(r.locator),
                    json!(r.identifier),
                    json!(r.upn),
                    json!(r.date.map(|d| d.to_string())),
                    json!(r.session),
                    json!(r.raw_mark),
                    json!(r.reason),
                ];
                if all {
                    row.extend([
                        json!(r.decided_code),
                        json!(r.decided_by),
                        json!(r.decided_at.map(|t| t.to_rfc3339())),
                        json!(r.decision_note),
                    ]);
                }
                listing.push(row);
            }
            print(&listing, format)
        }
        ReviewCommand::Resolve { id, code, by, note } => {
            let code: Code = code
                .parse()
                .map_err(|e| CliError::Usage(format!("--code: {e}; use a statutory code such as B, I, M, N or O")))?;
            let by = decider(by)?;
            let decision = Decision {
                by: &by,
                note: note.as_deref(),
            };
            ctx.store.resolve_review(id, code, decision, ctx.now).await?;
            say!("review item {id} resolved by {by}: {code} recorded");
            Ok(())
        }
        ReviewCommand::Dismiss { id, by, note } => {
            let by = decider(by)?;
            let decision = Decision {
                by: &by,
                note: note.as_deref(),
            };
            ctx.store.dismiss_review(id, decision, ctx.now).await?;
            say!("review item {id} dismissed by {by}");
            Ok(())
        }
    }
}

/// Who decides: `--by`, else the person behind sudo, else the operating-system user (from the
/// environment, or failing that the account that owns this process, as cron and systemd set no
/// `USER`).
fn decider(by: Option<String>) -> Result<String, CliError> {
    let given = by.map(|b| b.trim().to_string()).filter(|b| !b.is_empty());
    let from_env = || {
        ["SUDO_USER", "USER", "LOGNAME"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    };
    given.or_else(from_env).or_else(account_name).ok_or_else(|| {
        CliError::Usage("say who decides with --by NAME (no operating-system user name is set here)".into())
    })
}

/// The name `/etc/passwd` gives the account running this process.
fn account_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid && !name.is_empty()).then(|| name.to_string())
    })
}
