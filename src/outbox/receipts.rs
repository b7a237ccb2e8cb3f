//! Receipts: a receiver's acceptance written down the moment it is known, outside the database.
//!
//! On SQLite the row's `delivered` needs the one write lock, which an import or the rules may hold
//! for tens of milliseconds; a sender killed while it waits has been accepted by the receiver but
//! has not said so, and its row goes again: for an email, a second copy. One `write(2)` to a file
//! beside the database needs no lock and survives the process (the kernel has it), so the window
//! where a kill makes a repeat shrinks to the instants between the server's reply and that write.
//! A later sender that takes a row whose last attempt never ended looks here first.
//!
//! This narrows the window; it cannot close it (a kill between the reply and the write still
//! repeats, and a power cut may lose an unsynced receipt: then the row goes again, as before).
//! Receipts are an optimisation over at-least-once, never a reason to skip a delivery that is not
//! written here. On PostgreSQL an outcome's write waits only for its own row, so there are none.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

/// Above this size the file is emptied at the start of a pass: every receipt in it has long been
/// recorded on its row, except perhaps one a concurrent sender is about to record, whose loss
/// would only mean the baseline (sent again) if that sender then died too.
const COMPACT_ABOVE: u64 = 64 * 1024;

/// The receipts file of one database.
#[derive(Debug, Clone)]
pub struct Receipts {
    path: PathBuf,
    db: PathBuf,
}

impl Receipts {
    /// The receipts of the SQLite database at `db`: `<db>.receipts` beside it.
    pub fn beside(db: &Path) -> Receipts {
        let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(".receipts");
        Receipts {
            path: db.with_file_name(name),
            db: db.to_path_buf(),
        }
    }

    /// Writes down that the receiver accepted the attempt of row `id` that began at `attempt`.
    pub fn record(&self, id: i64, attempt: DateTime<Utc>, remote_id: Option<&str>) -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)?;
        // Made by `sudo apsync sync`, it would be root's and the daemon could not write to it:
        // give it the database's owner (only root can; for anyone else it is theirs already).
        if let (Ok(mine), Ok(db)) = (file.metadata(), std::fs::metadata(&self.db))
            && mine.uid() != db.uid()
        {
            let _ = std::os::unix::fs::fchown(&file, Some(db.uid()), Some(db.gid()));
        }
        // One write of one line, appended: concurrent senders' lines never interleave.
        file.write_all(line(id, attempt, remote_id).as_bytes())
    }

    /// The receiver's id when the attempt of row `id` that began at `attempt` was accepted
    /// (`Some(None)` when it gave none); `None` when there is no receipt for it.
    pub fn find(&self, id: i64, attempt: DateTime<Utc>) -> std::io::Result<Option<Option<String>>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(lookup(&text, id, attempt))
    }

    /// Empties the file when it has grown past [`COMPACT_ABOVE`].
    pub fn compact(&self) -> std::io::Result<()> {
        match std::fs::metadata(&self.path) {
            Ok(m) if m.len() > COMPACT_ABOVE => std::fs::File::create(&self.path).map(drop),
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// One receipt: `id <TAB> attempt start in microseconds <TAB> remote id`. Microseconds, because
/// that is what both backends keep of a timestamp.
pub fn line(id: i64, attempt: DateTime<Utc>, remote_id: Option<&str>) -> String {
    let remote: String = remote_id
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    format!("{id}\t{}\t{remote}\n", attempt.timestamp_micros())
}

/// Finds the receipt for row `id`'s attempt that began at `attempt` in a file's text; lines that
/// do not parse (a torn last line after a crash) are skipped.
pub fn lookup(text: &str, id: i64, attempt: DateTime<Utc>) -> Option<Option<String>> {
    let want = (id.to_string(), attempt.timestamp_micros().to_string());
    text.lines().find_map(|l| {
        let mut f = l.splitn(3, '\t');
        let (i, at, remote) = (f.next()?, f.next()?, f.next()?);
        (i == want.0 && at == want.1).then(|| Some(remote.to_string()).filter(|r| !r.is_empty()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_receipt_is_found_only_for_its_row_and_attempt() {
        let first = at("2026-03-13T16:30:00.123456789Z");
        let text = [
            line(7, first, Some("250 OK\tqueued as\nX1")),
            line(8, first, None),
            "9\t12".to_string(),
        ]
        .concat();
        assert_eq!(lookup(&text, 7, first), Some(Some("250 OKqueued asX1".into())));
        assert_eq!(lookup(&text, 8, first), Some(None));
        assert_eq!(lookup(&text, 7, at("2026-03-13T16:31:00Z")), None, "another attempt");
        assert_eq!(lookup(&text, 9, first), None, "a torn line is no receipt");
    }

    #[test]
    fn receipts_live_beside_the_database_and_are_emptied_when_large() {
        let dir = tempfile::tempdir().unwrap();
        let r = Receipts::beside(&dir.path().join("apsync.db"));
        assert_eq!(r.path(), dir.path().join("apsync.db.receipts"));
        let t = at("2026-03-13T16:30:00Z");
        assert_eq!(r.find(1, t).unwrap(), None);
        r.record(1, t, Some("R-1")).unwrap();
        r.record(2, t, None).unwrap();
        assert_eq!(r.find(1, t).unwrap(), Some(Some("R-1".into())));
        r.compact().unwrap();
        assert_eq!(r.find(2, t).unwrap(), Some(None), "small files are kept");
        for id in 0..5000 {
            r.record(id, t, None).unwrap();
        }
        r.compact().unwrap();
        assert_eq!(r.find(2, t).unwrap(), None);
    }
}
