//! `token create|revoke|list`: bearer tokens for the HTTP visit intake.

use crate::cli::say;
use serde_json::json;

use super::print;
use crate::cli::args::TokenCommand;
use crate::cli::output::Listing;
use crate::cli::{CliError, Context};
use crate::http::auth::{Scope, new_token, token_hash};

pub async fn run(ctx: &Context, cmd: TokenCommand) -> Result<(), CliError> {
    match cmd {
        TokenCommand::Create { name, scopes } => {
            let name = name.trim();
            if name.is_empty()
                || name.len() > 64
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(CliError::Usage(format!(
                    "`{name}` is not a token name: use up to 64 letters, digits, -, _ or ., e.g. visit-form"
                )));
            }
            let token = new_token().map_err(|e| CliError::Failed(format!("cannot make a random token: {e}")))?;
            // In a fixed order, each once: what is stored reads the same however it was asked.
            let scopes: Vec<&str> = Scope::ALL
                .into_iter()
                .filter(|s| scopes.is_empty() && *s == Scope::Intake.as_str() || scopes.iter().any(|w| w == s))
                .collect();
            let scopes = scopes.join(" ");
            ctx.store
                .create_token(name, &token_hash(&token), &scopes, ctx.now)
                .await?;
            say!("{token}");
            eprintln!(
                "Token `{name}` created, scope: {scopes}. It is shown this once and only its hash is kept: give it to \
                 the system that uses the API, as `Authorization: Bearer TOKEN`. Stop it with `apsync token revoke {name}`."
            );
            Ok(())
        }
        TokenCommand::Revoke { name } => {
            ctx.store.revoke_token(&name, ctx.now).await?;
            say!("token `{name}` is revoked: requests carrying it are refused from now on");
            Ok(())
        }
        TokenCommand::List { format } => {
            let mut listing = Listing::new(&["name", "scopes", "created_at", "revoked_at", "last_used_at"]);
            for t in ctx.store.tokens().await? {
                listing.push(vec![
                    json!(t.name),
                    json!(t.scopes),
                    json!(ctx.local(t.created_at)),
                    json!(t.revoked_at.map(|t| ctx.local(t))),
                    json!(t.last_used_at.map(|t| ctx.local(t))),
                ]);
            }
            print(&listing, format)
        }
    }
}
