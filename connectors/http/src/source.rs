//! The HTTP source: fetch every page of the date window, one document per page; the checkpoint
//! is the end of the last window whose pages were all committed.

use std::collections::HashMap;
use std::time::Duration;

use apsync_connector_core::digest::Sha256Hex;
use apsync_connector_core::oauth2::{ClientCredentials, fetch_token};
use apsync_connector_core::spool::Spool;
use apsync_connector_core::{
    Body, Checkpoint, Document, ErrorCode, ErrorKind, Fetched, ItemRef, Outcome, Refusal, Secret, Source, SourceError,
};
use apsync_connector_core::{printable, web};
use async_trait::async_trait;
use backon::{ExponentialBuilder, Retryable};
use chrono::{NaiveDate, Utc};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{HttpConfig, Paging, sample_url};

/// How to authenticate, with secrets already read.
#[derive(Debug, Clone)]
pub enum HttpAuth {
    /// None.
    None,
    /// `Authorization: Bearer ...`.
    Bearer(Secret),
    /// A header carrying a key.
    ApiKey(String, Secret),
    /// HTTP basic.
    Basic(String, Secret),
    /// OAuth2 client credentials.
    OAuth2(ClientCredentials),
}

/// A `Retry-After` longer than this fails the run instead; the scheduler tries again later.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

#[derive(Debug, Default, Serialize, Deserialize)]
struct Window {
    window_end: Option<NaiveDate>,
}

/// A page as read: its bytes, or only that it is over the provider's limit (it was not held).
enum Page {
    Body(Vec<u8>),
    TooBig(Oversize),
}

/// What is known of a page over the limit: its digest and size when it was read to its end
/// (hashed, not held), else only how many bytes were seen (or announced) before giving up.
struct Oversize {
    size: u64,
    sha256: Option<String>,
}

/// An over-limit page is read on to its end for its digest only up to this many times the
/// limit: a bigger or endless page is not worth downloading at every run while it waits.
const DIGEST_FACTOR: u64 = 4;

/// A failed request: whether to retry it, and after how long the server asked for.
struct Failure {
    error: SourceError,
    retry: bool,
    retry_after: Option<Duration>,
}

/// An HTTP API source.
#[derive(Debug)]
pub struct HttpSource {
    url: String,
    date_format: String,
    start_date: Option<NaiveDate>,
    overlap_days: u32,
    auth: HttpAuth,
    paging: Paging,
    records_path: String,
    next_path: Option<String>,
    page_param: String,
    cursor_param: String,
    max_pages: u32,
    retries: u32,
    max_bytes: u64,
    client: reqwest::Client,
    today: NaiveDate,
    found: HashMap<String, Fetched>,
    spool: Spool,
}

/// The value at a dotted path (`meta.next_page`), if any and not null.
fn at_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .filter(|s| !s.is_empty())
        .try_fold(value, |v, key| v.get(key))
        .filter(|v| !v.is_null())
}

/// `http:FROM:TO:i/n`; the window is done with its last page.
fn window_of(external_id: &str) -> Option<(NaiveDate, bool)> {
    let mut it = external_id.rsplitn(3, ':');
    let part = it.next()?;
    let to = it.next()?.parse().ok()?;
    let last = part.split_once('/').is_some_and(|(i, n)| i == n);
    Some((to, last))
}

impl HttpSource {
    /// A source over a validated configuration; pages over `max_bytes` are refused.
    pub fn new(config: &HttpConfig, auth: HttpAuth, max_bytes: u64) -> Result<Self, SourceError> {
        let template = config.url.clone().unwrap_or_default();
        let base = Url::parse(&sample_url(&template)).map_err(|e| {
            SourceError::new(
                ErrorKind::Config,
                ErrorCode::HttpUrl,
                format!("`{template}` is not a URL: {e}"),
            )
        })?;
        // The shared policy: no redirect is followed, so the key never goes to another server.
        let timeout = Duration::from_secs(config.timeout_seconds.unwrap_or(30));
        let client = web::client_for(&base, timeout).map_err(|e| {
            SourceError::new(
                ErrorKind::Config,
                ErrorCode::HttpClient,
                format!("cannot start the HTTP client: {e}"),
            )
        })?;
        Ok(HttpSource {
            url: config.url.clone().unwrap_or_default(),
            date_format: config.date_format.clone().unwrap_or_else(|| "%Y-%m-%d".into()),
            start_date: config.start_date,
            overlap_days: config.overlap_days.unwrap_or(2),
            auth,
            paging: config.paging.unwrap_or_default(),
            records_path: config.records_path.clone().unwrap_or_else(|| "data".into()),
            next_path: config.next_path.clone(),
            page_param: config.page_param.clone().unwrap_or_else(|| "page".into()),
            cursor_param: config.cursor_param.clone().unwrap_or_else(|| "cursor".into()),
            max_pages: config.max_pages.unwrap_or(100),
            retries: config.retries.unwrap_or(4),
            max_bytes,
            client,
            today: Utc::now().date_naive(),
            found: HashMap::new(),
            spool: Spool::default(),
        })
    }

    /// The same source with "today" given (tests, `--now`).
    pub fn with_today(mut self, today: NaiveDate) -> Self {
        self.today = today;
        self
    }

    pub(crate) fn window(&self, checkpoint: &Checkpoint) -> (NaiveDate, NaiveDate) {
        let saved: Window = serde_json::from_value(checkpoint.0.clone()).unwrap_or_default();
        let from = match saved.window_end {
            Some(end) => end - chrono::Duration::days(i64::from(self.overlap_days)),
            None => self.start_date.unwrap_or(self.today - chrono::Duration::days(14)),
        };
        (from.min(self.today), self.today)
    }

    fn url_for(&self, from: NaiveDate, to: NaiveDate) -> Result<Url, SourceError> {
        let text = self
            .url
            .replace("{from}", &from.format(&self.date_format).to_string())
            .replace("{to}", &to.format(&self.date_format).to_string());
        Url::parse(&text).map_err(|e| {
            SourceError::new(
                ErrorKind::Config,
                ErrorCode::HttpUrl,
                format!("`{text}` is not a URL: {e}"),
            )
        })
    }

    /// A page over the provider's limit, as a refusal: recorded (not held; with its digest when
    /// it was read to its end) once a day while it lasts, so IT hears of it daily; its window
    /// does not advance, so its marks are fetched once the limit is raised or the provider sends
    /// smaller pages.
    fn refuse_page(&mut self, from: NaiveDate, to: NaiveDate, number: u32, oversize: Oversize, url: &Url) -> ItemRef {
        let Oversize { size, sha256 } = oversize;
        let how_big = if sha256.is_some() {
            format!("the page is {size} bytes")
        } else {
            format!("the page is {size} bytes or more")
        };
        let external_id = format!("http-refused:{from}:{to}:page-{number}:{}", self.today);
        let display_name = format!("{from}_{to}_page-{number}.json");
        let refusal = Refusal {
            external_id: external_id.clone(),
            display_name: display_name.clone(),
            code: ErrorCode::HttpTooBig,
            reason: format!(
                "GET {url}: {how_big}, over the provider's limit of {} bytes (format.limits.max_file_bytes); \
                 it was not downloaded, and the window from {from} to {to} waits: ask the provider for smaller pages, or raise the limit",
                self.max_bytes
            ),
            sender: None,
            verdict: None,
            size: Some(size),
            sha256,
            received_at: Utc::now(),
            metadata: serde_json::json!({ "url": url.as_str(), "from": from, "to": to, "page": number }),
        };
        self.found.insert(external_id.clone(), Fetched::Refused(refusal));
        ItemRef {
            external_id,
            display_name,
        }
    }

    /// The next page's URL from a `next` link: on the first page's own origin only, so the
    /// provider's credentials are never sent to another server whatever a page says.
    fn next_link(&self, url: &Url, link: &str) -> Result<Url, SourceError> {
        let next = url.join(link).map_err(|e| {
            SourceError::new(
                ErrorKind::Permanent,
                ErrorCode::HttpJson,
                format!("GET {url}: the next link `{}` is not a URL: {e}", printable(link, 200)),
            )
        })?;
        if !web::same_origin(url, &next) {
            return Err(SourceError::new(
                ErrorKind::Permanent,
                ErrorCode::HttpNextOrigin,
                format!(
                    "GET {url}: the next link points to {}, another server; apsync sends the provider's credentials only to {}: ask the provider why its API links elsewhere",
                    next.origin().ascii_serialization(),
                    url.origin().ascii_serialization()
                ),
            ));
        }
        Ok(next)
    }

    async fn token(&self) -> Result<Option<Secret>, SourceError> {
        match &self.auth {
            HttpAuth::OAuth2(cc) => fetch_token(&self.client, cc, ErrorCode::HttpAuth).await.map(Some),
            _ => Ok(None),
        }
    }

    async fn get_once(&self, url: &Url, token: Option<&Secret>) -> Result<Page, Failure> {
        let mut request = self.client.get(url.clone()).header("accept", "application/json");
        request = match (&self.auth, token) {
            (_, Some(t)) | (HttpAuth::Bearer(t), None) => request.bearer_auth(t.expose()),
            (HttpAuth::ApiKey(header, key), _) => request.header(header.as_str(), key.expose()),
            (HttpAuth::Basic(user, password), _) => request.basic_auth(user, Some(password.expose())),
            _ => request,
        };
        let transient = |e: SourceError, retry_after| Failure {
            error: e,
            retry: true,
            retry_after,
        };
        let response = request.send().await.map_err(|e| {
            let (code, what) = if e.is_timeout() {
                (ErrorCode::HttpTimeout, "no complete answer in time")
            } else if e.is_connect() {
                (ErrorCode::HttpConnect, "cannot connect (refused, DNS or TLS)")
            } else {
                (ErrorCode::HttpIo, "the request failed")
            };
            transient(
                SourceError::new(ErrorKind::Transient, code, format!("GET {url}: {what}: {e}")),
                None,
            )
        })?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let e = SourceError::new(
                ErrorKind::Transient,
                ErrorCode::HttpStatus,
                format!("GET {url}: the API answered {status}; will retry"),
            );
            return Err(transient(e, retry_after));
        }
        if status.is_redirection() {
            let to = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .map_or_else(|| "somewhere else".to_string(), |u| u.origin().ascii_serialization());
            let e = SourceError::new(
                ErrorKind::Config,
                ErrorCode::HttpRedirect,
                format!(
                    "GET {url}: the API answered {status}, redirecting to {to}; apsync follows no redirect (it could carry the provider's key to another server): set the connector's url to the final address"
                ),
            );
            return Err(Failure {
                error: e,
                retry: false,
                retry_after: None,
            });
        }
        if !status.is_success() {
            let (kind, hint) = match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    (ErrorKind::Auth, "check the credentials the provider gave")
                }
                StatusCode::NOT_FOUND => (ErrorKind::Config, "check the URL with the provider"),
                _ => (ErrorKind::Config, "check the URL and parameters with the provider"),
            };
            let code = if kind == ErrorKind::Auth {
                ErrorCode::HttpAuth
            } else {
                ErrorCode::HttpStatus
            };
            let e = SourceError::new(kind, code, format!("GET {url}: the API answered {status}; {hint}"));
            return Err(Failure {
                error: e,
                retry: false,
                retry_after: None,
            });
        }
        let digest_limit = self.max_bytes.saturating_mul(DIGEST_FACTOR);
        if let Some(announced) = response.content_length().filter(|n| *n > self.max_bytes) {
            if announced > digest_limit {
                return Ok(Page::TooBig(Oversize {
                    size: announced,
                    sha256: None,
                }));
            }
            return Ok(Page::TooBig(
                digest_rest(response, Sha256Hex::default(), digest_limit).await,
            ));
        }
        // Read a chunk at a time, so a page that never ends costs at most the limit.
        let mut bytes = Vec::new();
        let mut response = response;
        loop {
            let chunk = response.chunk().await.map_err(|e| {
                transient(
                    SourceError::new(
                        ErrorKind::Transient,
                        ErrorCode::HttpIo,
                        format!("GET {url}: the answer broke off: {e}"),
                    ),
                    None,
                )
            })?;
            let Some(chunk) = chunk else { break };
            if (bytes.len() + chunk.len()) as u64 > self.max_bytes {
                let mut hash = Sha256Hex::default();
                hash.update(&bytes);
                hash.update(&chunk);
                drop(bytes);
                return Ok(Page::TooBig(digest_rest(response, hash, digest_limit).await));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Page::Body(bytes))
    }

    /// One page, with retries of 429, 5xx and timeouts, honouring `Retry-After`.
    async fn get(&self, url: &Url, token: Option<&Secret>) -> Result<Page, SourceError> {
        let backoff = ExponentialBuilder::new()
            .with_min_delay(Duration::from_millis(500))
            .with_max_delay(Duration::from_secs(30))
            .with_max_times(self.retries as usize);
        (|| self.get_once(url, token))
            .retry(backoff)
            .when(|f: &Failure| f.retry && f.retry_after.is_none_or(|d| d <= MAX_RETRY_AFTER))
            .adjust(|f: &Failure, planned| planned.map(|d| f.retry_after.unwrap_or(d)))
            .await
            .map_err(|f| f.error)
    }
}

#[async_trait]
impl Source for HttpSource {
    async fn check(&mut self) -> Result<(), SourceError> {
        let (from, to) = self.window(&Checkpoint::start());
        let url = self.url_for(from, to)?;
        let token = self.token().await?;
        self.get(&url, token.as_ref()).await.map(|_| ())
    }

    async fn discover(&mut self, checkpoint: &Checkpoint, limit: usize) -> Result<Vec<ItemRef>, SourceError> {
        let (from, to) = self.window(checkpoint);
        let first = self.url_for(from, to)?;
        let token = self.token().await?;
        let mut pages = Vec::new();
        let mut too_big = None;
        let mut url = first.clone();
        for number in 1..=self.max_pages.min(u32::try_from(limit).unwrap_or(u32::MAX)).max(1) {
            if self.paging == Paging::Page {
                url = first.clone();
                url.query_pairs_mut().append_pair(&self.page_param, &number.to_string());
            }
            let bytes = match self.get(&url, token.as_ref()).await? {
                Page::Body(bytes) => bytes,
                Page::TooBig(oversize) => {
                    too_big = Some((number, oversize, url.clone()));
                    break;
                }
            };
            let json: Value = serde_json::from_slice(&bytes).map_err(|e| {
                SourceError::new(
                    ErrorKind::Transient,
                    ErrorCode::HttpJson,
                    format!("GET {url}: the answer is not JSON ({e}); will retry"),
                )
            })?;
            let empty = at_path(&json, &self.records_path)
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty);
            let next = self.next_path.as_deref().and_then(|p| at_path(&json, p)).cloned();
            drop(json);
            if !(empty && self.paging == Paging::Page && number > 1) {
                // Each page waits on disk, not in memory, until it is imported.
                pages.push(self.spool.write("http", &bytes).await?);
            }
            let next_url = match (self.paging, next) {
                (Paging::None, _) | (_, None) => None,
                (Paging::Page, Some(_)) if !empty => Some(url.clone()),
                (Paging::Page, Some(_)) => None,
                (Paging::NextLink, Some(Value::String(link))) => Some(self.next_link(&url, &link)?),
                (Paging::NextLink, Some(_)) => None,
                (Paging::Cursor, Some(cursor)) => {
                    let cursor = cursor.as_str().map_or_else(|| cursor.to_string(), str::to_string);
                    let mut u = first.clone();
                    u.query_pairs_mut().append_pair(&self.cursor_param, &cursor);
                    Some(u)
                }
            };
            match next_url {
                Some(u) => url = u,
                None => break,
            }
        }
        let n = pages.len();
        let mut items = Vec::new();
        for (i, path) in pages.into_iter().enumerate() {
            let external_id = format!("http:{from}:{to}:{}/{n}", i + 1);
            let file_name = format!("{from}_{to}_page-{}.json", i + 1);
            self.found.insert(
                external_id.clone(),
                Fetched::Document(Document {
                    body: Body::Spool(path),
                    file_name: file_name.clone(),
                    media_type: Some("application/json".into()),
                    external_id: external_id.clone(),
                    received_at: Utc::now(),
                    metadata: serde_json::json!({ "url": first.as_str(), "from": from, "to": to, "page": i + 1 }),
                    hold_for_review: None,
                }),
            );
            items.push(ItemRef {
                external_id,
                display_name: file_name,
            });
        }
        if let Some((number, oversize, url)) = too_big {
            items.push(self.refuse_page(from, to, number, oversize, &url));
        }
        Ok(items)
    }

    async fn fetch(&mut self, item: &ItemRef) -> Result<Fetched, SourceError> {
        self.found.remove(&item.external_id).ok_or_else(|| {
            SourceError::new(
                ErrorKind::Transient,
                ErrorCode::HttpIo,
                format!(
                    "{} was not fetched in this run; it is fetched again next run",
                    item.display_name
                ),
            )
        })
    }

    fn advance(&self, checkpoint: &Checkpoint, done: &[ItemRef]) -> Checkpoint {
        let mut saved: Window = serde_json::from_value(checkpoint.0.clone()).unwrap_or_default();
        for (to, last) in done.iter().filter_map(|i| window_of(&i.external_id)) {
            if last {
                saved.window_end = Some(saved.window_end.map_or(to, |e| e.max(to)));
            }
        }
        Checkpoint(serde_json::to_value(saved).unwrap_or_default())
    }

    async fn acknowledge(&mut self, _item: &ItemRef, _outcome: Outcome) -> Result<(), SourceError> {
        // Nothing to tidy upstream: the window moves on in the checkpoint.
        Ok(())
    }
}

/// Reads the rest of an over-limit page into `hash` without holding it, up to `limit` bytes in
/// all: its digest and size if it ends by then, else only the bytes seen (an endless page, one
/// cut off by the timeout or broken off).
async fn digest_rest(mut response: reqwest::Response, mut hash: Sha256Hex, limit: u64) -> Oversize {
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                hash.update(&chunk);
                if hash.len() > limit {
                    return Oversize {
                        size: hash.len(),
                        sha256: None,
                    };
                }
            }
            Ok(None) => {
                let (sha256, size) = hash.finish();
                return Oversize {
                    size,
                    sha256: Some(sha256),
                };
            }
            Err(_) => {
                return Oversize {
                    size: hash.len(),
                    sha256: None,
                };
            }
        }
    }
}
