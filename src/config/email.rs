//! `[email]`: how mail leaves (an SMTP server, or .eml files in a folder), as written and checked.

use std::path::PathBuf;

use serde::Deserialize;

use super::alerts::address_ok;
use super::secret::SecretFile;
use super::validate::Problems;

/// `[email]` as written.
#[derive(Debug, Default, Deserialize)]
pub struct RawEmail {
    /// The From address, e.g. `apsync <apsync@school.example>`.
    pub from: Option<String>,
    /// `smtp` or `file`.
    pub transport: Option<String>,
    /// File transport: the folder .eml files are written to (relative to the configuration's
    /// folder). Default: `outgoing-mail` in the state directory (see `LoadedConfig::state_dir`).
    pub folder: Option<String>,
    /// SMTP server host name (also the name its certificate must carry).
    pub host: Option<String>,
    /// SMTP port: default 587 for STARTTLS, 465 for implicit TLS.
    pub port: Option<u16>,
    /// `starttls` (default), `implicit`, or `none` (loopback only).
    pub tls: Option<String>,
    /// A PEM file of extra certificate authorities to trust (a school's own CA).
    pub ca_file: Option<String>,
    /// The SMTP user name.
    pub username: Option<String>,
    /// A file holding the SMTP password.
    pub password_file: Option<String>,
    /// Seconds to wait for the server before giving up on an attempt. Default 30.
    pub timeout_seconds: Option<u64>,
    /// XOAUTH2 with client-credentials tokens instead of a password.
    pub oauth2: Option<RawOAuth>,
}

/// `[email.oauth2]` as written.
#[derive(Debug, Default, Deserialize)]
pub struct RawOAuth {
    /// The token endpoint, e.g. `https://login.microsoftonline.com/TENANT/oauth2/v2.0/token`.
    pub token_url: Option<String>,
    /// The application's client id.
    pub client_id: Option<String>,
    /// A file holding the client secret.
    pub client_secret_file: Option<String>,
    /// The scope, e.g. `https://outlook.office365.com/.default`.
    pub scope: Option<String>,
}

/// How mail leaves.
#[derive(Debug, Clone)]
pub enum EmailTransport {
    /// Each message as an .eml file in a folder (the demo, trying things out).
    File {
        /// The folder, as written (relative to the configuration's folder); `None` for the
        /// default, `outgoing-mail` in the state directory.
        folder: Option<PathBuf>,
    },
    /// A real SMTP server.
    Smtp(Box<SmtpConfig>),
}

/// TLS to the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS (port 587); refused if the server cannot.
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS: only allowed to a loopback address.
    None,
}

/// `[email]` for SMTP.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS mode.
    pub tls: TlsMode,
    /// Extra trusted CAs.
    pub ca_file: Option<PathBuf>,
    /// User name for AUTH or XOAUTH2.
    pub username: Option<String>,
    /// The password, for AUTH PLAIN/LOGIN.
    pub password_file: Option<SecretFile>,
    /// Client-credentials tokens for XOAUTH2.
    pub oauth: Option<OAuthConfig>,
    /// Per-attempt timeout.
    pub timeout: std::time::Duration,
}

/// `[email.oauth2]`, checked.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// Token endpoint.
    pub token_url: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret_file: SecretFile,
    /// Scope.
    pub scope: String,
}

/// The checked `[email]`.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// The From header.
    pub from: String,
    /// How mail leaves.
    pub transport: EmailTransport,
}

/// Checks `[email]`.
pub(super) fn email(raw: &Option<RawEmail>, p: &mut Problems) -> Option<EmailConfig> {
    let raw = raw.as_ref()?;
    let from = p.required(
        &raw.from,
        "email.from",
        "the From address, e.g. \"apsync <apsync@school.example>\"",
    )?;
    if !address_ok(from) {
        p.push("email.from", format!("`{from}` is not an email address"));
    }
    let transport = match raw.transport.as_deref().unwrap_or("smtp").trim() {
        "file" => {
            let folder = match raw.folder.as_deref().map(str::trim) {
                None => None,
                Some("") => {
                    p.push(
                        "email.folder",
                        "empty: name the folder .eml files are written to, or leave it out for outgoing-mail in the state directory",
                    );
                    return None;
                }
                Some(f) => Some(PathBuf::from(f)),
            };
            EmailTransport::File { folder }
        }
        "smtp" => EmailTransport::Smtp(Box::new(smtp(raw, p)?)),
        other => {
            p.push(
                "email.transport",
                format!("`{other}` is not a transport: use smtp or file"),
            );
            return None;
        }
    };
    Some(EmailConfig {
        from: from.to_string(),
        transport,
    })
}

fn smtp(raw: &RawEmail, p: &mut Problems) -> Option<SmtpConfig> {
    let host = p
        .required(&raw.host, "email.host", "the SMTP server's host name")?
        .to_string();
    let tls = match raw.tls.as_deref().unwrap_or("starttls").trim() {
        "starttls" => TlsMode::StartTls,
        "implicit" => TlsMode::Implicit,
        "none" => {
            if !apsync_connector_core::web::is_loopback_host(&host) {
                p.push(
                    "email.tls",
                    "`none` sends passwords and pupils' details in clear: it is only allowed to a loopback host",
                );
            }
            TlsMode::None
        }
        other => {
            p.push(
                "email.tls",
                format!("`{other}` is not a TLS mode: use starttls, implicit or none"),
            );
            return None;
        }
    };
    let oauth = match &raw.oauth2 {
        None => None,
        Some(o) => {
            let token_url = p.required(&o.token_url, "email.oauth2.token_url", "the token endpoint");
            let client_id = p.required(&o.client_id, "email.oauth2.client_id", "the application's client id");
            let secret = p.required(
                &o.client_secret_file,
                "email.oauth2.client_secret_file",
                "a file holding the client secret",
            );
            let scope = p.required(
                &o.scope,
                "email.oauth2.scope",
                "the scope, e.g. https://outlook.office365.com/.default",
            );
            if raw.password_file.is_some() {
                p.push("email.password_file", "give a password or [email.oauth2], not both");
            }
            // The client secret goes there: https, always.
            let token_url = token_url.filter(|t| match apsync_connector_core::web::check_web_url(t, false) {
                Ok(_) => true,
                Err(e) => {
                    p.push("email.oauth2.token_url", e.to_string());
                    false
                }
            });
            match (token_url, client_id, secret, scope) {
                (Some(t), Some(c), Some(s), Some(sc)) => Some(OAuthConfig {
                    token_url: t.to_string(),
                    client_id: c.to_string(),
                    client_secret_file: SecretFile {
                        key: "email.oauth2.client_secret_file".into(),
                        path: PathBuf::from(s),
                    },
                    scope: sc.to_string(),
                }),
                _ => None,
            }
        }
    };
    if (raw.password_file.is_some() || oauth.is_some()) && raw.username.is_none() {
        p.push(
            "email.username",
            "missing: the user name to log in to the SMTP server as",
        );
    }
    Some(SmtpConfig {
        port: raw.port.unwrap_or(if tls == TlsMode::Implicit { 465 } else { 587 }),
        host,
        tls,
        ca_file: raw.ca_file.as_ref().map(PathBuf::from),
        username: raw.username.clone(),
        password_file: raw.password_file.as_ref().map(|f| SecretFile {
            key: "email.password_file".into(),
            path: PathBuf::from(f),
        }),
        oauth,
        timeout: std::time::Duration::from_secs(raw.timeout_seconds.unwrap_or(30).max(1)),
    })
}
