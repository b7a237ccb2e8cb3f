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

use apsync_connector_core::oauth2::{ClientCredentials, fetch_token};
use apsync_connector_core::{Checkpoint, ErrorCode, ErrorKind, Fetched, ItemRef, Outcome, Secret, Source, SourceError};
use async_trait::async_trait;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use apsync_connector_core::spool::Spool;

use crate::auth::Authentication;
use crate::dkim::DkimResolver;
use crate::mime::DEFAULT_MEDIA_TYPES;
use crate::net::{Endpoint, ImapSession, Login, fail, io_error};
use crate::{After, ImapConfig, Security};

mod read;

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
        let security = config.tls.unwrap_or_default();
        let extra_roots = match ca_pem {
            None => Vec::new(),
            Some(pem) => crate::net::parse_roots(pem).map_err(|e| {
                fail(
                    ErrorKind::Config,
                    ErrorCode::ImapTls,
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
                max_nesting: crate::nesting::MAX_NESTING,
            },
            user: config.username.clone().unwrap_or_default(),
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

    /// Lets responses through only up to `levels` deep instead of 128: a test makes a message a
    /// real server describes (Dovecot stops at 100 levels) trip the guard.
    pub fn with_max_nesting(mut self, levels: usize) -> Self {
        self.endpoint.max_nesting = levels;
        self
    }

    /// Reads DKIM keys through `resolver` instead of the system's DNS (a test's stub).
    pub fn with_dkim_resolver(mut self, resolver: Arc<dyn DkimResolver>) -> Self {
        self.dkim = Some(resolver);
        self
    }

    fn at(&self) -> String {
        format!("{}@{}:{}", self.user, self.endpoint.host, self.endpoint.port)
    }

    /// Logs in and selects the mailbox, returning its UIDVALIDITY.
    async fn connect(&mut self) -> Result<u32, SourceError> {
        let login = match &self.auth {
            ImapAuth::Password(p) => Login::Password(self.user.clone(), p.clone()),
            ImapAuth::OAuth2(cc) => {
                let client = reqwest::Client::builder()
                    .timeout(self.endpoint.timeout)
                    .build()
                    .map_err(|e| io_error(&self.at(), "start an HTTP client", e))?;
                Login::Bearer(self.user.clone(), fetch_token(&client, cc, ErrorCode::ImapAuth).await?)
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
                    ErrorCode::ImapMailbox,
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
            .command(
                &at,
                "searching",
                "search the mailbox",
                session.uid_search(format!("UID {}:*", after + 1)),
            )
            .await;
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
                ErrorCode::ImapIo,
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
                let what = format!("move message {uid} to `{folder}`");
                self.endpoint
                    .command(&at, "moving the message", &what, session.uid_mv(&uid, &folder))
                    .await
            }
            _ => {
                let what = format!("flag message {uid}");
                let flagged = async {
                    session
                        .uid_store(&uid, format!("+FLAGS ({keyword})"))
                        .await?
                        .collect::<Vec<_>>()
                        .await;
                    Ok::<_, async_imap::error::Error>(())
                };
                self.endpoint.command(&at, "flagging the message", &what, flagged).await
            }
        };
        self.step(result).await
    }
}
