//! Importing one document: the one stage of the pipeline that touches the store.
//!
//! bytes → [`decode`](super::decode()) → [`normalise`](super::normalise::normalise) → one store
//! transaction (ledger row, marks with history, review rows). A file that cannot be read at all
//! is still recorded, as rejected with its reason, so nothing a provider sent is lost.

use std::io::Read;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::decode::{ReadError, Survey, survey};
use super::error::{DecodeError, DecodeProblem};
use super::format::CheckedFormat;
use super::normalise::{Normaliser, ProviderRules, RosterIndex};
use super::reading::Reading;
use crate::config::{Config, ProviderConfig};
use crate::roster::PlacementRecord;
use crate::store::{
    CheckpointUpdate, DocumentEntry, ImportSummary, ImportTx, NewOrDuplicate, PART_BYTES, Store, StoreError,
};

/// A document's bytes: in memory (a connector's download, an attachment) or in a file, read
/// as it streams past (`apsync import`, the folder connector).
#[derive(Debug, Clone)]
pub enum Content {
    /// The bytes.
    Bytes(Vec<u8>),
    /// A file to read them from (more than once: a survey, the rows, the ledger's copy).
    File(PathBuf),
}

impl Content {
    /// The bytes from the start.
    pub fn open(&self) -> std::io::Result<Box<dyn Read + Send + '_>> {
        Ok(match self {
            Content::Bytes(bytes) => Box::new(bytes.as_slice()),
            Content::File(path) => Box::new(std::io::BufReader::with_capacity(64 * 1024, std::fs::File::open(path)?)),
        })
    }
}

/// A document as a connector or `apsync import` hands it over.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The file name (used for dates in file names and shown to people).
    pub file_name: String,
    /// The raw bytes.
    pub content: Content,
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
    /// Set when no row may go straight into the register (an email whose sender was not
    /// authenticated, accepted knowingly): why. Every row that would be a mark goes to review.
    pub hold_for_review: Option<String>,
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
    /// The bytes could not be read (a file that went away mid-read); nothing was written.
    #[error("cannot read {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
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

    /// The normaliser for `provider`'s rows (read with `format`), against this roster and the
    /// school calendar; `hold` sends every mark to review, for that reason.
    pub fn normaliser<'a>(
        &'a self,
        config: &'a Config,
        provider: &'a ProviderConfig,
        format: &'a CheckedFormat,
        hold: Option<&'a str>,
    ) -> Normaliser<'a> {
        let rules = ProviderRules {
            id: &provider.id,
            present_code: provider.present_code,
            marks: &format.marks,
        };
        Normaliser::new(rules, &self.index, &self.placements, &config.calendar).holding_for_review(hold)
    }
}

/// Decodes, normalises and stores one document of `provider`, moving the connector's checkpoint
/// on in the same transaction when one is given.
///
/// The file is read a window of rows at a time, each window normalised and staged before the
/// next is read, so memory stays bounded whatever its length. A file that cannot be read at all
/// (found at its start or half way through) leaves nothing of its rows: the transaction rolls
/// back and the document is recorded as rejected, with its bytes and the reason.
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
    let unreadable = |source| ImportError::Read {
        file: incoming.file_name.clone(),
        source,
    };
    let surveyed = survey(|| incoming.content.open(), format.encoding).map_err(unreadable)?;
    let entry = |rejected: Option<String>| DocumentEntry {
        provider_id: provider.id.clone(),
        connector: incoming.connector.clone(),
        external_id: incoming.external_id.clone(),
        file_name: incoming.file_name.clone(),
        media_type: incoming.media_type.clone(),
        sha256: surveyed.sha256.clone(),
        size: surveyed.size,
        metadata: recorded_metadata(&incoming),
        received_at: incoming.received_at,
        rejected,
    };
    let normaliser = roster.normaliser(config, provider, format, incoming.hold_for_review.as_deref());
    let streamed = stream(
        store,
        &incoming,
        &surveyed,
        format,
        &normaliser,
        Begin::New(Box::new(entry(None)), checkpoint),
        now,
    )
    .await?;
    let (summary, rejected) = match streamed {
        StreamOutcome::Done(summary, rejected) => (summary, rejected),
        StreamOutcome::Rejected(problem) => {
            let reason = DecodeError {
                file: incoming.file_name.clone(),
                problem,
            }
            .to_string();
            let summary = match store
                .begin_import(&entry(Some(reason.clone())), checkpoint, now)
                .await?
            {
                NewOrDuplicate::Duplicate { summary, .. } => summary,
                NewOrDuplicate::New(mut tx) => {
                    keep_bytes(&mut tx, &incoming.content).await.map_err(|e| match e {
                        KeepBytesError::Read(e) => unreadable(e),
                        KeepBytesError::Store(e) => ImportError::Store(e),
                    })?;
                    tx.finish(None).await?
                }
            };
            (summary, Some(reason))
        }
    };
    Ok(ImportOutcome {
        file_name: incoming.file_name,
        summary,
        rejected,
    })
}

/// Reads document `id`'s stored bytes again with its provider's current format (after the
/// format was fixed): the new read replaces that document's earlier marks and review items (see
/// `Store::begin_reread`), taking its place among the provider's returns by when it was
/// received; the ledger keeps both reads. A read that fails again leaves things as they were
/// and records the new reason.
pub async fn reread(
    store: &Store,
    config: &Config,
    roster: &RosterSnapshot,
    id: i64,
    now: DateTime<Utc>,
) -> Result<ImportOutcome, ImportError> {
    let doc = store
        .document(id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no document {id}: `apsync documents list` shows the ledger")))?;
    let provider = config
        .provider(&doc.provider)
        .ok_or_else(|| ImportError::NoFormat(doc.provider.clone()))?;
    let format = provider
        .format
        .as_ref()
        .ok_or_else(|| ImportError::NoFormat(provider.id.clone()))?;
    // Held before (an unauthenticated email, or one recorded by an earlier version as such),
    // held again.
    let held = doc
        .metadata
        .get(HELD_KEY)
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            let said = doc.metadata.get("authentication")?.as_str()?;
            said.contains("held for review").then(|| said.to_string())
        });
    let incoming = Incoming {
        file_name: doc.file_name.clone(),
        content: Content::Bytes(store.document_bytes(id).await?),
        connector: doc.connector.clone(),
        external_id: doc.external_id.clone(),
        media_type: doc.media_type.clone(),
        metadata: doc.metadata.clone(),
        received_at: doc.received_at,
        hold_for_review: held,
    };
    let unreadable = |source| ImportError::Read {
        file: incoming.file_name.clone(),
        source,
    };
    let surveyed = survey(|| incoming.content.open(), format.encoding).map_err(unreadable)?;
    let normaliser = roster.normaliser(config, provider, format, incoming.hold_for_review.as_deref());
    let streamed = stream(store, &incoming, &surveyed, format, &normaliser, Begin::Reread(id), now).await?;
    let (summary, rejected) = match streamed {
        StreamOutcome::Done(summary, rejected) => (summary, rejected),
        StreamOutcome::Rejected(problem) => {
            let reason = DecodeError {
                file: incoming.file_name.clone(),
                problem,
            }
            .to_string();
            store.record_reread_rejected(id, &reason, now).await?;
            let summary = crate::store::ImportSummary {
                document_id: id,
                ..Default::default()
            };
            (summary, Some(reason))
        }
    };
    Ok(ImportOutcome {
        file_name: incoming.file_name,
        summary,
        rejected,
    })
}

/// How streaming a document ended.
enum StreamOutcome {
    /// Committed, or found to be a duplicate (with the earlier record's reason for rejecting
    /// it, when it was rejected: the same file gets the same answer).
    Done(ImportSummary, Option<String>),
    /// The file cannot be read as the format says; nothing was written.
    Rejected(DecodeProblem),
}

/// Where a streamed read goes: a new ledger row, or a stored document read again.
enum Begin<'a> {
    New(Box<DocumentEntry>, Option<CheckpointUpdate<'a>>),
    Reread(i64),
}

/// The transport's details as the ledger keeps them, with why its rows are held for review
/// when they are (so that reading the document again holds them too).
fn recorded_metadata(incoming: &Incoming) -> serde_json::Value {
    let mut metadata = incoming.metadata.clone();
    if let (Some(why), Some(map)) = (&incoming.hold_for_review, metadata.as_object_mut()) {
        map.insert(HELD_KEY.into(), serde_json::Value::String(why.clone()));
    }
    metadata
}

/// The ledger metadata key saying why a document's rows are held for review.
const HELD_KEY: &str = "held_for_review";

async fn stream(
    store: &Store,
    incoming: &Incoming,
    surveyed: &Survey,
    format: &CheckedFormat,
    normaliser: &Normaliser<'_>,
    begin: Begin<'_>,
    now: DateTime<Utc>,
) -> Result<StreamOutcome, ImportError> {
    let unreadable = |source| ImportError::Read {
        file: incoming.file_name.clone(),
        source,
    };
    macro_rules! or_reject {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(ReadError::Decode(problem)) => return Ok(StreamOutcome::Rejected(problem)),
                Err(ReadError::Io(e)) => return Err(unreadable(e)),
            }
        };
    }
    let held = incoming.hold_for_review.is_some();
    let open = || incoming.content.open();
    // The header is found before anything is written: most unreadable files stop here.
    let mut reading = or_reject!(Reading::open(
        surveyed,
        open,
        format,
        &incoming.file_name,
        normaliser,
        held
    ));
    let mut tx = match begin {
        Begin::New(entry, checkpoint) => match store.begin_import(&entry, checkpoint, now).await? {
            NewOrDuplicate::Duplicate { summary, rejected } => return Ok(StreamOutcome::Done(summary, rejected)),
            NewOrDuplicate::New(mut tx) => {
                keep_bytes(&mut tx, &incoming.content).await.map_err(|e| match e {
                    KeepBytesError::Read(e) => unreadable(e),
                    KeepBytesError::Store(e) => ImportError::Store(e),
                })?;
                tx
            }
        },
        // Its bytes are in the ledger already.
        Begin::Reread(id) => store.begin_reread(id, now).await?,
    };
    tx.set_report_date(reading.report_date());
    // The first window is the one the header was found in: always there, perhaps without rows.
    let mut normalised = or_reject!(reading.next(&mut |_| {})).unwrap_or_default();
    loop {
        // The database stages this window while the next is read and normalised: the first
        // poll of the staging future hands its statement to the database (SQLite's worker
        // thread, or the PostgreSQL server), then the reading runs to completion beside it.
        let (staged, next) = tokio::join!(tx.stage_marks(&normalised.marks), async { reading.next(&mut |_| {}) });
        staged?;
        tx.add_reviews(&normalised.reviews).await?;
        // Dropping the transaction rolls it back: a file unreadable half way leaves no rows.
        match or_reject!(next) {
            Some(n) => normalised = n,
            None => break,
        }
    }
    let fingerprint = or_reject!(reading.finish());
    // A return saying exactly what an earlier one said writes nothing (see `ImportTx::finish`).
    Ok(StreamOutcome::Done(tx.finish(Some(fingerprint)).await?, None))
}

enum KeepBytesError {
    Read(std::io::Error),
    Store(StoreError),
}

/// Copies the document's bytes into the ledger, a part at a time.
async fn keep_bytes(tx: &mut ImportTx, content: &Content) -> Result<(), KeepBytesError> {
    let mut reader = content.open().map_err(KeepBytesError::Read)?;
    let mut part = vec![0u8; PART_BYTES];
    loop {
        let mut filled = 0;
        while filled < PART_BYTES {
            match reader.read(&mut part[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(KeepBytesError::Read(e)),
            }
        }
        if filled == 0 {
            return Ok(());
        }
        tx.write_part(&part[..filled]).await.map_err(KeepBytesError::Store)?;
        if filled < PART_BYTES {
            return Ok(());
        }
    }
}
