//! The HTTP [`Sink`]: POSTs a queued visit to a CPOMS-style endpoint as JSON from the endpoint's
//! template, with an `Idempotency-Key` header and the endpoint's authentication, and says what the
//! answer means for the outbox. The payload is never logged: it is safeguarding text.

use std::path::Path;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use reqwest::header::{HeaderName, LOCATION, RETRY_AFTER};

use apsync_connector_core::oauth2::{ClientAuthentication, ClientCredentials, TokenError};

use super::{Attempt, Sink};
use crate::config::{EndpointAuth, EndpointConfig, Secret, SecretFile};
use crate::store::{Channel, Delivery};
use crate::visits::{PayloadTemplate, VisitDocument};

/// The most of an answer's body kept (in the outbox's last error) or read.
const MAX_KEPT_BODY: usize = 1000;
/// The longest `Retry-After` honoured; a longer one is cut to this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);
/// An OAuth token is renewed this long before the server says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// Credentials, read from their files when the sink is built.
enum Auth {
    None,
    Bearer(Secret),
    ApiKey(HeaderName, Secret),
    Basic(String, Secret),
    /// The client id and secret go to the token endpoint by HTTP basic.
    OAuth2(ClientCredentials),
}

/// Sends visits to one endpoint.
pub struct PushSink {
    id: String,
    url: url::Url,
    health_url: Option<url::Url>,
    client: reqwest::Client,
    auth: Auth,
    template: PayloadTemplate,
    tz: Tz,
    remote_id_field: String,
    /// The OAuth access token and when to renew it.
    oauth: tokio::sync::Mutex<Option<(Secret, Instant)>>,
}

impl std::fmt::Debug for PushSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushSink")
            .field("id", &self.id)
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl PushSink {
    /// Builds the sender for an endpoint, reading its secret files (`credentials_dir` first for
    /// relative names, as for every secret).
    pub fn new(
        config: &EndpointConfig,
        tz: Tz,
        credentials_dir: Option<&Path>,
        config_dir: &Path,
    ) -> Result<PushSink, String> {
        let read = |f: &SecretFile| f.read(credentials_dir, config_dir).map_err(|e| e.to_string());
        let auth = match &config.auth {
            EndpointAuth::None => Auth::None,
            EndpointAuth::Bearer { token } => Auth::Bearer(read(token)?),
            EndpointAuth::ApiKey { header, key } => Auth::ApiKey(
                HeaderName::from_bytes(header.as_bytes())
                    .map_err(|_| format!("endpoint {}: `{header}` is not a header name", config.id))?,
                read(key)?,
            ),
            EndpointAuth::Basic { username, password } => Auth::Basic(username.clone(), read(password)?),
            EndpointAuth::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scope,
            } => Auth::OAuth2(ClientCredentials {
                token_url: token_url.to_string(),
                client_id: client_id.clone(),
                client_secret: read(client_secret)?,
                scope: scope.clone(),
            }),
        };
        // The shared policy (no redirects, https unless to this machine), as the HTTP connector's.
        let client = apsync_connector_core::web::client_for(&config.url, config.timeout)
            .map_err(|e| format!("endpoint {}: cannot set up the HTTP client: {e}", config.id))?;
        Ok(PushSink {
            id: config.id.clone(),
            url: config.url.clone(),
            health_url: config.health_url.clone(),
            client,
            auth,
            template: config.payload.clone(),
            tz,
            remote_id_field: config.remote_id_field.clone(),
            oauth: tokio::sync::Mutex::new(None),
        })
    }

    /// The endpoint's id.
    pub fn endpoint_id(&self) -> &str {
        &self.id
    }

    /// An authenticated request that creates nothing (`check --online`): GET `health_url` when
    /// configured, else OPTIONS to the URL, then HEAD if OPTIONS is not allowed. Ok with what
    /// was checked, or what is wrong and what to do.
    pub async fn check(&self) -> Result<String, String> {
        let tries: Vec<(reqwest::Method, &url::Url)> = match &self.health_url {
            Some(h) => vec![(reqwest::Method::GET, h)],
            None => vec![
                (reqwest::Method::OPTIONS, &self.url),
                (reqwest::Method::HEAD, &self.url),
            ],
        };
        let mut last = 0;
        for (method, url) in tries {
            let req = match self.authorise(self.client.request(method.clone(), url.clone())).await {
                Ok(r) => r,
                Err(Attempt::Retry { reason, .. } | Attempt::Dead { reason }) => return Err(reason),
                Err(Attempt::Delivered { .. }) => return Err("the sign-in did not complete".into()),
            };
            let status = match req.send().await {
                Ok(r) => r.status().as_u16(),
                Err(e) => {
                    return Err(format!(
                        "{}: check the endpoint's url and that this machine may reach it",
                        describe(&e)
                    ));
                }
            };
            last = status;
            match status {
                200..=299 => return Ok(format!("{method} {} answered {status}", url.path())),
                // Not allowed: the next method, if any, may be.
                405 | 501 => continue,
                401 | 403 => {
                    return Err(format!(
                        "{method} {} answered {status}: the endpoint refuses apsync's credentials; check [endpoint.auth] (and the key or token file) with the endpoint's owner",
                        url.path()
                    ));
                }
                404 => {
                    return Err(format!(
                        "{method} {} answered 404: there is no such address; check the endpoint's url",
                        url.path()
                    ));
                }
                300..=399 => {
                    return Err(format!(
                        "{method} {} answered {status} (a redirect, which apsync does not follow): write the final address as the endpoint's url",
                        url.path()
                    ));
                }
                _ => {
                    return Err(format!(
                        "{method} {} answered {status}: the endpoint is having trouble; try again later, or ask its owner",
                        url.path()
                    ));
                }
            }
        }
        // Reachable, but nothing said whether the credentials hold.
        Ok(format!(
            "reachable, but it answered {last} to OPTIONS and HEAD, so the credentials were not checked: set health_url for a full check"
        ))
    }

    async fn authorise(&self, req: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, Attempt> {
        Ok(match &self.auth {
            Auth::None => req,
            Auth::Bearer(token) => req.bearer_auth(token.expose()),
            Auth::ApiKey(header, key) => req.header(header, key.expose()),
            Auth::Basic(user, password) => req.basic_auth(user, Some(password.expose())),
            Auth::OAuth2(_) => req.bearer_auth(self.oauth_token().await?.expose()),
        })
    }

    /// The cached OAuth token, or a new one from the token endpoint (client credentials grant).
    async fn oauth_token(&self) -> Result<Secret, Attempt> {
        let Auth::OAuth2(credentials) = &self.auth else {
            return Err(slow("no OAuth configuration".into()));
        };
        let mut cache = self.oauth.lock().await;
        if let Some((token, until)) = cache.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let issued = match credentials.request(&self.client, ClientAuthentication::Basic).await {
            Ok(issued) => issued,
            Err(TokenError::Unreachable(e)) => return Err(retry(format!("token endpoint: {}", describe(&e)), None)),
            Err(TokenError::Refused { status, .. }) => {
                let reason = format!("token endpoint answered HTTP {status}");
                return Err(match status.as_u16() {
                    408 | 429 | 500..=599 => retry(reason, None),
                    _ => slow(format!("{reason}: check client_id and client_secret_file")),
                });
            }
            Err(TokenError::NotJson { error, .. }) => {
                return Err(retry(format!("token endpoint: unreadable answer: {error}"), None));
            }
            Err(TokenError::NoAccessToken) => {
                return Err(slow("the token endpoint's answer has no access_token".into()));
            }
        };
        let lifetime = issued.expires_in.unwrap_or(Duration::from_secs(300));
        let token = issued.token;
        *cache = Some((token.clone(), Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN)));
        Ok(token)
    }
}

fn retry(reason: String, after: Option<Duration>) -> Attempt {
    Attempt::Retry {
        reason,
        after,
        slow: false,
    }
}

fn slow(reason: String) -> Attempt {
    Attempt::Retry {
        reason,
        after: None,
        slow: true,
    }
}

/// A transport error in words, without the URL (it may carry a key in its query).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "no answer in time"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut text = format!("{kind}: {}", e.to_string().split(" for url").next().unwrap_or_default());
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

#[async_trait]
impl Sink for PushSink {
    fn channel(&self) -> Channel {
        Channel::Push
    }

    fn id(&self) -> &str {
        &self.id
    }

    async fn deliver(&self, delivery: &Delivery) -> Attempt {
        let visit: VisitDocument = match serde_json::from_value(delivery.payload.clone()) {
            Ok(v) => v,
            Err(e) => {
                return Attempt::Dead {
                    reason: format!("the queued visit cannot be read: {e}"),
                };
            }
        };
        let body = self.template.render(&visit, self.tz);
        let req = self
            .client
            .post(self.url.clone())
            .header("Idempotency-Key", &delivery.idempotency_key)
            .json(&body);
        let req = match self.authorise(req).await {
            Ok(r) => r,
            Err(attempt) => return attempt,
        };
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return retry(describe(&e), None),
        };
        let status = resp.status().as_u16();
        if status == 401 && matches!(self.auth, Auth::OAuth2(_)) {
            *self.oauth.lock().await = None;
        }
        let after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, Utc::now()));
        let location = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = read_capped(resp).await;
        outcome(status, after, location, &text, &self.remote_id_field)
    }
}

/// Reads at most a little more than [`MAX_KEPT_BODY`] bytes of an answer.
async fn read_capped(mut resp: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > 64 * 1024 {
            break;
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// What an answer means. 2xx and 409 (the endpoint has it already): delivered. 408, 429, 5xx: try
/// again, honouring `Retry-After` (the body is not kept: it may echo the visit). 401, 403, 404 and redirects: misconfigured, retried slowly and
/// reported. 400, 422 and any other answer: dead, with the endpoint's words kept.
pub fn outcome(status: u16, after: Option<Duration>, location: Option<String>, body: &str, id_field: &str) -> Attempt {
    let words = || {
        let trimmed = body.trim();
        if trimmed.is_empty() {
            String::new()
        } else {
            let cut: String = trimmed.chars().take(MAX_KEPT_BODY).collect();
            format!(": {cut}")
        }
    };
    match status {
        200..=299 | 409 => {
            let from_body = serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| match v.get(id_field) {
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                });
            Attempt::Delivered {
                remote_id: from_body.or(location),
            }
        }
        408 | 429 | 500..=599 => retry(format!("HTTP {status}"), after),
        401 | 403 => slow(format!(
            "HTTP {status}: the endpoint refused apsync's credentials; check [endpoint.auth]"
        )),
        404 => slow("HTTP 404: no such address at the endpoint; check the endpoint's url".into()),
        300..=399 => slow(format!(
            "HTTP {status}: the endpoint redirects to {}; set its url to that",
            location.as_deref().unwrap_or("somewhere else")
        )),
        _ => Attempt::Dead {
            reason: format!("HTTP {status}{}", words()),
        },
    }
}

/// `Retry-After` as seconds or an HTTP date, as a delay from `now` (capped at a day).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let delay = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
            (at - now).to_std().unwrap_or_default()
        }
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now: DateTime<Utc> = "2026-03-02T10:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Mon, 02 Mar 2026 10:05:00 GMT", now),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            parse_retry_after("Mon, 02 Mar 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn answers_map_to_outcomes() {
        assert_eq!(
            outcome(201, None, None, r#"{"id": 42}"#, "id"),
            Attempt::Delivered {
                remote_id: Some("42".into())
            }
        );
        assert_eq!(
            outcome(409, None, Some("/r/7".into()), "", "id"),
            Attempt::Delivered {
                remote_id: Some("/r/7".into())
            }
        );
        assert!(matches!(
            outcome(503, None, None, "", "id"),
            Attempt::Retry { slow: false, .. }
        ));
        assert!(matches!(
            outcome(429, Some(Duration::from_secs(7)), None, "", "id"),
            Attempt::Retry { after: Some(d), .. } if d == Duration::from_secs(7)
        ));
        assert!(matches!(
            outcome(403, None, None, "", "id"),
            Attempt::Retry { slow: true, .. }
        ));
        assert!(matches!(
            outcome(404, None, None, "", "id"),
            Attempt::Retry { slow: true, .. }
        ));
        assert_eq!(
            outcome(422, None, None, "title too long", "id"),
            Attempt::Dead {
                reason: "HTTP 422: title too long".into()
            }
        );
    }
}
