//! OAuth 2 client-credentials tokens for SMTP XOAUTH2 (Microsoft 365, Google Workspace), from the
//! one client ([`apsync_connector_core::oauth2`]), the client secret read from its file at the
//! moment of use.

use std::path::Path;

use apsync_connector_core::oauth2::{ClientAuthentication, ClientCredentials, TokenError};

use crate::config::Secret;
use crate::config::email::OAuthConfig;

/// Fetches an access token, the client id and secret in the request's body. Errors name the key
/// to fix and never contain the secret.
pub async fn fetch_token(
    cfg: &OAuthConfig,
    credentials_dir: Option<&Path>,
    config_dir: &Path,
) -> Result<Secret, String> {
    let secret = cfg
        .client_secret_file
        .read(credentials_dir, config_dir)
        .map_err(|e| e.to_string())?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
    let credentials = ClientCredentials {
        token_url: cfg.token_url.clone(),
        client_id: cfg.client_id.clone(),
        client_secret: secret,
        scope: Some(cfg.scope.clone()),
    };
    match credentials.request(&client, ClientAuthentication::InBody).await {
        Ok(issued) => Ok(issued.token),
        Err(TokenError::Unreachable(e)) => Err(format!("cannot reach email.oauth2.token_url {}: {e}", cfg.token_url)),
        Err(TokenError::NotJson { status, error }) => Err(format!(
            "email.oauth2.token_url answered {status} with something that is not JSON: {error}"
        )),
        Err(TokenError::Refused { status, reason }) => Err(format!(
            "the token endpoint refused apsync ({status}: {}): check email.oauth2.client_id, client_secret_file and scope",
            reason.as_deref().unwrap_or("no reason given")
        )),
        Err(TokenError::NoAccessToken) => Err("the token endpoint's answer has no access_token".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SecretFile;

    #[tokio::test]
    async fn a_token_is_fetched_with_the_client_credentials() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "s3cr&t\n").unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 8192];
            let mut got = Vec::new();
            loop {
                let n = sock.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break;
                    }
                }
            }
            let body = r#"{"access_token":"tok-123","token_type":"Bearer","expires_in":3599}"#;
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(reply.as_bytes()).await.unwrap();
            String::from_utf8(got).unwrap()
        });
        let cfg = OAuthConfig {
            token_url: format!("http://127.0.0.1:{port}/token"),
            client_id: "app id".into(),
            client_secret_file: SecretFile {
                key: "email.oauth2.client_secret_file".into(),
                path: "secret".into(),
            },
            scope: "https://outlook.office365.com/.default".into(),
        };
        let token = fetch_token(&cfg, None, dir.path()).await.unwrap();
        assert_eq!(token.expose(), "tok-123");
        let request = server.await.unwrap();
        assert!(request.starts_with("POST /token"), "{request}");
        assert!(
            request.ends_with(
                "grant_type=client_credentials&client_id=app+id&client_secret=s3cr%26t&scope=https%3A%2F%2Foutlook.office365.com%2F.default"
            ),
            "{request}"
        );
    }
}
