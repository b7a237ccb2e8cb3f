//! The IMAP source: one item per matching attachment (and one per message that cannot be
//! imported, so it is reported once); the checkpoint is UIDVALIDITY + the last UID done.

use std::collections::HashMap;
use std::time::Duration;

use apsync_connector_core::{Checkpoint, Document, ErrorKind, ItemRef, Outcome, Secret, Source, SourceError};
use apsync_connector_http::oauth::{ClientCredentials, fetch_token};
use async_trait::async_trait;
use chrono::Utc;
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::mime::{self, DEFAULT_MEDIA_TYPES};
use crate::net::{Endpoint, ImapSession, Login, fail};
use crate::{After, ImapConfig, Security};

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
    glob: String,
    media_types: Vec<String>,
    after: After,
    move_to: Option<String>,
    max_bytes: u64,
    session: Option<ImapSession>,
    found: HashMap<String, Result<Document, (ErrorKind, &'static str, String)>>,
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
        })
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

    /// Reads the messages with these UIDs and turns each into items.
    async fn read(&mut self, uidvalidity: u32, uids: &[u32]) -> Result<Vec<ItemRef>, SourceError> {
        let set = uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        let at = self.at();
        let Some(session) = self.session.as_mut() else {
            return Ok(Vec::new());
        };
        let fetched = self
            .endpoint
            .within("downloading messages", async {
                session
                    .uid_fetch(&set, "(UID BODY.PEEK[])")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await
            .and_then(|r| {
                r.map_err(|e| {
                    fail(
                        ErrorKind::Transient,
                        "IMAP-IO",
                        format!("{at}: cannot download messages: {e}"),
                    )
                })
            });
        let mut fetched = self.step(fetched).await?;
        fetched.sort_by_key(|f| f.uid);
        let mut items = Vec::new();
        for f in &fetched {
            let (Some(uid), Some(raw)) = (f.uid, f.body()) else {
                continue;
            };
            let base = format!("imap:{}:{uidvalidity}:{uid}", self.mailbox);
            let parsed = mime::parse(raw, &self.glob, &self.media_types);
            let mut note = |part: &str, name: String, found| {
                let external_id = format!("{base}:{part}");
                self.found.insert(external_id.clone(), found);
                items.push(ItemRef {
                    external_id,
                    display_name: name,
                });
            };
            let message = match parsed {
                Ok(m) => m,
                Err(e) => {
                    note(
                        "none",
                        format!("message {uid}"),
                        Err((
                            ErrorKind::Permanent,
                            "IMAP-MIME",
                            format!("message UID {uid} cannot be read as an email: {e}"),
                        )),
                    );
                    continue;
                }
            };
            let sender = message.sender.clone().unwrap_or_default();
            let title = format!("message {uid} from {sender} ({})", message.subject);
            if !mime::sender_allowed(&self.senders, &sender) {
                note(
                    "sender",
                    title.clone(),
                    Err((
                        ErrorKind::Permanent,
                        "IMAP-SENDER",
                        format!(
                            "{title}: the sender is not in senders, so nothing was imported from it; if the provider really sends from there, add the address to [connector.imap] senders"
                        ),
                    )),
                );
                continue;
            }
            if message.attachments.is_empty() {
                note(
                    "none",
                    title.clone(),
                    Err((
                        ErrorKind::Permanent,
                        "IMAP-NO-ATTACHMENT",
                        format!(
                            "{title}: no attachment matching glob `{}` and the accepted media types; nothing to import",
                            self.glob
                        ),
                    )),
                );
                continue;
            }
            let n = message.attachments.len();
            for (i, a) in message.attachments.into_iter().enumerate() {
                let found = if a.bytes.len() as u64 > self.max_bytes {
                    Err((
                        ErrorKind::Permanent,
                        "IMAP-TOO-BIG",
                        format!(
                            "{}: attachment `{}` is {} bytes, over the provider's limit of {} bytes",
                            title,
                            a.file_name,
                            a.bytes.len(),
                            self.max_bytes
                        ),
                    ))
                } else {
                    Ok(Document {
                        external_id: format!("{base}:{}/{n}", i + 1),
                        file_name: a.file_name.clone(),
                        media_type: Some(a.media_type),
                        bytes: a.bytes,
                        received_at: f
                            .internal_date()
                            .map(|d| d.with_timezone(&Utc))
                            .unwrap_or_else(Utc::now),
                        metadata: serde_json::json!({
                            "sender": sender, "subject": message.subject, "message_id": message.message_id,
                            "mailbox": self.mailbox, "uidvalidity": uidvalidity, "uid": uid,
                        }),
                    })
                };
                note(&format!("{}/{n}", i + 1), a.file_name, found);
            }
        }
        Ok(items)
    }
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
        let mut items = self.read(uidvalidity, &uids).await?;
        items.truncate(limit.max(1));
        Ok(items)
    }

    async fn fetch(&mut self, item: &ItemRef) -> Result<Document, SourceError> {
        match self.found.remove(&item.external_id) {
            Some(Ok(doc)) => Ok(doc),
            Some(Err((kind, code, message))) => Err(SourceError::new(kind, code, message)),
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
        let skip = !p.last_of_message || outcome == Outcome::Rejected || self.after == After::Keep;
        if skip || item.external_id.ends_with(":sender") || item.external_id.ends_with(":none") {
            return Ok(());
        }
        if self.session.is_none() {
            self.connect().await?;
        }
        let (at, uid, after, move_to) = (self.at(), p.uid.to_string(), self.after, self.move_to.clone());
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
                        .uid_store(&uid, format!("+FLAGS ({IMPORTED_KEYWORD})"))
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
