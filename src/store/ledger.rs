//! What enters the document ledger: a fetched return (whole, or described for streaming), how
//! much of it became marks, the checkpoint that moves on with it, and what recording it did.
//! Types only, so that the import (which writes them) and the readers share them without
//! importing each other.

use chrono::{DateTime, Utc};
use serde::Serialize;

use apsync_connector_core::Checkpoint;

/// How much of a document became marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentStatus {
    /// Every row became a mark (or was blank).
    Imported,
    /// Some rows went to review; the rest became marks.
    PartlyImported,
    /// The file could not be read at all; nothing of it was written.
    Rejected,
}

impl DocumentStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentStatus::Imported => "imported",
            DocumentStatus::PartlyImported => "partly-imported",
            DocumentStatus::Rejected => "rejected",
        }
    }
}

/// A fetched return about to enter the ledger.
#[derive(Debug, Clone)]
pub struct NewDocument {
    /// Whose return it is.
    pub provider_id: String,
    /// The connector that fetched it, or `manual`.
    pub connector: String,
    /// Identity upstream (path+size+mtime, UIDVALIDITY+UID, ...).
    pub external_id: String,
    /// The file name.
    pub file_name: String,
    /// Media type if known.
    pub media_type: Option<String>,
    /// The raw bytes, kept so any import can be checked or replayed.
    pub bytes: Vec<u8>,
    /// Transport details (sender, message id) as JSON.
    pub metadata: serde_json::Value,
    /// When the transport received it.
    pub received_at: DateTime<Utc>,
    /// Set when the file could not be read at all: why.
    pub rejected: Option<String>,
}

impl NewDocument {
    /// The SHA-256 of the bytes, hex: the same bytes from any route import once.
    pub fn sha256(&self) -> String {
        crate::sha256::sha256_hex(&self.bytes)
    }

    /// The ledger entry, without the bytes.
    pub fn entry(&self) -> DocumentEntry {
        DocumentEntry {
            provider_id: self.provider_id.clone(),
            connector: self.connector.clone(),
            external_id: self.external_id.clone(),
            file_name: self.file_name.clone(),
            media_type: self.media_type.clone(),
            sha256: self.sha256(),
            size: self.bytes.len() as u64,
            metadata: self.metadata.clone(),
            received_at: self.received_at,
            rejected: self.rejected.clone(),
        }
    }
}

/// A connector's checkpoint moving on with the document it fetched.
#[derive(Debug, Clone, Copy)]
pub struct CheckpointUpdate<'a> {
    /// The connector.
    pub connector: &'a str,
    /// Its position after this document.
    pub checkpoint: &'a Checkpoint,
    /// The version read before fetching; another run having moved it aborts the transaction.
    pub expected_version: i64,
}

/// What importing one document did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// The ledger row (the earlier one when the bytes were seen before).
    pub document_id: i64,
    /// The same bytes were already imported: nothing was written.
    pub duplicate: bool,
    /// Marks written for sessions that had none.
    pub marks_added: u32,
    /// Marks that replaced an earlier mark of the same provider (the earlier one is in history).
    pub marks_replaced: u32,
    /// Marks identical to the current ones.
    pub marks_unchanged: u32,
    /// Rows held for a person, including conflicts with another provider.
    pub review_items: u32,
}

/// The size of the parts a document's bytes are kept in.
pub const PART_BYTES: usize = 1024 * 1024;

/// A document about to enter the ledger, described without its bytes (they follow in parts).
#[derive(Debug, Clone)]
pub struct DocumentEntry {
    /// Whose return it is.
    pub provider_id: String,
    /// The connector that fetched it, or `manual`.
    pub connector: String,
    /// Identity upstream (path+size+mtime, UIDVALIDITY+UID, ...).
    pub external_id: String,
    /// The file name.
    pub file_name: String,
    /// Media type if known.
    pub media_type: Option<String>,
    /// The SHA-256 of the bytes, hex: the same bytes from any route import once.
    pub sha256: String,
    /// The number of bytes.
    pub size: u64,
    /// Transport details (sender, message id) as JSON.
    pub metadata: serde_json::Value,
    /// When the transport received it.
    pub received_at: DateTime<Utc>,
    /// Set when the file could not be read at all: why.
    pub rejected: Option<String>,
}
