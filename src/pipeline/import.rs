//! Importing one document: the one stage of the pipeline that touches the store.
//!
//! bytes → [`decode`](super::decode()) → [`normalise`](super::normalise::normalise) → one store
//! transaction (ledger row, marks with history, review rows). A file that cannot be read at all
//! is still recorded, as rejected with its reason, so nothing a provider sent is lost.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::normalise::{ProviderRules, RosterIndex, normalise};
use crate::config::{Config, ProviderConfig};
use crate::roster::PlacementRecord;
use crate::store::{CheckpointUpdate, ImportSummary, NewDocument, Store, StoreError};

/// A document as a connector or `apsync import` hands it over.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The file name (used for dates in file names and shown to people).
    pub file_name: String,
    /// The raw bytes.
    pub bytes: Vec<u8>,
    /// The connector that fetched it, or `manual`.
    pub connector: String,
    /// Identity upstream.
    pub external_id: String,
    /// Media type, when known.
    pub media_type: Option<String>,
    /// Transport details worth keeping.
    pub metadata: serde_json::Value,
    /// When the transport received it.
    pub received_at: DateTime<Utc>,
}

/// What importing a document did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    /// The file name.
    pub file_name: String,
    /// The store's counts.
    #[serde(flatten)]
    pub summary: ImportSummary,
    /// Why the file could not be read at all, when it could not.
    pub rejected: Option<String>,
}

/// Importing failed before anything was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The provider has no format to read its files with.
    #[error(
        "provider `{0}` has no format, so its files cannot be read: add [provider.format] or format_file to its entry (see docs/formats.md)"
    )]
    NoFormat(String),
    /// The store failed; nothing of the document was written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The roster as matching needs it, loaded once for a batch of documents.
pub struct RosterSnapshot {
    index: RosterIndex,
    placements: Vec<PlacementRecord>,
}

impl RosterSnapshot {
    /// Reads the pupils and placements from the store.
    pub async fn load(store: &Store) -> Result<RosterSnapshot, StoreError> {
        let pupils = store.pupils().await?.into_iter().map(|p| p.record).collect();
        let placements = store.placements().await?;
        Ok(RosterSnapshot {
            index: RosterIndex::new(pupils, &placements),
            placements,
        })
    }
}

/// Decodes, normalises and stores one document of `provider`, moving the connector's checkpoint
/// on in the same transaction when one is given.
pub async fn import(
    store: &Store,
    config: &Config,
    roster: &RosterSnapshot,
    provider: &ProviderConfig,
    incoming: Incoming,
    checkpoint: Option<CheckpointUpdate<'_>>,
    now: DateTime<Utc>,
) -> Result<ImportOutcome, ImportError> {
    let format = provider
        .format
        .as_ref()
        .ok_or_else(|| ImportError::NoFormat(provider.id.clone()))?;
    let (normalised, rejected) = match super::decode(&incoming.bytes, &incoming.file_name, format) {
        Ok(decoded) => {
            let rules = ProviderRules {
                id: &provider.id,
                present_code: provider.present_code,
                marks: &format.marks,
            };
            (
                normalise(decoded, rules, &roster.index, &roster.placements, &config.calendar),
                None,
            )
        }
        Err(e) => (Default::default(), Some(e.to_string())),
    };
    let document = NewDocument {
        provider_id: provider.id.clone(),
        connector: incoming.connector,
        external_id: incoming.external_id,
        file_name: incoming.file_name.clone(),
        media_type: incoming.media_type,
        bytes: incoming.bytes,
        metadata: incoming.metadata,
        received_at: incoming.received_at,
        rejected: rejected.clone(),
    };
    let summary = store
        .import_document(&document, &normalised.marks, &normalised.reviews, checkpoint, now)
        .await?;
    Ok(ImportOutcome {
        file_name: incoming.file_name,
        summary,
        rejected,
    })
}
