//! Providers' returns emailed as attachments, read over IMAP (implicit TLS or STARTTLS; plaintext
//! only when explicitly allowed on loopback), with password or XOAUTH2 login.
//!
//! Only mail from an accepted sender that is shown genuine ([`auth`]: the school's own mail
//! system's verdict, or a DKIM check here) is imported; anything else is refused and recorded.
//! Headers are read first and judged before any body is downloaded, so a stranger's mail costs
//! a few kilobytes. The checkpoint is UIDVALIDITY + last UID, so a person reading (or
//! un-reading) the mailbox changes nothing; after commit a message is flagged or moved.

pub mod auth;
pub mod dkim;
#[doc(hidden)]
pub mod fuzz_entry;
pub mod mime;
mod nesting;
mod net;
mod parts;
mod screen;
mod source;

use apsync_connector_core::{OAuth2Config, web};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use auth::Authentication;
pub use source::{ImapAuth, ImapSource};

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (port 993).
    #[default]
    Implicit,
    /// Plain connection upgraded with STARTTLS (port 143).
    Starttls,
    /// No TLS: only for a server on this machine, and only with `allow_plaintext = true`.
    None,
}

/// What happens to a message once its attachments are imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum After {
    /// Set the keyword `$ApsyncImported` (people still see the message as it was).
    #[default]
    Flag,
    /// Move it to `move_to`.
    Move,
    /// Leave it exactly as it is.
    Keep,
}

/// `[connector.imap]` in the daemon configuration.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
pub struct ImapConfig {
    /// The mail server.
    pub host: Option<String>,
    /// Its port: default 993 with implicit TLS, else 143.
    pub port: Option<u16>,
    /// `implicit` (default), `starttls` or `none` (old name: `security`).
    pub tls: Option<Security>,
    /// Must be true for `tls = "none"`, which is refused unless the host is loopback; also lets
    /// the OAuth2 token endpoint be plain http on this machine.
    pub allow_plaintext: Option<bool>,
    /// A PEM file of extra certificate authorities to trust (a school's own mail server).
    pub ca_file: Option<PathBuf>,
    /// The mailbox account (old name: `user`).
    pub username: Option<String>,
    /// A file holding the password (password login).
    pub password_file: Option<PathBuf>,
    /// XOAUTH2 login with a client-credentials token: `[connector.imap.oauth2]`.
    pub oauth2: Option<OAuth2Config>,
    /// The folder to read. Default `INBOX`.
    pub mailbox: Option<String>,
    /// Accepted senders: addresses, or domains (`provider.org.uk` or `@provider.org.uk`). Mail
    /// from anyone else is never imported and is reported. This alone is not authentication:
    /// see `authentication`.
    #[serde(default)]
    pub senders: Vec<String>,
    /// How a message is shown genuine: `verdict` (default: the school's mail system's
    /// Authentication-Results, from one of `trusted_authserv_ids`), `dkim` (checked here), or
    /// `review` (not at all: every row goes to review).
    pub authentication: Option<Authentication>,
    /// The authserv-ids of the school's own receiving mail system, as it names itself at the
    /// start of its `Authentication-Results` headers (e.g. `mx.google.com`).
    #[serde(default)]
    pub trusted_authserv_ids: Vec<String>,
    /// Which attachment names to take, `*` and `?` wildcards. Default `*`.
    pub glob: Option<String>,
    /// Which attachment media types to take. Default: CSV and spreadsheet types.
    pub media_types: Option<Vec<String>>,
    /// `flag` (default), `move` or `keep`.
    pub after: Option<After>,
    /// With `after = "move"`: the folder imported messages go to.
    pub move_to: Option<String>,
    /// Seconds allowed for connecting and for each command. Default 30.
    pub timeout_seconds: Option<u64>,
}

impl ImapConfig {
    /// Pure checks, every problem at once as `(key, message)` with keys relative to the table.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        if blank(&self.host) {
            p.push((
                "host",
                "missing: the mail server, e.g. `outlook.office365.com`".to_string(),
            ));
        }
        if self.port == Some(0) {
            p.push(("port", "0 is not a port: leave it out for the usual one".to_string()));
        }
        if self.tls == Some(Security::None) {
            if self.allow_plaintext != Some(true) {
                p.push((
                    "tls",
                    "`none` sends the password unencrypted: use `implicit` or `starttls`, or set allow_plaintext = true for a server on this machine".to_string(),
                ));
            } else if !self.host.as_deref().is_some_and(web::is_loopback_host) {
                p.push((
                    "tls",
                    "`none` is only allowed for a server on this machine (127.0.0.1, ::1, localhost)".to_string(),
                ));
            }
        }
        if blank(&self.username) {
            p.push(("username", "missing: the mailbox account".to_string()));
        }
        match (self.password_file.is_some(), &self.oauth2) {
            (false, None) => p.push((
                "password_file",
                "missing: name a file holding the password, or add [connector.imap.oauth2] (token_url, client_id, client_secret_file, scope) for XOAUTH2".to_string(),
            )),
            (true, Some(_)) => p.push(("password_file", "give password_file or [connector.imap.oauth2], not both".to_string())),
            (false, Some(o)) => p.extend(o.validate(self.allow_plaintext == Some(true))),
            (true, None) => {}
        }
        if self.senders.is_empty() || self.senders.iter().any(|s| s.trim().is_empty() || s.contains(' ')) {
            p.push((
                "senders",
                "list the provider's addresses or domains, e.g. [\"returns@provider.org.uk\", \"@provider.org.uk\"]: mail from anyone else is never imported".to_string(),
            ));
        }
        let authentication = self.authentication.unwrap_or_default();
        let ids_blank = self
            .trusted_authserv_ids
            .iter()
            .any(|s| s.trim().is_empty() || s.contains([' ', ';']));
        if authentication == Authentication::Verdict && (self.trusted_authserv_ids.is_empty() || ids_blank) {
            p.push((
                "trusted_authserv_ids",
                "missing: with authentication = \"verdict\" (the default), name the school's own mail system as it signs its Authentication-Results headers, e.g. [\"mx.google.com\"] (see the README, \"Emailed returns\"); or set authentication = \"dkim\"".to_string(),
            ));
        } else if authentication != Authentication::Verdict && !self.trusted_authserv_ids.is_empty() {
            p.push((
                "trusted_authserv_ids",
                format!(
                    "only used with authentication = \"verdict\", not \"{}\"",
                    authentication.as_str()
                ),
            ));
        }
        if let Some(g) = &self.glob
            && g.trim().is_empty()
        {
            p.push((
                "glob",
                "empty: use `*` for every attachment, or e.g. `*.xlsx`".to_string(),
            ));
        }
        if self
            .media_types
            .as_ref()
            .is_some_and(|m| m.is_empty() || m.iter().any(|t| !t.contains('/')))
        {
            p.push(("media_types", "list media types such as \"text/csv\"".to_string()));
        }
        match (self.after.unwrap_or_default(), &self.move_to) {
            (After::Move, None) => p.push((
                "move_to",
                "missing: after = \"move\" needs the folder to move messages to".to_string(),
            )),
            (After::Flag | After::Keep, Some(_)) => {
                p.push(("move_to", "only used with after = \"move\"".to_string()));
            }
            _ => {}
        }
        if self.timeout_seconds == Some(0) {
            p.push(("timeout_seconds", "must be at least 1".to_string()));
        }
        p
    }
}

#[cfg(test)]
mod tests;
