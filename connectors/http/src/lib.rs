//! Providers' JSON attendance APIs: a GET with a date window in the URL (from the end of the last
//! successful window, overlapping a little; the daemon's ledger drops repeats), bearer, API key,
//! basic or OAuth2 client-credentials auth, pagination by page number, next link or cursor, and
//! 429/5xx retried with backoff honouring `Retry-After`. Each JSON page becomes a document.

mod source;

use std::path::PathBuf;

use apsync_connector_core::OAuth2Config;
use apsync_connector_core::web::check_web_url;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use source::{HttpAuth, HttpSource};

/// How the API wants to be authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// No authentication.
    #[default]
    None,
    /// `Authorization: Bearer TOKEN` from `token_file`.
    Bearer,
    /// A header (`api_key_header`) carrying the key from `api_key_file`.
    ApiKey,
    /// HTTP basic with `username` and `password_file`.
    Basic,
    /// A bearer token from the OAuth2 client-credentials flow.
    Oauth2,
}

/// How the API splits its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Paging {
    /// One page.
    #[default]
    None,
    /// `page_param=1, 2, ...` until a page has no records or `next_path` is null.
    Page,
    /// Follow the URL at `next_path` until it is null.
    NextLink,
    /// Pass the value at `next_path` as `cursor_param` until it is null.
    Cursor,
}

/// `[connector.http]` in the daemon configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct HttpConfig {
    /// The URL, with `{from}` and `{to}` where the date window goes, e.g.
    /// `https://api.provider.test/v1/attendance?from={from}&to={to}`.
    pub url: Option<String>,
    /// How dates are written into the URL (strftime). Default `%Y-%m-%d`.
    pub date_format: Option<String>,
    /// The first window's start, when nothing was fetched yet. Default: 14 days ago.
    pub start_date: Option<NaiveDate>,
    /// Days each window reaches back before the end of the last successful one. Default 2.
    pub overlap_days: Option<u32>,
    /// `none` (default), `bearer`, `api_key`, `basic` or `oauth2`.
    pub auth: Option<AuthKind>,
    /// File holding the bearer token (`auth = "bearer"`).
    pub token_file: Option<PathBuf>,
    /// The header carrying the API key (`auth = "api_key"`), e.g. `X-API-Key`.
    pub api_key_header: Option<String>,
    /// File holding the API key.
    pub api_key_file: Option<PathBuf>,
    /// User name (`auth = "basic"`).
    pub username: Option<String>,
    /// File holding the password (`auth = "basic"`).
    pub password_file: Option<PathBuf>,
    /// The client-credentials settings (`auth = "oauth2"`): `[connector.http.oauth2]`.
    pub oauth2: Option<OAuth2Config>,
    /// `none` (default), `page`, `next_link` or `cursor`.
    pub paging: Option<Paging>,
    /// Dotted path to the page's records, e.g. `data`. Default `data`.
    pub records_path: Option<String>,
    /// Dotted path to the next page number, link or cursor, e.g. `meta.next_page`.
    pub next_path: Option<String>,
    /// The page number's query parameter. Default `page`.
    pub page_param: Option<String>,
    /// The cursor's query parameter. Default `cursor`.
    pub cursor_param: Option<String>,
    /// At most this many pages per run. Default 100.
    pub max_pages: Option<u32>,
    /// Seconds allowed for each request. Default 30.
    pub timeout_seconds: Option<u64>,
    /// Retries of a request answered 429 or 5xx, or timed out. Default 4.
    pub retries: Option<u32>,
    /// Must be true for an `http://` URL, which is refused unless the host is loopback.
    pub allow_plaintext: Option<bool>,
}

/// The URL with its date placeholders filled, to parse and check.
pub(crate) fn sample_url(template: &str) -> String {
    template.replace("{from}", "2026-01-01").replace("{to}", "2026-01-02")
}

/// How the connector authenticates, as [`HttpConfig::validate`] guarantees it: every name and
/// file its kind needs is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpCredentials<'a> {
    /// No credentials.
    None,
    /// A bearer token, read from this file.
    Bearer {
        /// The file holding the token.
        token_file: &'a std::path::Path,
    },
    /// An API key in a header.
    ApiKey {
        /// The header's name.
        header: &'a str,
        /// The file holding the key.
        key_file: &'a std::path::Path,
    },
    /// HTTP Basic.
    Basic {
        /// The user name.
        username: &'a str,
        /// The file holding the password.
        password_file: &'a std::path::Path,
    },
    /// OAuth2 client credentials.
    OAuth2(apsync_connector_core::oauth2::OAuth2Settings<'a>),
}

impl HttpConfig {
    /// The credentials, `None` only where [`HttpConfig::validate`] reports something missing.
    pub fn credentials(&self) -> Option<HttpCredentials<'_>> {
        Some(match self.auth.unwrap_or_default() {
            AuthKind::None => HttpCredentials::None,
            AuthKind::Bearer => HttpCredentials::Bearer {
                token_file: self.token_file.as_deref()?,
            },
            AuthKind::ApiKey => HttpCredentials::ApiKey {
                header: self.api_key_header.as_deref()?,
                key_file: self.api_key_file.as_deref()?,
            },
            AuthKind::Basic => HttpCredentials::Basic {
                username: self.username.as_deref()?,
                password_file: self.password_file.as_deref()?,
            },
            AuthKind::Oauth2 => HttpCredentials::OAuth2(self.oauth2.as_ref()?.settings()?),
        })
    }

    /// Pure checks, every problem at once as `(key, message)` with keys relative to the table.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        match &self.url {
            None => p.push((
                "url",
                "missing: the API address, with {from} and {to} for the date window".to_string(),
            )),
            Some(u) => {
                let plain_ok = self.allow_plaintext == Some(true);
                if let Err(e) = check_web_url(&sample_url(u), plain_ok) {
                    p.push((
                        "url",
                        format!("{e} (plain http needs allow_plaintext = true and a server on this machine)"),
                    ));
                }
            }
        }
        if let Some(f) = &self.date_format
            && (f.is_empty() || chrono::format::StrftimeItems::new(f).any(|i| matches!(i, chrono::format::Item::Error)))
        {
            p.push((
                "date_format",
                format!("`{f}` is not a strftime pattern such as %Y-%m-%d"),
            ));
        }
        let missing = |v: bool, key: &'static str, what: &str, p: &mut Vec<(&'static str, String)>| {
            if !v {
                p.push((key, format!("missing: {what}")));
            }
        };
        match self.auth.unwrap_or_default() {
            AuthKind::None => {}
            AuthKind::Bearer => missing(
                self.token_file.is_some(),
                "token_file",
                "a file holding the token",
                &mut p,
            ),
            AuthKind::ApiKey => {
                missing(
                    self.api_key_header.is_some(),
                    "api_key_header",
                    "the header name, e.g. X-API-Key",
                    &mut p,
                );
                missing(
                    self.api_key_file.is_some(),
                    "api_key_file",
                    "a file holding the key",
                    &mut p,
                );
            }
            AuthKind::Basic => {
                missing(self.username.is_some(), "username", "the user name", &mut p);
                missing(
                    self.password_file.is_some(),
                    "password_file",
                    "a file holding the password",
                    &mut p,
                );
            }
            AuthKind::Oauth2 => match &self.oauth2 {
                None => p.push((
                    "oauth2",
                    "missing: a [connector.http.oauth2] table with token_url, client_id, client_secret_file and scope"
                        .to_string(),
                )),
                Some(o) => p.extend(o.validate(self.allow_plaintext == Some(true))),
            },
        }
        let paging = self.paging.unwrap_or_default();
        if matches!(paging, Paging::NextLink | Paging::Cursor) && self.next_path.is_none() {
            p.push((
                "next_path",
                "missing: where in each page the next link or cursor is, e.g. `links.next`".to_string(),
            ));
        }
        if self.max_pages == Some(0) {
            p.push(("max_pages", "must be at least 1".to_string()));
        }
        if self.timeout_seconds == Some(0) {
            p.push(("timeout_seconds", "must be at least 1".to_string()));
        }
        p
    }
}

#[cfg(test)]
mod tests;
