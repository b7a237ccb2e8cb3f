//! A folder that providers' returns are dropped into (a share, an SFTP chroot synced locally, or a
//! form export): each matching file becomes a document; after the daemon commits it, the file is
//! moved to a `processed` folder (or left where it is, remembered in the checkpoint).

mod names;

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use apsync_connector_core::digest::Sha256Hex;
use apsync_connector_core::{
    Body, Checkpoint, Document, ErrorCode, ErrorKind, Fetched, ItemRef, Outcome, Refusal, Source, SourceError,
    printable,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use apsync_connector_core::glob_matches;

/// `[connector.folder]` in the daemon configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct FolderConfig {
    /// The folder to read.
    pub path: Option<PathBuf>,
    /// Which file names to take, `*` and `?` wildcards, case-insensitive. Default `*`.
    pub glob: Option<String>,
    /// Where files go after they are imported, relative to `path` or absolute. Without it files
    /// stay, and the checkpoint remembers which were read.
    pub processed: Option<PathBuf>,
    /// Where files that could not be read go (default: `processed`).
    pub rejected: Option<PathBuf>,
    /// Files modified less than this many seconds ago may still be being written, and wait for
    /// the next run. Default 60.
    pub min_age_seconds: Option<u64>,
}

impl FolderConfig {
    /// Pure checks, every problem at once as `(key, message)` with keys relative to the table.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        match &self.path {
            None => problems.push(("path", "missing: the folder returns are dropped into".to_string())),
            Some(p) if !p.is_absolute() => {
                problems.push(("path", format!("`{}` must be an absolute path", p.display())));
            }
            Some(_) => {}
        }
        if let Some(g) = &self.glob
            && g.trim().is_empty()
        {
            problems.push(("glob", "empty: use `*` for every file, or e.g. `*.csv`".to_string()));
        }
        problems
    }
}

/// The checkpoint when files stay in place: the files already read, as `name|size|mtime`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Seen {
    #[serde(default)]
    seen: Vec<String>,
}

/// A folder source.
#[derive(Debug)]
pub struct FolderSource {
    path: PathBuf,
    glob: String,
    processed: Option<PathBuf>,
    rejected: Option<PathBuf>,
    min_age: Duration,
    max_bytes: u64,
    /// The names as the folder holds them, by the name shown (the item's display name; they
    /// differ for names that are not UTF-8, see [`names`]).
    raw_names: HashMap<String, OsString>,
}

impl FolderSource {
    /// A source over a validated configuration; files over `max_bytes` are refused unread.
    pub fn new(config: &FolderConfig, max_bytes: u64) -> Self {
        let path = config.path.clone().unwrap_or_default();
        let under = |p: &PathBuf| if p.is_absolute() { p.clone() } else { path.join(p) };
        let processed = config.processed.as_ref().map(under);
        FolderSource {
            glob: config.glob.clone().unwrap_or_else(|| "*".into()),
            rejected: config.rejected.as_ref().map(under).or_else(|| processed.clone()),
            processed,
            min_age: Duration::from_secs(config.min_age_seconds.unwrap_or(60)),
            max_bytes,
            path,
            raw_names: HashMap::new(),
        }
    }

    /// The same source ignoring file age (for `apsync import`-like one-off runs and tests).
    pub fn without_min_age(mut self) -> Self {
        self.min_age = Duration::ZERO;
        self
    }

    /// The SHA-256 and size of a file, read 64 KiB at a time.
    async fn digest(&self, path: &Path) -> Result<(String, u64), SourceError> {
        use tokio::io::AsyncReadExt;
        let mut file = tokio::fs::File::open(path)
            .await
            .map_err(|e| self.io_error("read", path, e))?;
        let mut hash = Sha256Hex::default();
        let mut part = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut part).await.map_err(|e| self.io_error("read", path, e))?;
            if n == 0 {
                return Ok(hash.finish());
            }
            hash.update(&part[..n]);
        }
    }

    /// The file's name in the folder: the bytes found at discovery for a name shown escaped.
    fn raw_name<'a>(&'a self, item: &'a ItemRef) -> &'a OsStr {
        self.raw_names
            .get(&item.display_name)
            .map_or_else(|| OsStr::new(&item.display_name), OsString::as_os_str)
    }

    fn io_error(&self, what: &str, path: &Path, e: std::io::Error) -> SourceError {
        let kind = match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => ErrorKind::Config,
            _ => ErrorKind::Transient,
        };
        SourceError::new(
            kind,
            ErrorCode::FolderIo,
            format!(
                "cannot {what} {}: {e}; check the folder exists and the apsync user may read and write it",
                names::shown(path.as_os_str())
            ),
        )
        .with_source(e)
    }
}

fn seen(checkpoint: &Checkpoint) -> Seen {
    serde_json::from_value(checkpoint.0.clone()).unwrap_or_default()
}

/// `name|size|mtime-seconds`: a changed file is a new item.
fn external_id(name: &str, meta: &std::fs::Metadata) -> String {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .unwrap_or_default();
    format!("{name}|{}|{}", meta.len(), mtime.as_secs())
}

#[async_trait]
impl Source for FolderSource {
    async fn check(&mut self) -> Result<(), SourceError> {
        let mut entries = tokio::fs::read_dir(&self.path)
            .await
            .map_err(|e| self.io_error("read the folder", &self.path, e))?;
        entries
            .next_entry()
            .await
            .map_err(|e| self.io_error("list the folder", &self.path, e))?;
        Ok(())
    }

    async fn discover(&mut self, checkpoint: &Checkpoint, limit: usize) -> Result<Vec<ItemRef>, SourceError> {
        let seen = seen(checkpoint);
        let mut entries = tokio::fs::read_dir(&self.path)
            .await
            .map_err(|e| self.io_error("read the folder", &self.path, e))?;
        let now = SystemTime::now();
        let mut items = Vec::new();
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|e| self.io_error("read the folder", &self.path, e))?
        {
            let raw = entry.file_name();
            let mut name = names::shown(&raw);
            let Ok(meta) = entry.metadata().await else { continue };
            if !meta.is_file() || !glob_matches(&self.glob, &name) {
                continue;
            }
            let young = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_none_or(|age| age < self.min_age);
            let id = external_id(&name, &meta);
            if young || seen.seen.contains(&id) {
                continue;
            }
            // A name shown escaped and another holding a literal `\xE9` would look alike: the
            // one found second is shown with a `~` added.
            while self.raw_names.get(&name).is_some_and(|r| *r != raw) {
                name.push('~');
            }
            self.raw_names.insert(name.clone(), raw);
            items.push(ItemRef {
                external_id: id,
                display_name: name,
            });
        }
        // Name order is the order providers' dated file names sort in: corrections come last.
        items.sort_by(|a, b| a.display_name.cmp(&b.display_name));
        items.truncate(limit);
        Ok(items)
    }

    async fn fetch(&mut self, item: &ItemRef) -> Result<Fetched, SourceError> {
        let path = self.path.join(self.raw_name(item));
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|e| self.io_error("read", &path, e))?;
        if meta.len() > self.max_bytes {
            // Recorded with its digest (read a part at a time), never held whole.
            let (sha256, size) = self.digest(&path).await?;
            return Ok(Fetched::Refused(Refusal {
                external_id: item.external_id.clone(),
                display_name: printable(&item.display_name, 200),
                code: ErrorCode::FolderTooBig,
                reason: format!(
                    "the file is {size} bytes, over the provider's limit of {} bytes (format.limits.max_file_bytes); it was not imported: ask the provider for a smaller file or raise the limit",
                    self.max_bytes
                ),
                sender: None,
                verdict: None,
                size: Some(size),
                sha256: Some(sha256),
                received_at: meta.modified().map(DateTime::from).unwrap_or_else(|_| Utc::now()),
                metadata: serde_json::json!({ "path": names::shown(path.as_os_str()) }),
            }));
        }
        let received_at: DateTime<Utc> = meta.modified().map(DateTime::from).unwrap_or_else(|_| Utc::now());
        // Read where it lies, a part at a time, by the importer: never held whole.
        Ok(Fetched::Document(Document {
            body: Body::File(path.clone()),
            file_name: item.display_name.clone(),
            media_type: None,
            external_id: item.external_id.clone(),
            received_at,
            metadata: serde_json::json!({ "path": names::shown(path.as_os_str()) }),
            hold_for_review: None,
        }))
    }

    fn advance(&self, checkpoint: &Checkpoint, done: &[ItemRef]) -> Checkpoint {
        if self.processed.is_some() {
            // Files leave the folder, so there is nothing to remember.
            return checkpoint.clone();
        }
        let mut seen = seen(checkpoint);
        // Bounded: the oldest entries go first, and a file forgotten that way is recognised by
        // the daemon's ledger if it is ever offered again.
        seen.seen.extend(done.iter().map(|i| i.external_id.clone()));
        let excess = seen.seen.len().saturating_sub(10_000);
        seen.seen.drain(..excess);
        Checkpoint(serde_json::to_value(seen).unwrap_or_default())
    }

    async fn acknowledge(&mut self, item: &ItemRef, outcome: Outcome) -> Result<(), SourceError> {
        let target = match outcome {
            Outcome::Imported => &self.processed,
            Outcome::Rejected | Outcome::Refused => &self.rejected,
        };
        let Some(dir) = target.clone() else { return Ok(()) };
        self.move_into(item, &dir).await
    }

    async fn quarantine(&mut self, item: &ItemRef) -> Result<(), SourceError> {
        let dir = self.path.join(apsync_connector_core::QUARANTINE_FOLDER);
        self.move_into(item, &dir).await
    }
}

impl FolderSource {
    /// Moves an item's file into `dir` (created if need be), under a free name.
    async fn move_into(&self, item: &ItemRef, dir: &Path) -> Result<(), SourceError> {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| self.io_error("create", dir, e))?;
        let raw = self.raw_name(item);
        let from = self.path.join(raw);
        let mut to = dir.join(raw);
        let mut n = 1;
        while tokio::fs::try_exists(&to).await.unwrap_or(false) {
            // Bounded: a folder holding a thousand copies of one name needs a person.
            if n > 1000 {
                return Err(SourceError::new(
                    ErrorKind::Config,
                    ErrorCode::FolderIo,
                    format!(
                        "{} already holds {} and 1000 numbered copies of it; clear that folder",
                        names::shown(dir.as_os_str()),
                        names::shown(raw)
                    ),
                ));
            }
            let mut numbered = raw.to_os_string();
            numbered.push(format!(".{n}"));
            to = dir.join(numbered);
            n += 1;
        }
        tokio::fs::rename(&from, &to)
            .await
            .map_err(|e| self.io_error("move", &from, e))
    }
}

#[cfg(test)]
mod tests;
