//! The SFTP source: list, download, tidy up.

use std::time::{Duration, SystemTime};

use apsync_connector_core::{
    Body, Checkpoint, Document, ErrorCode, ErrorKind, Fetched, ItemRef, Outcome, Refusal, Secret, Source, SourceError,
    glob_matches, printable,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use apsync_connector_core::digest::Sha256Hex;
use apsync_connector_core::spool::Spool;

use crate::connect::{Connection, Target, connect, sftp_error};

/// How many numbered names (`NAME.1`, `NAME.2`, ...) `after = "move"` tries before giving up.
const MAX_RENAME_TRIES: u32 = 1000;
use crate::{After, SftpConfig};

/// The secrets a configuration names, already read by the daemon.
#[derive(Debug, Clone, Default)]
pub struct SftpSecrets {
    /// The OpenSSH private key text.
    pub private_key: Option<Secret>,
    /// Its passphrase.
    pub passphrase: Option<Secret>,
    /// The password.
    pub password: Option<Secret>,
}

/// The checkpoint: the files already imported, as `name|size|mtime`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Seen {
    #[serde(default)]
    seen: Vec<String>,
}

/// Remembered files, at most this many (the ledger recognises anything forgotten).
const SEEN_LIMIT: usize = 10_000;

/// An SFTP source. It connects on first use and keeps the connection for the run.
pub struct SftpSource {
    target: Target,
    path: String,
    glob: String,
    min_age: Duration,
    after: After,
    move_to: Option<String>,
    max_bytes: u64,
    spool: Spool,
    connection: Option<Connection>,
}

impl std::fmt::Debug for SftpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SftpSource")
            .field("at", &self.at())
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn seen(checkpoint: &Checkpoint) -> Seen {
    serde_json::from_value(checkpoint.0.clone()).unwrap_or_default()
}

fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

impl SftpSource {
    /// A source over a validated configuration; files over `max_bytes` are refused unread.
    pub fn new(config: &SftpConfig, secrets: SftpSecrets, max_bytes: u64) -> Self {
        let path = config.path.clone().unwrap_or_else(|| ".".into());
        let move_to = config
            .move_to
            .as_ref()
            .map(|m| if m.starts_with('/') { m.clone() } else { join(&path, m) });
        SftpSource {
            target: Target {
                host: config.host.clone().unwrap_or_default(),
                port: config.port.unwrap_or(22),
                user: config.username.clone().unwrap_or_default(),
                host_key: config.host_key.clone(),
                key: secrets.private_key,
                passphrase: secrets.passphrase,
                password: secrets.password,
                timeout: Duration::from_secs(config.timeout_seconds.unwrap_or(30)),
            },
            glob: config.glob.clone().unwrap_or_else(|| "*".into()),
            min_age: Duration::from_secs(config.min_age_seconds.unwrap_or(120)),
            after: config.after.unwrap_or_default(),
            move_to,
            max_bytes,
            path,
            spool: Spool::default(),
            connection: None,
        }
    }

    /// Downloads into this spool (default: `apsync-spool` in the system's temporary folder).
    pub fn with_spool(mut self, spool: Spool) -> Self {
        self.spool = spool;
        self
    }

    fn at(&self) -> String {
        format!("{}@{}:{}", self.target.user, self.target.host, self.target.port)
    }

    async fn session(&mut self) -> Result<&russh_sftp::client::SftpSession, SourceError> {
        if self.connection.is_none() {
            self.connection = Some(connect(&self.target).await?);
        }
        match &self.connection {
            Some(c) => Ok(&c.sftp),
            None => Err(SourceError::new(
                ErrorKind::Transient,
                ErrorCode::SftpSsh,
                "not connected",
            )),
        }
    }

    /// Drops the connection after a failure, so the next call reconnects.
    async fn reset_on<T>(&mut self, result: Result<T, SourceError>) -> Result<T, SourceError> {
        if let Err(e) = &result
            && e.kind == ErrorKind::Transient
            && let Some(c) = self.connection.take()
        {
            c.close().await;
        }
        result
    }

    /// The SHA-256 of a remote file, read through 64 KiB at a time and never held whole.
    async fn digest(&mut self, remote: &str) -> Result<String, SourceError> {
        use tokio::io::AsyncReadExt;
        let at = self.at();
        let sftp = self.session().await?;
        let mut file = sftp
            .open(remote)
            .await
            .map_err(|e| sftp_error(&at, "read", remote, e))?;
        let mut hash = Sha256Hex::default();
        let mut part = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut part).await.map_err(|e| {
                SourceError::new(
                    ErrorKind::Transient,
                    ErrorCode::SftpIo,
                    format!("{at}: reading `{remote}` for its digest broke off: {e}"),
                )
            })?;
            if n == 0 {
                return Ok(hash.finish().0);
            }
            hash.update(&part[..n]);
        }
    }

    /// Lists the matching regular files with their size and mtime (seconds).
    async fn list(&mut self) -> Result<Vec<(String, u64, u32)>, SourceError> {
        let at = self.at();
        let path = self.path.clone();
        let glob = self.glob.clone();
        let listed = async {
            let sftp = self.session().await?;
            sftp.read_dir(path.as_str())
                .await
                .map_err(|e| sftp_error(&at, "list", &path, e))
        }
        .await;
        let entries = self.reset_on(listed).await?;
        Ok(entries
            .filter(|e| e.file_type().is_file() && glob_matches(&glob, &e.file_name()))
            .map(|e| {
                let m = e.metadata();
                (e.file_name(), m.len(), m.mtime.unwrap_or(0))
            })
            .collect())
    }

    async fn stat(&mut self, name: &str) -> Result<(u64, u32), SourceError> {
        let at = self.at();
        let remote = join(&self.path, name);
        let result = async {
            let sftp = self.session().await?;
            sftp.metadata(remote.as_str())
                .await
                .map_err(|e| sftp_error(&at, "read the details of", &remote, e))
        }
        .await;
        let m = self.reset_on(result).await?;
        Ok((m.len(), m.mtime.unwrap_or(0)))
    }
}

/// `name|size|mtime`: a file rewritten with other content is a new item.
fn external_id(name: &str, size: u64, mtime: u32) -> String {
    format!("{name}|{size}|{mtime}")
}

#[async_trait]
impl Source for SftpSource {
    async fn check(&mut self) -> Result<(), SourceError> {
        self.list().await.map(|_| ())
    }

    async fn discover(&mut self, checkpoint: &Checkpoint, limit: usize) -> Result<Vec<ItemRef>, SourceError> {
        let seen = seen(checkpoint);
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let mut items: Vec<ItemRef> = self
            .list()
            .await?
            .into_iter()
            // A file still being written has a recent mtime: it waits for a later run.
            .filter(|(_, _, mtime)| now.saturating_sub(u64::from(*mtime)) >= self.min_age.as_secs())
            .map(|(name, size, mtime)| ItemRef {
                external_id: external_id(&name, size, mtime),
                display_name: name,
            })
            .filter(|i| !seen.seen.contains(&i.external_id))
            .collect();
        items.sort_by(|a, b| a.display_name.cmp(&b.display_name));
        items.truncate(limit);
        Ok(items)
    }

    async fn fetch(&mut self, item: &ItemRef) -> Result<Fetched, SourceError> {
        let at = self.at();
        let name = item.display_name.clone();
        let remote = join(&self.path, &name);
        let (size, mtime) = self.stat(&name).await?;
        if external_id(&name, size, mtime) != item.external_id {
            return Err(SourceError::new(
                ErrorKind::Transient,
                ErrorCode::SftpChanged,
                format!(
                    "{at}: `{remote}` changed since it was listed (still being written?); it is left for the next run"
                ),
            ));
        }
        if size > self.max_bytes {
            // Recorded with its digest, so the same file sent again is known, but never held:
            // its bytes are read through once, 64 KiB at a time, and dropped.
            let digest = self.digest(&remote).await;
            let sha256 = self.reset_on(digest).await?;
            return Ok(Fetched::Refused(Refusal {
                external_id: item.external_id.clone(),
                display_name: printable(&name, 200),
                code: ErrorCode::SftpTooBig,
                reason: format!(
                    "the file is {size} bytes, over the provider's limit of {} bytes (format.limits.max_file_bytes); it was not downloaded: ask the provider for a smaller file or raise the limit",
                    self.max_bytes
                ),
                sender: None,
                verdict: None,
                size: Some(size),
                sha256: Some(sha256),
                received_at: DateTime::<Utc>::from_timestamp(i64::from(mtime), 0).unwrap_or_else(Utc::now),
                metadata: serde_json::json!({ "host": self.target.host, "path": remote }),
            }));
        }
        // Streamed to a spool file, and never more than the limit (+1, to tell a file that grew
        // past it).
        let spool = self.spool.path("sftp").await?;
        let limit = self.max_bytes;
        let result = async {
            let sftp = self.session().await?;
            let file = sftp
                .open(remote.as_str())
                .await
                .map_err(|e| sftp_error(&at, "download", &remote, e))?;
            let broke = |e: std::io::Error| {
                SourceError::new(
                    ErrorKind::Transient,
                    ErrorCode::SftpIo,
                    format!("{at}: the download of `{remote}` broke off: {e}"),
                )
            };
            let mut out = tokio::fs::File::create(&spool).await.map_err(broke)?;
            let copied = tokio::io::copy(
                &mut tokio::io::AsyncReadExt::take(file, limit.saturating_add(1)),
                &mut out,
            )
            .await
            .map_err(broke)?;
            tokio::io::AsyncWriteExt::flush(&mut out).await.map_err(broke)?;
            Ok(copied)
        }
        .await;
        let copied = match self.reset_on(result).await {
            Ok(n) => n,
            Err(e) => {
                let _ = tokio::fs::remove_file(&spool).await;
                return Err(e);
            }
        };
        // Growing while we read: the bytes may be torn, so take it next time.
        let after = self.stat(&name).await;
        if after.as_ref().ok() != Some(&(size, mtime)) || copied != size {
            let _ = tokio::fs::remove_file(&spool).await;
            after?;
            return Err(SourceError::new(
                ErrorKind::Transient,
                ErrorCode::SftpChanged,
                format!(
                    "{at}: `{remote}` changed while it was downloaded (still being written?); it is left for the next run"
                ),
            ));
        }
        let received_at = DateTime::<Utc>::from_timestamp(i64::from(mtime), 0).unwrap_or_else(Utc::now);
        Ok(Fetched::Document(Document {
            body: Body::Spool(spool),
            file_name: name,
            media_type: None,
            external_id: item.external_id.clone(),
            received_at,
            metadata: serde_json::json!({ "host": self.target.host, "path": remote }),
            hold_for_review: None,
        }))
    }

    fn advance(&self, checkpoint: &Checkpoint, done: &[ItemRef]) -> Checkpoint {
        let mut seen = seen(checkpoint);
        seen.seen.extend(done.iter().map(|i| i.external_id.clone()));
        let excess = seen.seen.len().saturating_sub(SEEN_LIMIT);
        seen.seen.drain(..excess);
        Checkpoint(serde_json::to_value(seen).unwrap_or_default())
    }

    async fn acknowledge(&mut self, item: &ItemRef, outcome: Outcome) -> Result<(), SourceError> {
        let at = self.at();
        let from = join(&self.path, &item.display_name);
        // A rejected file is never deleted: a person needs to see it.
        let action = match (self.after, outcome) {
            (After::Delete, Outcome::Rejected | Outcome::Refused) => After::Keep,
            (a, _) => a,
        };
        match (action, self.move_to.clone()) {
            (After::Keep, _) | (After::Move, None) => Ok(()),
            (After::Delete, _) => {
                let result = async {
                    self.session()
                        .await?
                        .remove_file(from.as_str())
                        .await
                        .map_err(|e| sftp_error(&at, "delete", &from, e))
                }
                .await;
                self.reset_on(result).await
            }
            (After::Move, Some(dir)) => self.move_into(item, &dir).await,
        }
    }

    async fn quarantine(&mut self, item: &ItemRef) -> Result<(), SourceError> {
        let dir = join(&self.path, apsync_connector_core::QUARANTINE_FOLDER);
        self.move_into(item, &dir).await
    }
}

impl SftpSource {
    /// Moves an item's file into the remote folder `dir` (created if need be), under a free name.
    async fn move_into(&mut self, item: &ItemRef, dir: &str) -> Result<(), SourceError> {
        let at = self.at();
        let from = join(&self.path, &item.display_name);
        let result = async {
            let sftp = self.session().await?;
            if !sftp.try_exists(dir).await.unwrap_or(false) {
                sftp.create_dir(dir)
                    .await
                    .map_err(|e| sftp_error(&at, "create", dir, e))?;
            }
            // A free name, looked for a bounded number of times: a folder holding a thousand
            // copies of one name is a problem for a person, not a loop.
            let mut to = join(dir, &item.display_name);
            let mut n = 1;
            while sftp.try_exists(to.as_str()).await.unwrap_or(false) {
                if n > MAX_RENAME_TRIES {
                    return Err(SourceError::new(
                        ErrorKind::Config,
                        ErrorCode::SftpMove,
                        format!(
                            "{at}: `{dir}` already holds `{}` and {MAX_RENAME_TRIES} numbered copies of it; clear that folder",
                            item.display_name
                        ),
                    ));
                }
                to = join(dir, &format!("{}.{n}", item.display_name));
                n += 1;
            }
            sftp.rename(from.as_str(), to.as_str())
                .await
                .map_err(|e| sftp_error(&at, "move", &from, e))
        }
        .await;
        self.reset_on(result).await
    }
}
