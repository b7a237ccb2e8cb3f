//! The one shape OAuth2 client-credentials settings take wherever apsync logs in with a token:
//! an `oauth2` table (`[connector.imap.oauth2]`, `[connector.http.oauth2]`, `[email.oauth2]`,
//! `[endpoint.auth.oauth2]`) holding `token_url`, `client_id`, `client_secret_file` and `scope`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::web::check_web_url;

/// An `oauth2` table as written.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct OAuth2Config {
    /// The token endpoint, e.g. `https://login.microsoftonline.com/TENANT-ID/oauth2/v2.0/token`.
    pub token_url: Option<String>,
    /// The application (client) id.
    pub client_id: Option<String>,
    /// A file (or systemd credential) holding the client secret.
    pub client_secret_file: Option<PathBuf>,
    /// The scope asked for, e.g. `https://outlook.office365.com/.default`.
    pub scope: Option<String>,
}

impl OAuth2Config {
    /// Pure checks as `(key, message)`, keys prefixed `oauth2.`. The token URL is https unless
    /// `plain_ok` (a server on this machine, knowingly): the client secret goes there.
    pub fn validate(&self, plain_ok: bool) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        match self.token_url.as_deref().map(str::trim) {
            None | Some("") => p.push(("oauth2.token_url", "missing: the OAuth2 token endpoint".to_string())),
            Some(url) => {
                if let Err(e) = check_web_url(url, plain_ok) {
                    p.push(("oauth2.token_url", e));
                }
            }
        }
        if blank(&self.client_id) {
            p.push(("oauth2.client_id", "missing: the application (client) id".to_string()));
        }
        if self.client_secret_file.is_none() {
            p.push((
                "oauth2.client_secret_file",
                "missing: a file holding the client secret".to_string(),
            ));
        }
        p
    }
}
