//! OAuth2 client credentials wherever apsync logs in with a token. The settings take one shape:
//! an `oauth2` table (`[connector.imap.oauth2]`, `[connector.http.oauth2]`, `[email.oauth2]`,
//! `[endpoint.auth.oauth2]`) holding `token_url`, `client_id`, `client_secret_file` and `scope`.
//! The token is fetched by one client, [`ClientCredentials::request`]: one POST, by hand, so
//! every caller keeps to its own HTTP client and the one TLS stack.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde::{Deserialize, Serialize};

use crate::web::check_web_url;
use crate::{ErrorCode, ErrorKind, Secret, SourceError, printable};

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
                    p.push(("oauth2.token_url", e.to_string()));
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

    /// The settings as [`OAuth2Config::validate`] guarantees them: `None` only where it reports
    /// something missing.
    pub fn settings(&self) -> Option<OAuth2Settings<'_>> {
        fn present(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        Some(OAuth2Settings {
            token_url: present(&self.token_url)?,
            client_id: present(&self.client_id)?,
            client_secret_file: self.client_secret_file.as_deref()?,
            scope: self.scope.as_deref(),
        })
    }
}

/// A checked `[…oauth2]` table: what [`ClientCredentials`] is built from once the secret is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuth2Settings<'a> {
    /// The token endpoint.
    pub token_url: &'a str,
    /// The application (client) id.
    pub client_id: &'a str,
    /// The file holding the client secret.
    pub client_secret_file: &'a std::path::Path,
    /// The scope asked for, if any.
    pub scope: Option<&'a str>,
}

/// The client-credentials grant (RFC 6749 §4.4) with the secret read: where and as whom to ask
/// for a token. The one client every token in apsync comes from (the HTTP and IMAP connectors,
/// SMTP XOAUTH2, the visit pusher), over the caller's HTTP client and so its TLS stack.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// The token endpoint, e.g. `https://login.microsoftonline.com/TENANT/oauth2/v2.0/token`.
    pub token_url: String,
    /// The application (client) id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: Secret,
    /// The scope, e.g. `https://outlook.office365.com/.default`.
    pub scope: Option<String>,
}

/// How the client proves who it is to the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthentication {
    /// `client_id` and `client_secret` in the form (`client_secret_post`), as Microsoft 365 and
    /// Google Workspace take them.
    InBody,
    /// HTTP basic with the client id and secret (`client_secret_basic`).
    Basic,
}

/// A token the endpoint issued.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The bearer token.
    pub token: Secret,
    /// How long it lasts, when the endpoint says (`expires_in`).
    pub expires_in: Option<Duration>,
}

/// Why no token was issued.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The endpoint could not be reached, or its answer broke off.
    #[error("{0}")]
    Unreachable(#[source] reqwest::Error),
    /// It answered with a failure status; `reason` is its `error_description` (or `error`),
    /// printable, when the answer is JSON that gives one.
    #[error("answered {status}: {}", reason.as_deref().unwrap_or("no reason given"))]
    Refused {
        /// The status.
        status: StatusCode,
        /// Why, in the endpoint's words.
        reason: Option<String>,
    },
    /// It answered success with something that is not JSON.
    #[error("answered {status} with something that is not JSON: {error}")]
    NotJson {
        /// The status.
        status: StatusCode,
        /// What the JSON parser found.
        #[source]
        error: serde_json::Error,
    },
    /// It answered success with JSON that has no `access_token` string.
    #[error("the answer has no access_token")]
    NoAccessToken,
}

impl ClientCredentials {
    /// The request's `application/x-www-form-urlencoded` body: the grant type, the client id
    /// and secret when they go in the body, and the scope.
    pub fn form(&self, how: ClientAuthentication) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        if how == ClientAuthentication::InBody {
            form.append_pair("client_id", &self.client_id);
            form.append_pair("client_secret", self.client_secret.expose());
        }
        if let Some(scope) = &self.scope {
            form.append_pair("scope", scope);
        }
        form.finish()
    }

    /// Asks the token endpoint for a token over `client`.
    pub async fn request(
        &self,
        client: &reqwest::Client,
        how: ClientAuthentication,
    ) -> Result<AccessToken, TokenError> {
        let mut request = client
            .post(&self.token_url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(self.form(how));
        if how == ClientAuthentication::Basic {
            request = request.basic_auth(&self.client_id, Some(self.client_secret.expose()));
        }
        let response = request.send().await.map_err(TokenError::Unreachable)?;
        let status = response.status();
        match response.bytes().await {
            Ok(body) => token_from_answer(status, &body),
            // A refusal is one whatever became of its body.
            Err(_) if !status.is_success() => Err(TokenError::Refused { status, reason: None }),
            Err(e) => Err(TokenError::Unreachable(e)),
        }
    }
}

/// What a token endpoint's answer says: the token, or why there is none.
fn token_from_answer(status: StatusCode, body: &[u8]) -> Result<AccessToken, TokenError> {
    let json = serde_json::from_slice::<serde_json::Value>(body);
    if !status.is_success() {
        let reason = json.ok().and_then(|v| {
            v["error_description"]
                .as_str()
                .or(v["error"].as_str())
                .map(|r| printable(r, 300))
        });
        return Err(TokenError::Refused { status, reason });
    }
    let json = json.map_err(|error| TokenError::NotJson { status, error })?;
    let token = json["access_token"].as_str().ok_or(TokenError::NoAccessToken)?;
    Ok(AccessToken {
        token: Secret::new(token.to_string()),
        expires_in: json["expires_in"].as_u64().map(Duration::from_secs),
    })
}

/// A token for a connector's login, its failure worded for IT with the connector's `code`: a
/// refusal (4xx) is an auth fault, anything else may pass.
pub async fn fetch_token(
    client: &reqwest::Client,
    c: &ClientCredentials,
    code: ErrorCode,
) -> Result<Secret, SourceError> {
    let url = &c.token_url;
    match c.request(client, ClientAuthentication::InBody).await {
        Ok(t) => Ok(t.token),
        Err(TokenError::Unreachable(e)) => Err(SourceError::new(
            ErrorKind::Transient,
            code,
            format!("cannot reach the OAuth2 token endpoint {url}: {e}"),
        )),
        Err(TokenError::Refused { status, .. }) => {
            let kind = if status.is_client_error() {
                ErrorKind::Auth
            } else {
                ErrorKind::Transient
            };
            Err(SourceError::new(
                kind,
                code,
                format!(
                    "the OAuth2 token endpoint {url} refused the client credentials ({status}); check the client id, the secret (and its expiry) and the scope"
                ),
            ))
        }
        Err(e @ (TokenError::NotJson { .. } | TokenError::NoAccessToken)) => Err(SourceError::new(
            ErrorKind::Transient,
            code,
            format!("the OAuth2 token endpoint {url} answered without an access_token: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(secret: &str) -> ClientCredentials {
        ClientCredentials {
            token_url: "https://login.example/token".into(),
            client_id: "app id".into(),
            client_secret: Secret::new(secret.into()),
            scope: Some("https://outlook.office365.com/.default".into()),
        }
    }

    #[test]
    fn the_form_is_urlencoded_with_the_secret_in_the_body_or_not() {
        let c = credentials("a b/c=d&é");
        assert_eq!(
            c.form(ClientAuthentication::InBody),
            "grant_type=client_credentials&client_id=app+id&client_secret=a+b%2Fc%3Dd%26%C3%A9&scope=https%3A%2F%2Foutlook.office365.com%2F.default"
        );
        assert_eq!(
            c.form(ClientAuthentication::Basic),
            "grant_type=client_credentials&scope=https%3A%2F%2Foutlook.office365.com%2F.default"
        );
    }

    /// application/x-www-form-urlencoded (WHATWG URL, as browsers send forms): only ASCII letters,
    /// digits and `*-._` stay; a space is `+`; every other byte, `~` and `%` included, is `%XX`.
    #[test]
    fn reserved_characters_are_percent_encoded() {
        let c = ClientCredentials {
            scope: None,
            ..credentials(":/?#[]@!$&'()*+,;=%~ -._Az09\"<>\\^`{|}\u{7f}\n")
        };
        assert_eq!(
            c.form(ClientAuthentication::InBody),
            "grant_type=client_credentials&client_id=app+id&client_secret=\
             %3A%2F%3F%23%5B%5D%40%21%24%26%27%28%29*%2B%2C%3B%3D%25%7E+-._Az09%22%3C%3E%5C%5E%60%7B%7C%7D%7F%0A"
        );
    }

    #[test]
    fn an_answer_gives_the_token_or_says_why_not() {
        let ok = token_from_answer(StatusCode::OK, br#"{"access_token":"tok","expires_in":3599}"#).unwrap();
        assert_eq!(
            (ok.token.expose(), ok.expires_in),
            ("tok", Some(Duration::from_secs(3599)))
        );
        let bare = token_from_answer(StatusCode::OK, br#"{"access_token":"tok"}"#).unwrap();
        assert_eq!(bare.expires_in, None);
        let refused = token_from_answer(
            StatusCode::UNAUTHORIZED,
            br#"{"error":"invalid_client","error_description":"AADSTS7000215: bad secret"}"#,
        );
        assert_eq!(
            refused.unwrap_err().to_string(),
            "answered 401 Unauthorized: AADSTS7000215: bad secret"
        );
        let html = token_from_answer(StatusCode::BAD_GATEWAY, b"<html>");
        assert!(
            matches!(
                html,
                Err(TokenError::Refused {
                    status: StatusCode::BAD_GATEWAY,
                    reason: None
                })
            ),
            "{html:?}"
        );
        assert!(matches!(
            token_from_answer(StatusCode::OK, b"<html>"),
            Err(TokenError::NotJson { .. })
        ));
        assert!(matches!(
            token_from_answer(StatusCode::OK, br#"{"token":"x"}"#),
            Err(TokenError::NoAccessToken)
        ));
    }
}
