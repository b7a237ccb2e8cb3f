//! The contract every apsync connector implements.
//!
//! A connector fetches providers' returns from one transport (a folder, SFTP, IMAP, an HTTP API)
//! and hands them to the daemon as [`Document`]s. The daemon, not the connector, decides what is
//! new: it stores each document in its ledger together with the connector's new [`Checkpoint`] in
//! one transaction, and only after that commit calls [`Source::acknowledge`]. So a crash at any
//! point loses nothing and imports nothing twice.

pub mod digest;
mod document;
mod error;
mod glob;
pub mod net;
pub mod oauth2;
mod secret;
pub mod spool;
mod text;
pub mod web;

use async_trait::async_trait;

pub use document::{Body, Checkpoint, Document, Fetched, ItemRef, Refusal};
pub use error::{ErrorCode, ErrorKind, SourceError};
pub use glob::matches as glob_matches;
pub use oauth2::OAuth2Config;
pub use secret::Secret;
pub use text::printable;

/// What happened to a document after the daemon committed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Imported (wholly or partly) or recognised as already imported.
    Imported,
    /// Recorded as rejected: unreadable or too large.
    Rejected,
    /// Recorded as refused: an email from a stranger, or whose sender was not authenticated.
    Refused,
}

/// A provider-side store of returns.
///
/// Implementations hold their connection state; the daemon calls the methods in order
/// `check` (optional) → `discover` → `fetch` per item → (commit) → `acknowledge` per item.
#[async_trait]
pub trait Source: Send {
    /// Proves connectivity and permissions without changing anything upstream.
    async fn check(&mut self) -> Result<(), SourceError>;

    /// Lists items not yet covered by `checkpoint`, at most `limit` of them, oldest first.
    async fn discover(&mut self, checkpoint: &Checkpoint, limit: usize) -> Result<Vec<ItemRef>, SourceError>;

    /// Downloads one item: a return, or an item to record as refused (never imported).
    async fn fetch(&mut self, item: &ItemRef) -> Result<Fetched, SourceError>;

    /// The checkpoint after `done` have been committed. Pure: no I/O.
    fn advance(&self, checkpoint: &Checkpoint, done: &[ItemRef]) -> Checkpoint;

    /// Tidies upstream (moves, deletes or flags the item) after the commit. A failure here is
    /// harmless: the ledger recognises the item if it is offered again.
    async fn acknowledge(&mut self, item: &ItemRef, outcome: Outcome) -> Result<(), SourceError>;

    /// Sets aside an item that failed run after run (the daemon has recorded it and moves the
    /// checkpoint past it): a folder or SFTP file goes to `failed/`, a message is flagged. The
    /// default leaves it where it is.
    async fn quarantine(&mut self, item: &ItemRef) -> Result<(), SourceError> {
        let _ = item;
        Ok(())
    }
}

/// The folder a quarantined file is moved to, under the folder it was found in.
pub const QUARANTINE_FOLDER: &str = "failed";
