//! The OAuth2 client-credentials flow (RFC 6749 §4.4), as Microsoft 365, Google Workspace and
//! provider APIs want it: the token is fetched by hand, keeping to one HTTP client and one TLS
//! stack.

use apsync_connector_core::{ErrorCode, ErrorKind, Secret, SourceError};
use serde::Deserialize;

/// Where and as whom to ask for a token.
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

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
}

/// Fetches a bearer token. A refusal (4xx) is an auth fault; anything else may pass.
pub async fn fetch_token(
    client: &reqwest::Client,
    c: &ClientCredentials,
    code: ErrorCode,
) -> Result<Secret, SourceError> {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", c.client_id.as_str()),
        ("client_secret", c.client_secret.expose()),
    ];
    if let Some(scope) = &c.scope {
        form.push(("scope", scope.as_str()));
    }
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let response = client
        .post(&c.token_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| {
            SourceError::new(
                ErrorKind::Transient,
                code,
                format!("cannot reach the OAuth2 token endpoint {}: {e}", c.token_url),
            )
        })?;
    let status = response.status();
    if !status.is_success() {
        let kind = if status.is_client_error() {
            ErrorKind::Auth
        } else {
            ErrorKind::Transient
        };
        return Err(SourceError::new(
            kind,
            code,
            format!(
                "the OAuth2 token endpoint {} refused the client credentials ({status}); check the client id, the secret (and its expiry) and the scope",
                c.token_url
            ),
        ));
    }
    let token: TokenResponse = response.json().await.map_err(|e| {
        SourceError::new(
            ErrorKind::Transient,
            code,
            format!(
                "the OAuth2 token endpoint {} answered without an access_token: {e}",
                c.token_url
            ),
        )
    })?;
    Ok(Secret::new(token.access_token))
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => (b as char).to_string(),
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn form_values_are_encoded() {
        assert_eq!(super::form_encode("a b/c=d&é"), "a+b%2Fc%3Dd%26%C3%A9");
    }
}
