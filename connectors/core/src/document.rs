//! What a connector hands the daemon.

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

/// One fetched return: the raw bytes and where they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The file's bytes, exactly as received.
    pub bytes: Vec<u8>,
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
}
