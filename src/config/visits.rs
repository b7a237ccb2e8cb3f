//! `[http]`, `[visits]` and `[[endpoint]]`: the visit intake and where visits are pushed. Raw
//! shapes as written, and their validation into checked values (every mistake reported).

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::secret::SecretFile;
use super::validate::Problems;
use crate::visits::{PAYLOAD_FIELDS, PayloadTemplate, PupilIdentifier, check_title};

/// Where the HTTP API listens when `[http] listen` is not given: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8087";
/// The largest request body accepted when `[http] body_limit_bytes` is not given.
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;
/// Connections the HTTP server holds open at once when `[http] max_connections` is not given.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// The most `[http] max_connections` may be (the unit allows 4096 open files in all).
const MAX_CONNECTIONS_CEILING: usize = 2048;
/// Seconds to send request headers when `[http] header_timeout_seconds` is not given.
pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 10;
/// Seconds a connection may idle when `[http] idle_timeout_seconds` is not given.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 60;
/// How long an endpoint may take to answer when `timeout_seconds` is not given.
pub const DEFAULT_ENDPOINT_TIMEOUT_SECS: u64 = 30;
/// How often `run` looks for due pushes and new CSV files when not configured.
pub const DEFAULT_PUSH_INTERVAL_SECS: u64 = 5;

/// `[http]` as written.
#[derive(Debug, Default, Deserialize)]
pub struct RawHttp {
    /// `HOST:PORT`; default `127.0.0.1:8087`.
    pub listen: Option<String>,
    /// The largest request body accepted, in bytes.
    pub body_limit_bytes: Option<usize>,
    /// A PEM certificate chain: turns on TLS (with `tls_key_file`).
    pub tls_cert_file: Option<String>,
    /// The PEM private key of the certificate.
    pub tls_key_file: Option<String>,
    /// Connections open at once (default 256); more wait until one closes.
    pub max_connections: Option<usize>,
    /// Seconds a client has, from connecting, to send a request's headers (default 10).
    pub header_timeout_seconds: Option<u64>,
    /// Seconds a connection may sit with nothing to do before it is closed (default 60).
    pub idle_timeout_seconds: Option<u64>,
}

/// `[visits]` as written.
#[derive(Debug, Default, Deserialize)]
pub struct RawVisits {
    /// `[visits.csv_folder]`: a folder CSV files of visits are dropped into (a form's export).
    pub csv_folder: Option<apsync_connector_folder::FolderConfig>,
    /// How often `run` pushes due visits and reads the CSV folder, in seconds.
    pub push_interval_seconds: Option<u64>,
}

/// One `[[endpoint]]` as written.
#[derive(Debug, Default, Deserialize)]
pub struct RawEndpoint {
    /// Short stable identifier; outbox rows are per endpoint.
    pub id: Option<String>,
    /// The URL visits are POSTed to (https).
    pub url: Option<String>,
    /// Seconds to wait for an answer before retrying.
    pub timeout_seconds: Option<u64>,
    /// Allow `http://` when the host is loopback (tests, a local relay).
    pub allow_plaintext_loopback: Option<bool>,
    /// The field of the endpoint's JSON answer holding its id for the record. Default `id`.
    pub remote_id_field: Option<String>,
    /// A URL `check --online` GETs, authenticated, to check the endpoint without creating a
    /// record (else it sends OPTIONS, then HEAD, to `url`).
    pub health_url: Option<String>,
    /// `[endpoint.auth]`.
    pub auth: Option<RawAuth>,
    /// `[endpoint.payload]`.
    pub payload: Option<RawPayload>,
}

/// `[endpoint.auth]` as written: `kind` says which other keys apply.
#[derive(Debug, Default, Deserialize)]
pub struct RawAuth {
    /// `none`, `bearer`, `api_key`, `basic` or `oauth2`.
    pub kind: Option<String>,
    /// bearer: a file holding the token.
    pub token_file: Option<String>,
    /// api_key: the header name, e.g. `X-API-Key`.
    pub header: Option<String>,
    /// api_key: a file holding the key.
    pub key_file: Option<String>,
    /// basic: the user name.
    pub username: Option<String>,
    /// basic: a file holding the password.
    pub password_file: Option<String>,
    /// oauth2: `[endpoint.auth.oauth2]`, the client-credentials settings (token_url,
    /// client_id, client_secret_file, scope), shaped as everywhere else.
    pub oauth2: Option<super::email::RawOAuth>,
}

/// `[endpoint.payload]` as written.
#[derive(Debug, Default, Deserialize)]
pub struct RawPayload {
    /// `upn`, `admission_number` or both.
    pub pupil_identifiers: Option<Vec<String>>,
    /// The category records are filed under.
    pub category: Option<String>,
    /// The title template.
    pub title: Option<String>,
    /// Renamed fields: apsync's name = the endpoint's name (a dotted path nests).
    pub fields: Option<BTreeMap<String, String>>,
}

/// `[http]`, checked.
#[derive(Debug, Clone)]
pub struct HttpServerConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// The certificate and key, when TLS is on.
    pub tls: Option<TlsFiles>,
    /// Connections open at once.
    pub max_connections: usize,
    /// How long a client has, from connecting, to send a request's headers.
    pub header_timeout: Duration,
    /// How long a connection may sit with nothing to do.
    pub idle_timeout: Duration,
}

/// A certificate chain and its key (the key is read like any secret).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The PEM certificate chain.
    pub cert: SecretFile,
    /// The PEM private key.
    pub key: SecretFile,
}

/// `[visits]`, checked.
#[derive(Debug, Clone)]
pub struct VisitsConfig {
    /// The CSV drop folder; files are moved to `processed` (or `rejected`, with the reasons
    /// beside them) once read.
    pub csv_folder: Option<apsync_connector_folder::FolderConfig>,
    /// How often `run` pushes and reads the folder.
    pub push_interval: Duration,
}

/// One endpoint visits are pushed to.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Its id.
    pub id: String,
    /// Where to POST.
    pub url: url::Url,
    /// What `check --online` GETs instead of sending OPTIONS or HEAD to `url`.
    pub health_url: Option<url::Url>,
    /// How long to wait for an answer.
    pub timeout: Duration,
    /// How to authenticate.
    pub auth: EndpointAuth,
    /// How to write the body.
    pub payload: PayloadTemplate,
    /// The answer's field holding the endpoint's id for the record.
    pub remote_id_field: String,
}

/// How requests to an endpoint authenticate.
#[derive(Debug, Clone)]
pub enum EndpointAuth {
    /// No credentials (a local relay).
    None,
    /// `Authorization: Bearer TOKEN`.
    Bearer {
        /// The token's file.
        token: SecretFile,
    },
    /// A key in a header of its own.
    ApiKey {
        /// The header's name.
        header: String,
        /// The key's file.
        key: SecretFile,
    },
    /// HTTP basic authentication.
    Basic {
        /// The user name.
        username: String,
        /// The password's file.
        password: SecretFile,
    },
    /// OAuth 2 client credentials: a token fetched from `token_url` and reused until it expires.
    OAuth2 {
        /// The token endpoint.
        token_url: url::Url,
        /// The client id.
        client_id: String,
        /// The client secret's file.
        client_secret: SecretFile,
        /// The scope asked for.
        scope: Option<String>,
    },
}

impl Default for HttpServerConfig {
    fn default() -> Self {
        HttpServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8087)),
            body_limit: DEFAULT_BODY_LIMIT,
            tls: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: Duration::from_secs(DEFAULT_HEADER_TIMEOUT_SECS),
            idle_timeout: Duration::from_secs(DEFAULT_IDLE_TIMEOUT_SECS),
        }
    }
}

fn secret(key: String, path: &str) -> SecretFile {
    SecretFile {
        key,
        path: PathBuf::from(path),
    }
}

/// Checks `[http]`.
pub(super) fn http(raw: &RawHttp, p: &mut Problems) -> HttpServerConfig {
    let mut out = HttpServerConfig::default();
    let listen = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    match listen.parse::<SocketAddr>() {
        Ok(a) => out.listen = a,
        Err(_) => p.push(
            "http.listen",
            format!("`{listen}` is not an address: write HOST:PORT with an IP address, e.g. 127.0.0.1:8087"),
        ),
    }
    match raw.body_limit_bytes {
        Some(n) if !(1024..=16 * 1024 * 1024).contains(&n) => {
            p.push("http.body_limit_bytes", "must be between 1024 and 16777216 (16 MiB)")
        }
        Some(n) => out.body_limit = n,
        None => {}
    }
    match raw.max_connections {
        // The unit's LimitNOFILE leaves room for this many sockets beside the store's and the
        // connectors' own.
        Some(n) if !(1..=MAX_CONNECTIONS_CEILING).contains(&n) => p.push(
            "http.max_connections",
            format!("must be between 1 and {MAX_CONNECTIONS_CEILING}"),
        ),
        Some(n) => out.max_connections = n,
        None => {}
    }
    for (key, value, slot) in [
        (
            "http.header_timeout_seconds",
            raw.header_timeout_seconds,
            &mut out.header_timeout,
        ),
        (
            "http.idle_timeout_seconds",
            raw.idle_timeout_seconds,
            &mut out.idle_timeout,
        ),
    ] {
        match value {
            Some(n) if !(1..=3600).contains(&n) => p.push(key, "must be between 1 and 3600 seconds"),
            Some(n) => *slot = Duration::from_secs(n),
            None => {}
        }
    }
    match (&raw.tls_cert_file, &raw.tls_key_file) {
        (Some(cert), Some(key)) => {
            out.tls = Some(TlsFiles {
                cert: secret("http.tls_cert_file".into(), cert),
                key: secret("http.tls_key_file".into(), key),
            })
        }
        (Some(_), None) => p.push("http.tls_key_file", "missing: tls_cert_file needs the key's file too"),
        (None, Some(_)) => p.push("http.tls_cert_file", "missing: tls_key_file needs the certificate's file too"),
        (None, None) if !out.listen.ip().is_loopback() => p.push(
            "http.listen",
            "listening beyond this machine needs TLS: set tls_cert_file and tls_key_file (tokens must not cross the network in clear)",
        ),
        (None, None) => {}
    }
    out
}

/// Checks `[visits]`.
pub(super) fn visits(raw: &RawVisits, p: &mut Problems) -> VisitsConfig {
    let secs = raw.push_interval_seconds.unwrap_or(DEFAULT_PUSH_INTERVAL_SECS);
    if secs == 0 {
        p.push("visits.push_interval_seconds", "must be at least 1");
    }
    if let Some(folder) = &raw.csv_folder {
        for (k, message) in folder.validate() {
            p.push(format!("visits.csv_folder.{k}"), message);
        }
        if folder.processed.is_none() {
            p.push(
                "visits.csv_folder.processed",
                "missing: the folder read files are moved to (e.g. \"processed\"), so each file is read once",
            );
        }
    }
    VisitsConfig {
        csv_folder: raw.csv_folder.clone(),
        push_interval: Duration::from_secs(secs.max(1)),
    }
}

/// Checks every `[[endpoint]]`.
pub(super) fn endpoints(raw: &[RawEndpoint], p: &mut Problems) -> Vec<EndpointConfig> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let key = format!("endpoint[{i}]");
        let id = p.required(&r.id, &format!("{key}.id"), "a short identifier such as cpoms");
        if let Some(id) = id {
            p.unique_id(id, &format!("{key}.id"), &mut seen, "endpoint");
        }
        let plain_ok = r.allow_plaintext_loopback.unwrap_or(false);
        let url = p
            .required(&r.url, &format!("{key}.url"), "the https:// URL visits are POSTed to")
            .and_then(|u| endpoint_url(u, plain_ok, &format!("{key}.url"), p));
        let timeout = r.timeout_seconds.unwrap_or(DEFAULT_ENDPOINT_TIMEOUT_SECS);
        if !(1..=600).contains(&timeout) {
            p.push(format!("{key}.timeout_seconds"), "must be between 1 and 600");
        }
        let health_url = r
            .health_url
            .as_deref()
            .and_then(|u| endpoint_url(u, plain_ok, &format!("{key}.health_url"), p));
        let auth = auth(r.auth.as_ref(), plain_ok, &format!("{key}.auth"), p);
        let payload = payload(r.payload.as_ref(), &format!("{key}.payload"), p);
        if let (Some(id), Some(url), Some(auth), Some(payload)) = (id, url, auth, payload) {
            out.push(EndpointConfig {
                id: id.to_string(),
                url,
                health_url,
                timeout: Duration::from_secs(timeout),
                auth,
                payload,
                remote_id_field: r.remote_id_field.clone().unwrap_or_else(|| "id".into()),
            });
        }
    }
    out
}

fn endpoint_url(text: &str, plain_ok: bool, key: &str, p: &mut Problems) -> Option<url::Url> {
    match apsync_connector_core::web::check_web_url(text, plain_ok) {
        Ok(url) => Some(url),
        Err(e) if !plain_ok && text.trim().starts_with("http://") => {
            p.push(
                key,
                format!("{e} (for a relay on this machine set allow_plaintext_loopback = true)"),
            );
            None
        }
        Err(e) => {
            p.push(key, e.to_string());
            None
        }
    }
}

fn auth(raw: Option<&RawAuth>, plain_ok: bool, key: &str, p: &mut Problems) -> Option<EndpointAuth> {
    let Some(raw) = raw else {
        p.push(
            key,
            "missing: an [endpoint.auth] table with kind = none, bearer, api_key, basic or oauth2",
        );
        return None;
    };
    let kind = raw.kind.as_deref().map(str::trim).unwrap_or("");
    let mut need = |value: &Option<String>, name: &str, what: &str| {
        p.required(value, &format!("{key}.{name}"), what).map(str::to_string)
    };
    let file = |k: &str, v: String| secret(format!("{key}.{k}"), &v);
    let (auth, used): (Option<EndpointAuth>, &[&str]) = match kind {
        "none" => (Some(EndpointAuth::None), &[]),
        "bearer" => (
            need(&raw.token_file, "token_file", "a file holding the bearer token").map(|f| EndpointAuth::Bearer {
                token: file("token_file", f),
            }),
            &["token_file"],
        ),
        "api_key" => {
            let header = need(&raw.header, "header", "the header name, e.g. X-API-Key");
            let key_file = need(&raw.key_file, "key_file", "a file holding the key");
            (
                header.zip(key_file).map(|(header, f)| EndpointAuth::ApiKey {
                    header,
                    key: file("key_file", f),
                }),
                &["header", "key_file"],
            )
        }
        "basic" => {
            let username = need(&raw.username, "username", "the user name");
            let password = need(&raw.password_file, "password_file", "a file holding the password");
            (
                username.zip(password).map(|(username, f)| EndpointAuth::Basic {
                    username,
                    password: file("password_file", f),
                }),
                &["username", "password_file"],
            )
        }
        "oauth2" => {
            // Without an [endpoint.auth.oauth2] table each of its keys is reported missing.
            let o = raw.oauth2.as_ref();
            let none = None;
            let field = |f: fn(&super::email::RawOAuth) -> &Option<String>| o.map_or(&none, f);
            let token_url = need(
                field(|o| &o.token_url),
                "oauth2.token_url",
                "the OAuth 2 token endpoint",
            );
            let client_id = need(field(|o| &o.client_id), "oauth2.client_id", "the client id");
            let secret_file = need(
                field(|o| &o.client_secret_file),
                "oauth2.client_secret_file",
                "a file holding the client secret",
            );
            let token_url = token_url.and_then(|u| endpoint_url(&u, plain_ok, &format!("{key}.oauth2.token_url"), p));
            (
                match (token_url, client_id, secret_file) {
                    (Some(token_url), Some(client_id), Some(f)) => Some(EndpointAuth::OAuth2 {
                        token_url,
                        client_id,
                        client_secret: file("oauth2.client_secret_file", f),
                        scope: field(|o| &o.scope).clone(),
                    }),
                    _ => None,
                },
                &["oauth2"],
            )
        }
        "" => {
            p.push(format!("{key}.kind"), "missing: none, bearer, api_key, basic or oauth2");
            return None;
        }
        other => {
            p.push(
                format!("{key}.kind"),
                format!("`{other}` is not an auth kind: use none, bearer, api_key, basic or oauth2"),
            );
            return None;
        }
    };
    let given = [
        ("token_file", raw.token_file.is_some()),
        ("header", raw.header.is_some()),
        ("key_file", raw.key_file.is_some()),
        ("username", raw.username.is_some()),
        ("password_file", raw.password_file.is_some()),
        ("oauth2", raw.oauth2.is_some()),
    ];
    for (name, _) in given.iter().filter(|(name, set)| *set && !used.contains(name)) {
        p.push(
            format!("{key}.{name}"),
            format!("does not apply to kind = \"{kind}\": remove it"),
        );
    }
    auth
}

fn payload(raw: Option<&RawPayload>, key: &str, p: &mut Problems) -> Option<PayloadTemplate> {
    let mut t = PayloadTemplate::default();
    let Some(raw) = raw else { return Some(t) };
    let before = p.0.len();
    if let Some(ids) = &raw.pupil_identifiers {
        t.identifiers.clear();
        for (i, id) in ids.iter().enumerate() {
            match id.trim() {
                "upn" => t.identifiers.push(PupilIdentifier::Upn),
                "admission_number" => t.identifiers.push(PupilIdentifier::AdmissionNumber),
                other => p.push(
                    format!("{key}.pupil_identifiers[{i}]"),
                    format!("`{other}` is not an identifier: use upn or admission_number"),
                ),
            }
        }
        if ids.is_empty() {
            p.push(
                format!("{key}.pupil_identifiers"),
                "name at least one of upn, admission_number",
            );
        }
    }
    if let Some(c) = &raw.category {
        t.category = c.clone();
    }
    if let Some(title) = &raw.title {
        if let Err(e) = check_title(title) {
            p.push(format!("{key}.title"), e.to_string());
        }
        t.title = title.clone();
    }
    for (ours, theirs) in raw.fields.iter().flatten() {
        if !PAYLOAD_FIELDS.contains(&ours.as_str()) {
            p.push(
                format!("{key}.fields.{ours}"),
                format!("not a payload field: rename one of {}", PAYLOAD_FIELDS.join(", ")),
            );
        } else if theirs.trim().is_empty() || theirs.split('.').any(str::is_empty) {
            p.push(format!("{key}.fields.{ours}"), "the endpoint's field name is empty");
        } else {
            t.fields.insert(ours.clone(), theirs.trim().to_string());
        }
    }
    (p.0.len() == before).then_some(t)
}

#[cfg(test)]
mod tests;
