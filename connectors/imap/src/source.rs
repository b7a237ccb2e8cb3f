//! The IMAP source: one item per matching attachment, and one per message refused (a stranger's,
//! an unauthenticated one, one without an attachment), so each is recorded once; the checkpoint
//! is UIDVALIDITY + the last UID done.
//!
//! Headers are read first and screened; only messages that pass are downloaded, one at a time,
//! each within its own timeout, and a run stops taking messages once it holds [`HELD_BYTES`],
//! so a backlog drains over several runs instead of timing out or exhausting memory.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use apsync_connector_core::{
    Body, Checkpoint, Document, ErrorKind, Fetched, ItemRef, Outcome, Refusal, Secret, Source, SourceError,
    digest::sha256_hex, printable,
};
use apsync_connector_http::oauth::{ClientCredentials, fetch_token};
use async_trait::async_trait;
use chrono::Utc;
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use apsync_connector_core::spool::Spool;

use crate::auth::{Authentication, Judgement};
use crate::dkim::{DkimOutcome, DkimResolver, judge_dkim};
use crate::mime::{self, DEFAULT_MEDIA_TYPES};
use crate::net::{Endpoint, ImapSession, Login, fail};
use crate::screen::{Envelope, HEADER_LIMIT, Policy, Turned, screen};
use crate::{After, ImapConfig, Security};

/// Headers read per FETCH command.
const HEADER_CHUNK: usize = 50;

/// A run stops downloading messages once it has downloaded this many bytes of them (each
/// message's attachments go to spool files as soon as it is read), so a backlog drains over runs.
pub const HELD_BYTES: usize = 64 * 1024 * 1024;

/// How to log in, with secrets already read.
#[derive(Debug, Clone)]
pub enum ImapAuth {
    /// LOGIN with this password.
    Password(Secret),
    /// XOAUTH2 with a token from the client-credentials flow.
    OAuth2(ClientCredentials),
}

/// The keyword set on imported messages with `after = "flag"`.
pub const IMPORTED_KEYWORD: &str = "$ApsyncImported";

/// The keyword set on refused messages with `after = "flag"`.
pub const REFUSED_KEYWORD: &str = "$ApsyncRefused";

/// The keyword set on a message set aside after failing run after run.
pub const FAILED_KEYWORD: &str = "$ApsyncFailed";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Position {
    uidvalidity: u32,
    last_uid: u32,
}

/// Where an item sits: `imap:MAILBOX:UIDVALIDITY:UID:PART` with PART `i/n`, `sender` or `none`.
struct Place {
    uidvalidity: u32,
    uid: u32,
    /// Whether committing this item finishes its message.
    last_of_message: bool,
}

fn place(external_id: &str) -> Option<Place> {
    let mut it = external_id.rsplitn(4, ':');
    let part = it.next()?;
    let uid = it.next()?.parse().ok()?;
    let uidvalidity = it.next()?.parse().ok()?;
    let last_of_message = match part.split_once('/') {
        Some((i, n)) => i == n,
        None => true,
    };
    Some(Place {
        uidvalidity,
        uid,
        last_of_message,
    })
}

/// An IMAP source. It connects on first use and keeps the session for the run.
pub struct ImapSource {
    endpoint: Endpoint,
    user: String,
    auth: ImapAuth,
    mailbox: String,
    senders: Vec<String>,
    authentication: Authentication,
    trusted: Vec<String>,
    dkim: Option<Arc<dyn DkimResolver>>,
    glob: String,
    media_types: Vec<String>,
    after: After,
    move_to: Option<String>,
    max_bytes: u64,
    session: Option<ImapSession>,
    found: HashMap<String, Fetched>,
    failed: HashMap<String, SourceError>,
    spool: Spool,
}

impl std::fmt::Debug for ImapSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapSource")
            .field("host", &self.endpoint.host)
            .field("mailbox", &self.mailbox)
            .finish_non_exhaustive()
    }
}

impl ImapSource {
    /// A source over a validated configuration; `ca_pem` is the `ca_file`'s content, if any.
    pub fn new(
        config: &ImapConfig,
        auth: ImapAuth,
        ca_pem: Option<&[u8]>,
        max_bytes: u64,
    ) -> Result<Self, SourceError> {
        let security = config.security.unwrap_or_default();
        let extra_roots = match ca_pem {
            None => Vec::new(),
            Some(pem) => crate::net::parse_roots(pem).map_err(|e| {
                fail(
                    ErrorKind::Config,
                    "IMAP-TLS",
                    format!("ca_file is not a PEM certificate file: {e}"),
                )
            })?,
        };
        Ok(ImapSource {
            endpoint: Endpoint {
                host: config.host.clone().unwrap_or_default(),
                port: config
                    .port
                    .unwrap_or(if security == Security::Implicit { 993 } else { 143 }),
                security,
                extra_roots,
                timeout: Duration::from_secs(config.timeout_seconds.unwrap_or(30)),
            },
            user: config.user.clone().unwrap_or_default(),
            auth,
            mailbox: config.mailbox.clone().unwrap_or_else(|| "INBOX".into()),
            senders: config.senders.clone(),
            authentication: config.authentication.unwrap_or_default(),
            trusted: config.trusted_authserv_ids.clone(),
            dkim: None,
            glob: config.glob.clone().unwrap_or_else(|| "*".into()),
            media_types: config
                .media_types
                .clone()
                .unwrap_or_else(|| DEFAULT_MEDIA_TYPES.iter().map(|s| s.to_string()).collect()),
            after: config.after.unwrap_or_default(),
            move_to: config.move_to.clone(),
            max_bytes,
            session: None,
            found: HashMap::new(),
            failed: HashMap::new(),
            spool: Spool::default(),
        })
    }

    /// Reads DKIM keys through `resolver` instead of the system's DNS (a test's stub).
    pub fn with_dkim_resolver(mut self, resolver: Arc<dyn DkimResolver>) -> Self {
        self.dkim = Some(resolver);
        self
    }

    fn at(&self) -> String {
        format!("{}@{}:{}", self.user, self.endpoint.host, self.endpoint.port)
    }

    fn imap_fail(&self, what: &str, e: impl std::fmt::Display) -> SourceError {
        fail(
            ErrorKind::Transient,
            "IMAP-IO",
            format!("{}: cannot {what}: {e}", self.at()),
        )
    }

    /// Logs in and selects the mailbox, returning its UIDVALIDITY.
    async fn connect(&mut self) -> Result<u32, SourceError> {
        let login = match &self.auth {
            ImapAuth::Password(p) => Login::Password(self.user.clone(), p.clone()),
            ImapAuth::OAuth2(cc) => {
                let client = reqwest::Client::builder()
                    .timeout(self.endpoint.timeout)
                    .build()
                    .map_err(|e| self.imap_fail("start an HTTP client", e))?;
                Login::Bearer(self.user.clone(), fetch_token(&client, cc, "IMAP-AUTH").await?)
            }
        };
        let mut session = self.endpoint.open(&login).await?;
        let mailbox = self
            .endpoint
            .within("opening the mailbox", session.select(&self.mailbox))
            .await?
            .map_err(|e| {
                fail(
                    ErrorKind::Config,
                    "IMAP-MAILBOX",
                    format!(
                        "{}: cannot open the mailbox `{}`: {e}; check its name (folders are case-sensitive)",
                        self.at(),
                        self.mailbox
                    ),
                )
            })?;
        self.session = Some(session);
        Ok(mailbox.uid_validity.unwrap_or(0))
    }

    /// Runs an IMAP step on the session, dropping the session if it fails (to reconnect later).
    async fn step<T>(&mut self, result: Result<T, SourceError>) -> Result<T, SourceError> {
        if result.is_err() {
            self.session = None;
        }
        result
    }

    /// Reads the headers (at most [`HEADER_LIMIT`] bytes each), sizes and dates of these
    /// messages, a chunk of UIDs per command.
    async fn headers(&mut self, uids: &[u32]) -> Result<Vec<Head>, SourceError> {
        let mut heads = Vec::with_capacity(uids.len());
        for chunk in uids.chunks(HEADER_CHUNK) {
            let set = chunk.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            let at = self.at();
            let Some(session) = self.session.as_mut() else {
                return Ok(heads);
            };
            let query = format!("(UID RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER]<0.{HEADER_LIMIT}>)");
            let fetched = self
                .endpoint
                .within("reading message headers", async {
                    session.uid_fetch(&set, &query).await?.try_collect::<Vec<_>>().await
                })
                .await
                .and_then(|r| r.map_err(|e| self.imap_fail_at(&at, "read message headers", e)));
            for f in self.step(fetched).await? {
                let Some(uid) = f.uid else { continue };
                heads.push(Head {
                    uid,
                    header: f.header().map(<[u8]>::to_vec).unwrap_or_default(),
                    size: u64::from(f.size.unwrap_or(0)),
                    received_at: f
                        .internal_date()
                        .map(|d| d.with_timezone(&Utc))
                        .unwrap_or_else(Utc::now),
                });
            }
        }
        heads.sort_by_key(|h| h.uid);
        Ok(heads)
    }

    /// Downloads one whole message, within its own timeout.
    async fn download(&mut self, uid: u32) -> Result<Vec<u8>, SourceError> {
        let at = self.at();
        let Some(session) = self.session.as_mut() else {
            return Err(self.imap_fail("download a message", "not connected"));
        };
        let fetched = self
            .endpoint
            .within(&format!("downloading message {uid}"), async {
                session
                    .uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await
            .and_then(|r| r.map_err(|e| self.imap_fail_at(&at, "download a message", e)));
        let fetched = self.step(fetched).await?;
        Ok(fetched
            .iter()
            .find(|f| f.uid == Some(uid))
            .and_then(|f| f.body())
            .map(<[u8]>::to_vec)
            .unwrap_or_default())
    }

    fn imap_fail_at(&self, at: &str, what: &str, e: impl std::fmt::Display) -> SourceError {
        fail(ErrorKind::Transient, "IMAP-IO", format!("{at}: cannot {what}: {e}"))
    }

    fn policy(&self) -> Policy<'_> {
        Policy {
            senders: &self.senders,
            authentication: self.authentication,
            trusted: &self.trusted,
            // An attachment at the limit, base64-encoded (4/3 and line ends), plus room for the
            // rest of the message.
            max_message_bytes: self.max_bytes.saturating_mul(14) / 10 + 256 * 1024,
        }
    }

    /// Notes one item found in this run.
    fn note(&mut self, items: &mut Vec<ItemRef>, external_id: String, display_name: String, found: Fetched) {
        self.found.insert(external_id.clone(), found);
        items.push(ItemRef {
            external_id,
            display_name,
        });
    }

    /// Notes a message refused whole, as one item.
    fn refuse(&mut self, items: &mut Vec<ItemRef>, base: &str, head: &Head, turned: Turned) {
        let sender = turned.sender.clone().unwrap_or_else(|| "(no sender)".into());
        let title = format!("message {} from {sender} ({})", head.uid, turned.subject);
        let refusal = Refusal {
            external_id: format!("{base}:refused"),
            display_name: title.clone(),
            code: turned.code,
            reason: turned.reason,
            sender: turned.sender,
            verdict: turned.verdict,
            size: Some(head.size),
            sha256: None,
            received_at: head.received_at,
            metadata: serde_json::json!({
                "subject": turned.subject, "mailbox": self.mailbox, "uid": head.uid,
            }),
        };
        self.note(items, refusal.external_id.clone(), title, Fetched::Refused(refusal));
    }

    /// Moves these items' attachments from memory to spool files: a run holds one message at a
    /// time, however many it downloads.
    async fn spool_attachments(&mut self, items: &[ItemRef]) -> Result<(), SourceError> {
        for item in items {
            if let Some(Fetched::Document(doc)) = self.found.get_mut(&item.external_id)
                && let Body::Bytes(bytes) = &doc.body
            {
                let path = self.spool.write("imap", bytes).await?;
                doc.body = Body::Spool(path);
            }
        }
        Ok(())
    }

    /// Turns a downloaded message into one item per wanted attachment (or one refusal).
    fn attachments(&mut self, items: &mut Vec<ItemRef>, base: &str, head: &Head, envelope: &Envelope, raw: &[u8]) {
        let title = format!(
            "message {} from {} ({})",
            head.uid,
            printable(&envelope.sender, 200),
            envelope.subject
        );
        let turned = |code, reason: String| Turned {
            code,
            reason,
            sender: Some(printable(&envelope.sender, 200)),
            subject: envelope.subject.clone(),
            verdict: None,
        };
        let message = match mime::parse(raw, &self.glob, &self.media_types) {
            Ok(m) => m,
            Err(e) => {
                let reason = format!("it cannot be read as an email: {}", printable(&e.to_string(), 200));
                return self.refuse(items, base, head, turned("IMAP-MIME", reason));
            }
        };
        if message.attachments.is_empty() {
            let reason = format!(
                "no attachment matching glob `{}` and the accepted media types; nothing to import",
                self.glob
            );
            return self.refuse(items, base, head, turned("IMAP-NO-ATTACHMENT", reason));
        }
        let n = message.attachments.len();
        for (i, a) in message.attachments.into_iter().enumerate() {
            let external_id = format!("{base}:{}/{n}", i + 1);
            let name = printable(&a.file_name, 200);
            let found = if a.bytes.len() as u64 > self.max_bytes {
                Fetched::Refused(Refusal {
                    external_id: external_id.clone(),
                    display_name: format!("{title}: {name}"),
                    code: "IMAP-TOO-BIG",
                    reason: format!(
                        "an attachment is {} bytes, over the provider's limit of {} bytes; ask the provider for a smaller file, or raise limits.max_file_bytes in its format",
                        a.bytes.len(),
                        self.max_bytes
                    ),
                    sender: Some(printable(&envelope.sender, 200)),
                    verdict: envelope.authenticated.clone(),
                    size: Some(a.bytes.len() as u64),
                    sha256: Some(sha256_hex(&a.bytes)),
                    received_at: head.received_at,
                    metadata: serde_json::json!({ "subject": envelope.subject, "mailbox": self.mailbox, "uid": head.uid }),
                })
            } else {
                Fetched::Document(Document {
                    external_id: external_id.clone(),
                    file_name: a.file_name,
                    media_type: Some(a.media_type),
                    body: Body::Bytes(a.bytes),
                    received_at: head.received_at,
                    metadata: serde_json::json!({
                        "sender": envelope.sender, "subject": envelope.subject, "message_id": envelope.message_id,
                        "mailbox": self.mailbox, "uidvalidity": base.rsplit(':').nth(1), "uid": head.uid,
                        "authentication": envelope.authenticated.as_deref().unwrap_or("none (held for review)"),
                    }),
                    hold_for_review: envelope.hold_for_review.clone(),
                })
            };
            self.note(items, external_id, name, found);
        }
    }

    /// Screens, downloads and splits the messages with these UIDs, oldest first, until `limit`
    /// items or [`HELD_BYTES`] of downloads: the rest wait for the next run.
    async fn read(&mut self, uidvalidity: u32, uids: &[u32], limit: usize) -> Result<Vec<ItemRef>, SourceError> {
        let heads = self.headers(uids).await?;
        let mut items = Vec::new();
        let mut held = 0usize;
        for head in heads {
            if items.len() >= limit || held >= HELD_BYTES {
                break;
            }
            let base = format!("imap:{}:{uidvalidity}:{}", self.mailbox, head.uid);
            let envelope = match screen(&head.header, head.size, &self.policy()) {
                Ok(e) => e,
                Err(turned) => {
                    self.refuse(&mut items, &base, &head, turned);
                    continue;
                }
            };
            let raw = match self.download(head.uid).await {
                Ok(raw) => raw,
                // The first message fails the run as before; a later one is offered as an item
                // that fails, so the daemon counts it (and sets it aside if it keeps failing),
                // after the messages before it are imported.
                Err(e) if items.is_empty() => return Err(e),
                Err(e) => {
                    let external_id = format!("{base}:failed");
                    self.failed.insert(external_id.clone(), e);
                    items.push(ItemRef {
                        external_id,
                        display_name: format!("message {} from {}", head.uid, printable(&envelope.sender, 200)),
                    });
                    break;
                }
            };
            held += raw.len();
            let mut envelope = envelope;
            if self.authentication == Authentication::Dkim {
                let resolver = match &self.dkim {
                    Some(r) => r.clone(),
                    None => crate::dkim::system_resolver().map_err(|e| fail(ErrorKind::Config, "IMAP-DKIM", e))?,
                };
                match check_dkim(resolver, &self.at(), &raw, &envelope).await {
                    Ok(Ok(how)) => envelope.authenticated = Some(how),
                    Ok(Err(turned)) => {
                        self.refuse(&mut items, &base, &head, turned);
                        continue;
                    }
                    // The key could not be read now: this message and the later ones wait.
                    Err(e) if items.is_empty() => return Err(e),
                    Err(_) => break,
                }
            }
            let first_new = items.len();
            self.attachments(&mut items, &base, &head, &envelope, &raw);
            drop(raw);
            self.spool_attachments(&items[first_new..]).await?;
        }
        Ok(items)
    }
}

/// Checks a downloaded message's DKIM signatures: how it was shown genuine, or why it is turned
/// away; an error when the key cannot be read just now.
async fn check_dkim(
    resolver: Arc<dyn DkimResolver>,
    at: &str,
    raw: &[u8],
    envelope: &Envelope,
) -> Result<Result<String, Turned>, SourceError> {
    match judge_dkim(resolver.as_ref(), raw, &envelope.domain).await {
        DkimOutcome::Decided(Judgement::Authenticated(how)) => Ok(Ok(how)),
        DkimOutcome::Decided(Judgement::Refused { code, reason, verdict }) => Ok(Err(Turned {
            code,
            reason,
            sender: Some(printable(&envelope.sender, 200)),
            subject: envelope.subject.clone(),
            verdict,
        })),
        DkimOutcome::TryLater(why) => Err(fail(ErrorKind::Transient, "IMAP-DKIM-DNS", format!("{at}: {why}"))),
    }
}

/// A message's header, size and arrival, read before deciding whether to download it.
struct Head {
    uid: u32,
    header: Vec<u8>,
    size: u64,
    received_at: chrono::DateTime<Utc>,
}

fn position(checkpoint: &Checkpoint) -> Position {
    serde_json::from_value(checkpoint.0.clone()).unwrap_or_default()
}

#[async_trait]
impl Source for ImapSource {
    async fn check(&mut self) -> Result<(), SourceError> {
        self.connect().await.map(|_| ())
    }

    async fn discover(&mut self, checkpoint: &Checkpoint, limit: usize) -> Result<Vec<ItemRef>, SourceError> {
        let uidvalidity = self.connect().await?;
        let pos = position(checkpoint);
        // A new UIDVALIDITY means old UIDs mean nothing: read everything; the ledger drops repeats.
        let after = if pos.uidvalidity == uidvalidity {
            pos.last_uid
        } else {
            0
        };
        let at = self.at();
        let Some(session) = self.session.as_mut() else {
            return Ok(Vec::new());
        };
        let searched = self
            .endpoint
            .within("searching", session.uid_search(format!("UID {}:*", after + 1)))
            .await
            .and_then(|r| {
                r.map_err(|e| {
                    fail(
                        ErrorKind::Transient,
                        "IMAP-IO",
                        format!("{at}: cannot search the mailbox: {e}"),
                    )
                })
            });
        let mut uids: Vec<u32> = self.step(searched).await?.into_iter().filter(|u| *u > after).collect();
        uids.sort_unstable();
        uids.truncate(limit.max(1));
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(uidvalidity, &uids, limit.max(1)).await
    }

    async fn fetch(&mut self, item: &ItemRef) -> Result<Fetched, SourceError> {
        if let Some(e) = self.failed.remove(&item.external_id) {
            return Err(e);
        }
        match self.found.remove(&item.external_id) {
            Some(found) => Ok(found),
            None => Err(fail(
                ErrorKind::Transient,
                "IMAP-IO",
                format!(
                    "{} was not found in this run; it is read again next run",
                    item.display_name
                ),
            )),
        }
    }

    fn advance(&self, checkpoint: &Checkpoint, done: &[ItemRef]) -> Checkpoint {
        let mut pos = position(checkpoint);
        for p in done.iter().filter_map(|i| place(&i.external_id)) {
            if p.uidvalidity != pos.uidvalidity {
                pos = Position {
                    uidvalidity: p.uidvalidity,
                    last_uid: 0,
                };
            }
            // A message is done only with its last attachment: a crash between two parts
            // reads the whole message again, and the ledger drops the part already imported.
            let done_to = if p.last_of_message {
                p.uid
            } else {
                p.uid.saturating_sub(1)
            };
            pos.last_uid = pos.last_uid.max(done_to);
        }
        Checkpoint(serde_json::to_value(pos).unwrap_or_default())
    }

    async fn acknowledge(&mut self, item: &ItemRef, outcome: Outcome) -> Result<(), SourceError> {
        let Some(p) = place(&item.external_id) else {
            return Ok(());
        };
        // A refused message is only ever flagged (with `flag` or `move`), never moved among
        // the imported ones: people see it was looked at and turned away. A rejected file's
        // message stays as it was.
        let skip = !p.last_of_message || outcome == Outcome::Rejected || self.after == After::Keep;
        if skip {
            return Ok(());
        }
        let (keyword, after) = match outcome {
            Outcome::Refused => (REFUSED_KEYWORD, After::Flag),
            _ => (IMPORTED_KEYWORD, self.after),
        };
        self.tidy(p.uid, keyword, after).await
    }

    async fn quarantine(&mut self, item: &ItemRef) -> Result<(), SourceError> {
        match place(&item.external_id) {
            Some(p) => self.tidy(p.uid, FAILED_KEYWORD, After::Flag).await,
            None => Ok(()),
        }
    }
}

impl ImapSource {
    /// Flags message `uid` with `keyword`, or moves it to `move_to` when `after` says so.
    async fn tidy(&mut self, uid: u32, keyword: &str, after: After) -> Result<(), SourceError> {
        if self.session.is_none() {
            self.connect().await?;
        }
        let (at, uid, move_to) = (self.at(), uid.to_string(), self.move_to.clone());
        let Some(session) = self.session.as_mut() else {
            return Ok(());
        };
        let result = match (after, move_to) {
            (After::Move, Some(folder)) => {
                let _ = self
                    .endpoint
                    .within("creating the folder", session.create(&folder))
                    .await;
                self.endpoint
                    .within("moving the message", session.uid_mv(&uid, &folder))
                    .await
                    .and_then(|r| {
                        r.map_err(|e| {
                            fail(
                                ErrorKind::Transient,
                                "IMAP-IO",
                                format!("{at}: cannot move message {uid} to `{folder}`: {e}"),
                            )
                        })
                    })
            }
            _ => self
                .endpoint
                .within("flagging the message", async {
                    session
                        .uid_store(&uid, format!("+FLAGS ({keyword})"))
                        .await?
                        .collect::<Vec<_>>()
                        .await;
                    Ok::<_, async_imap::error::Error>(())
                })
                .await
                .and_then(|r| {
                    r.map_err(|e| {
                        fail(
                            ErrorKind::Transient,
                            "IMAP-IO",
                            format!("{at}: cannot flag message {uid}: {e}"),
                        )
                    })
                }),
        };
        self.step(result).await
    }
}
