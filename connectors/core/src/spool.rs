//! Spool files: where a connector puts a download, so a return is imported from disk a part at
//! a time instead of being held in memory. The daemon removes each once its return is recorded;
//! files left by a process that died are swept after a day.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::{ErrorCode, ErrorKind, SourceError};

/// Spool files made by this process, numbered.
static MADE: AtomicU64 = AtomicU64::new(0);
/// Whether this process has swept the folder yet.
static SWEPT: AtomicBool = AtomicBool::new(false);

/// Files older than this in the spool folder were left by a process that died.
const STALE: Duration = Duration::from_secs(24 * 3600);

/// A folder for spool files.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

impl Default for Spool {
    /// `apsync-spool` in the system's temporary folder (private to the service under systemd's
    /// `PrivateTmp=`).
    fn default() -> Self {
        Spool {
            dir: std::env::temp_dir().join("apsync-spool"),
        }
    }
}

impl Spool {
    /// Spool files in `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Spool { dir }
    }

    /// A new spool file's path (the folder created, and swept once per process).
    pub async fn path(&self, kind: &str) -> Result<PathBuf, SourceError> {
        tokio::fs::create_dir_all(&self.dir).await.map_err(|e| {
            SourceError::new(
                ErrorKind::Config,
                ErrorCode::Spool,
                format!(
                    "cannot create the spool folder {}: {e}; check the apsync user may write there",
                    self.dir.display()
                ),
            )
        })?;
        if !SWEPT.swap(true, Ordering::SeqCst) {
            self.sweep().await;
        }
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        Ok(self.dir.join(format!("{kind}-{}-{n}.part", std::process::id())))
    }

    /// Writes `bytes` to a new spool file.
    pub async fn write(&self, kind: &str, bytes: &[u8]) -> Result<PathBuf, SourceError> {
        let path = self.path(kind).await?;
        tokio::fs::write(&path, bytes).await.map_err(|e| {
            SourceError::new(
                ErrorKind::Transient,
                ErrorCode::Spool,
                format!("cannot write the spool file {}: {e}; is the disk full?", path.display()),
            )
        })?;
        Ok(path)
    }

    async fn sweep(&self) {
        let Ok(mut entries) = tokio::fs::read_dir(&self.dir).await else {
            return;
        };
        while let Ok(Some(entry)) = entries.next_entry().await {
            let old = entry
                .metadata()
                .await
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > STALE);
            if old && entry.file_name().to_string_lossy().ends_with(".part") {
                let _ = tokio::fs::remove_file(entry.path()).await;
            }
        }
    }
}
