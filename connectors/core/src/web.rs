//! The one policy for reaching other machines over the web, shared by the HTTP connector, the
//! visit pusher and every configuration check: which hosts count as this machine, which URLs are
//! allowed, and the HTTP client they all use. That client never follows a redirect (a redirect
//! could carry a provider's key or a school's token to another server), refuses plain http
//! unless the URL was plain http to this machine, and has a connect timeout.

use std::net::{IpAddr, ToSocketAddrs};
use std::time::Duration;

pub use reqwest::Url;

/// The User-Agent every request carries.
pub const USER_AGENT: &str = concat!("apsync/", env!("CARGO_PKG_VERSION"));

/// The longest wait for a connection, whatever the request's own timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `host` is this machine: a loopback address (`127.0.0.0/8`, `::1`, bracketed or not),
/// or `localhost` when every address it resolves to is loopback. Anything else is not, however
/// it starts (`127.evil.example` is a name on the internet).
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim().trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return ip.is_loopback();
    }
    if !(bare.eq_ignore_ascii_case("localhost") || bare.eq_ignore_ascii_case("localhost.")) {
        return false;
    }
    match (bare, 0).to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback())
        }
        Err(_) => false,
    }
}

/// Why a URL is not one apsync sends credentials or pupils' data to; the message says what to
/// write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebUrlError {
    /// The text does not parse as a URL.
    #[error("`{text}` is not a URL ({reason}): write https://HOST/PATH")]
    NotAUrl {
        /// The text as written.
        text: String,
        /// What the parser found.
        reason: url::ParseError,
    },
    /// Plain http to another machine, where plain http to this one is allowed.
    #[error("plain http is allowed only to this machine (127.0.0.1, ::1, localhost): use https")]
    PlainNotLoopback,
    /// Plain http, where only https is allowed.
    #[error("use https: credentials and pupils' data never cross the network in clear")]
    Plain,
    /// Another scheme (`ftp`, `file`, ...).
    #[error("`{0}` is not a web scheme: use https")]
    NotWeb(String),
}

/// The message, for configuration checks that collect problems as text.
/// Checks a URL apsync will send credentials or pupils' data to: https, or plain http to this
/// machine when `plain_loopback_ok`.
pub fn check_web_url(text: &str, plain_loopback_ok: bool) -> Result<Url, WebUrlError> {
    let url = Url::parse(text).map_err(|reason| WebUrlError::NotAUrl {
        text: text.to_string(),
        reason,
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if plain_loopback_ok && url.host_str().is_some_and(is_loopback_host) => Ok(url),
        "http" if plain_loopback_ok => Err(WebUrlError::PlainNotLoopback),
        "http" => Err(WebUrlError::Plain),
        other => Err(WebUrlError::NotWeb(other.to_string())),
    }
}

/// A URL as it may be shown (logs, errors, `status`): a password in its user part dropped, and
/// the value of any `password=` parameter replaced. Works on text that does not parse too.
pub fn redact_url(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let head = match head.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').map_or((rest, None), |(a, p)| (a, Some(p)));
            let authority = match authority.rsplit_once('@') {
                Some((user, host)) => format!("{}@{host}", user.split(':').next().unwrap_or_default()),
                None => authority.to_string(),
            };
            match path {
                Some(p) => format!("{scheme}://{authority}/{p}"),
                None => format!("{scheme}://{authority}"),
            }
        }
        None => head.to_string(),
    };
    match query {
        None => head,
        Some(q) => {
            let params: Vec<String> = q
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=REDACTED"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{head}?{}", params.join("&"))
        }
    }
}

/// Whether two URLs are the same origin (scheme, host and port): credentials for one are sent
/// to the other only then.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

/// The HTTP client for requests to `base` (and its own origin): no redirects followed, https only
/// unless `base` is plain http (which [`check_web_url`] allows only to this machine), `timeout`
/// per request.
pub fn client_for(base: &Url, timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(CONNECT_TIMEOUT))
        .redirect(reqwest::redirect::Policy::none())
        .https_only(base.scheme() == "https")
        .user_agent(USER_AGENT)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_an_address_or_localhost_resolved_never_a_prefix() {
        for yes in ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST"] {
            assert!(is_loopback_host(yes), "{yes}");
        }
        for no in [
            "127.evil.example",
            "127.0.0.1.nip.io",
            "10.0.0.1",
            "::ffff:8.8.8.8",
            "localhost.evil.example",
            "",
        ] {
            assert!(!is_loopback_host(no), "{no}");
        }
    }

    #[test]
    fn urls_lose_their_passwords_before_they_are_shown() {
        assert_eq!(redact_url("postgres://app:pw@db/apsync"), "postgres://app@db/apsync");
        assert_eq!(redact_url("postgres://app@db/apsync"), "postgres://app@db/apsync");
        assert_eq!(
            redact_url("postgres://app@db/apsync?sslmode=require&password=s3cret"),
            "postgres://app@db/apsync?sslmode=require&password=REDACTED"
        );
        assert_eq!(redact_url("postgres://a:b@c:d@host:5432"), "postgres://a@host:5432");
        assert_eq!(redact_url("not a url password=x"), "not a url password=x");
    }

    #[test]
    fn urls_are_https_or_plain_to_this_machine_when_allowed() {
        assert!(check_web_url("https://api.provider.example/v1", false).is_ok());
        assert!(check_web_url("http://127.0.0.1:8080/x", true).is_ok());
        let plain = check_web_url("http://127.0.0.1:8080/x", false).unwrap_err();
        assert_eq!(plain, WebUrlError::Plain);
        assert!(plain.to_string().starts_with("use https"), "{plain}");
        let elsewhere = check_web_url("http://127.evil.example/x", true).unwrap_err();
        assert_eq!(elsewhere, WebUrlError::PlainNotLoopback);
        assert!(elsewhere.to_string().contains("only to this machine"), "{elsewhere}");
        assert_eq!(
            check_web_url("ftp://x.example/", true),
            Err(WebUrlError::NotWeb("ftp".into()))
        );
        let garbled = check_web_url("not a url", true).unwrap_err();
        assert!(matches!(garbled, WebUrlError::NotAUrl { .. }), "{garbled:?}");
        assert_eq!(
            garbled.to_string(),
            "`not a url` is not a URL (relative URL without a base): write https://HOST/PATH"
        );
        let a = Url::parse("https://api.provider.example/v1?page=2").unwrap();
        assert!(same_origin(&a, &Url::parse("https://api.provider.example/v2").unwrap()));
        assert!(!same_origin(&a, &Url::parse("https://evil.example/v1").unwrap()));
        assert!(!same_origin(&a, &Url::parse("http://api.provider.example/v1").unwrap()));
    }
}
