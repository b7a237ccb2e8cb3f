//! What a connector hands the daemon.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A connector's opaque position, stored by the daemon between runs (JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Checkpoint(pub serde_json::Value);

impl Checkpoint {
    /// The position before anything was fetched.
    pub fn start() -> Self {
        Checkpoint(serde_json::Value::Null)
    }
}

/// An item a connector found upstream but has not fetched yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRef {
    /// Stable identity upstream: path+size+mtime, UIDVALIDITY+UID, an API cursor.
    pub external_id: String,
    /// A name a person recognises (file name, email subject).
    pub display_name: String,
}

/// Where a fetched return's bytes are: never more than one return's worth is held in memory,
/// and a file is read where it lies or from a spool file, a part at a time.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// In memory (an email's attachment, an API page).
    Bytes(Vec<u8>),
    /// In the provider's own file (a folder connector's), read where it lies.
    File(PathBuf),
    /// In a spool file the connector wrote as it downloaded, removed once the return is recorded.
    Spool(PathBuf),
}

impl Body {
    /// All the bytes (for small files, such as visit exports).
    pub fn read(&self) -> std::io::Result<Vec<u8>> {
        match self {
            Body::Bytes(b) => Ok(b.clone()),
            Body::File(p) | Body::Spool(p) => std::fs::read(p),
        }
    }
}

/// One fetched return: the raw bytes and where they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The file's bytes, exactly as received.
    pub body: Body,
    /// The file name (attachment name, remote file name).
    pub file_name: String,
    /// The media type when the transport says it (e.g. `text/csv`).
    pub media_type: Option<String>,
    /// Stable identity upstream, as in [`ItemRef::external_id`].
    pub external_id: String,
    /// When the transport received it (file mtime, email date, fetch time).
    pub received_at: DateTime<Utc>,
    /// Transport details worth keeping (sender address, message id), as JSON.
    pub metadata: serde_json::Value,
    /// Set when no row of this document may go straight into the register: why (an email whose
    /// sender was not authenticated, accepted knowingly). Every row goes to review instead.
    pub hold_for_review: Option<String>,
}

/// An item the connector will not hand over as a return (a stranger's or an unauthenticated
/// email, a file over the size limit): the daemon records it in the ledger once, with why, and
/// never imports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// Stable identity upstream, as in [`ItemRef::external_id`].
    pub external_id: String,
    /// What a person recognises it by, made printable (no raw control characters).
    pub display_name: String,
    /// Its stable code, e.g. `IMAP-UNAUTHENTICATED`.
    pub code: crate::ErrorCode,
    /// Why, and what to do, for IT.
    pub reason: String,
    /// Who it claims to come from (an email's `From:` address), made printable.
    pub sender: Option<String>,
    /// The authentication verdict seen, if any, made printable.
    pub verdict: Option<String>,
    /// Its size in bytes, when known.
    pub size: Option<u64>,
    /// The SHA-256 of its bytes, hex, when they were read.
    pub sha256: Option<String>,
    /// When the transport received it.
    pub received_at: DateTime<Utc>,
    /// Transport details worth keeping, as JSON.
    pub metadata: serde_json::Value,
}

/// What fetching an item gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// A return to import.
    Document(Document),
    /// An item to record as refused, and never import.
    Refused(Refusal),
}
