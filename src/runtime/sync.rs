//! One run of one connector: discover, fetch, import (document, marks, review rows and the new
//! checkpoint in one transaction), then acknowledge upstream. A crash anywhere repeats at most
//! the document in flight, and the ledger makes that repeat harmless.

use apsync_connector_core::{Fetched, Outcome, Refusal, Source, SourceError};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::{Config, ConnectorConfig, LoadedConfig};
use crate::pipeline::import::{Content, ImportError, Incoming, RosterSnapshot, import};
use crate::store::{CheckpointUpdate, RunStatus, Store, StoreError};

/// How many items one run takes at most; the rest wait for the next run.
pub const BATCH_LIMIT: usize = 500;

/// What one connector run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// The connector.
    pub connector: String,
    /// Its provider.
    pub provider: String,
    /// Documents imported (duplicates excluded).
    pub documents: i64,
    /// Marks written (added or replaced).
    pub marks: i64,
    /// Rows sent to review.
    pub review_items: i64,
    /// Documents that could not be read, recorded as rejected.
    pub rejected: i64,
    /// Items refused (an email from a stranger, or whose sender was not authenticated): recorded,
    /// never imported, and not a failure of the run.
    pub refused: i64,
    /// The first error, if the run or an item failed.
    pub error: Option<String>,
    /// Its kind (`transient`, `auth`, `config`, `permanent`).
    pub error_kind: Option<String>,
}

/// Runs one connector once, recording the run in `connector_runs`, inside a `connector_run` span.
pub async fn run_connector(
    store: &Store,
    loaded: &LoadedConfig,
    connector: &ConnectorConfig,
    now: DateTime<Utc>,
) -> Result<RunReport, StoreError> {
    run_connector_with(store, loaded, connector, &super::ConfiguredSources, now).await
}

/// [`run_connector`] with its source from `sources`. A panic in the source or the import is
/// caught: the run is recorded as failed (code `PANIC`) and the report says so.
pub async fn run_connector_with(
    store: &Store,
    loaded: &LoadedConfig,
    connector: &ConnectorConfig,
    sources: &dyn super::SourceBuilder,
    now: DateTime<Utc>,
) -> Result<RunReport, StoreError> {
    use tracing::Instrument;
    let span = tracing::info_span!("connector_run", connector = %connector.id, provider = %connector.provider);
    let report = run_connector_unspanned(store, loaded, connector, sources, now)
        .instrument(span.clone())
        .await;
    if let Ok(r) = &report {
        span.in_scope(|| {
            tracing::info!(
                documents = r.documents,
                marks = r.marks,
                review_items = r.review_items,
                rejected = r.rejected,
                refused = r.refused,
                outcome = if r.error.is_some() { "failed" } else { "ok" },
                "connector run finished"
            );
        });
    }
    report
}

async fn run_connector_unspanned(
    store: &Store,
    loaded: &LoadedConfig,
    connector: &ConnectorConfig,
    sources: &dyn super::SourceBuilder,
    now: DateTime<Utc>,
) -> Result<RunReport, StoreError> {
    let config = &loaded.config;
    let mut report = RunReport {
        connector: connector.id.clone(),
        provider: connector.provider.clone(),
        ..Default::default()
    };
    let Some(provider) = config.provider(&connector.provider) else {
        report.error = Some(format!("provider `{}` is not configured", connector.provider));
        report.error_kind = Some("config".into());
        return Ok(report);
    };
    let started = std::time::Instant::now();
    let run_id = store
        .start_run(&connector.id, &crate::outbox::owner::this_process_name(), now)
        .await?;
    let today = now.with_timezone(&config.school.timezone).date_naive();
    let work = super::runs::CatchPanic::new(async {
        let mut source = sources.build(connector, provider, loaded.dir(), today)?;
        fetch_and_import(store, config, connector, provider, source.as_mut(), &mut report, now).await
    });
    let result = work.await.unwrap_or_else(|panicked| {
        tracing::error!(connector = %connector.id, "connector run panicked: {}", panicked.message);
        Err(SourceError::new(
            apsync_connector_core::ErrorKind::Permanent,
            "PANIC",
            panicked.to_string(),
        ))
    });
    if let Err(e) = result {
        tracing::warn!(connector = %connector.id, kind = %e.kind, code = e.code, "connector run failed: {}", e.message);
        report.error.get_or_insert(format!("{}: {}", e.code, e.message));
        report.error_kind.get_or_insert(e.kind.as_str().to_string());
    }
    let status = if report.error.is_some() {
        RunStatus::Failed
    } else {
        RunStatus::Ok
    };
    let error = report.error_kind.as_deref().zip(report.error.as_deref());
    store
        .finish_run(
            run_id,
            status,
            (report.documents, report.marks, report.review_items),
            error,
            now,
            now + started.elapsed(),
        )
        .await?;
    Ok(report)
}

async fn fetch_and_import(
    store: &Store,
    config: &Config,
    connector: &ConnectorConfig,
    provider: &crate::config::ProviderConfig,
    source: &mut dyn Source,
    report: &mut RunReport,
    now: DateTime<Utc>,
) -> Result<(), SourceError> {
    let store_failed = |e: StoreError| {
        SourceError::new(e.kind(), "STORE", format!("the database refused the import: {e}")).with_source(e)
    };
    let (mut checkpoint, mut version) = store.checkpoint(&connector.id).await.map_err(store_failed)?;
    let items = source.discover(&checkpoint, BATCH_LIMIT).await?;
    if items.is_empty() {
        return Ok(());
    }
    let roster = RosterSnapshot::load(store).await.map_err(store_failed)?;
    for item in items {
        let document = match source.fetch(&item).await {
            Ok(Fetched::Document(d)) => d,
            Ok(Fetched::Refused(refusal)) => {
                let next = source.advance(&checkpoint, std::slice::from_ref(&item));
                let update = CheckpointUpdate {
                    connector: &connector.id,
                    checkpoint: &next,
                    expected_version: version,
                };
                refuse(store, connector, &refusal, update, now)
                    .await
                    .map_err(store_failed)?;
                checkpoint = next;
                version += 1;
                report.refused += 1;
                if let Err(e) = source.acknowledge(&item, Outcome::Refused).await {
                    tracing::warn!(connector = %connector.id, item = %refusal.display_name, "could not tidy up after refusing: {}", e.message);
                }
                continue;
            }
            // An item that can never be imported (too big, from a stranger) is reported once and
            // passed over: the checkpoint moves past it, and upstream hears it was rejected.
            Err(e) if e.kind == apsync_connector_core::ErrorKind::Permanent => {
                tracing::warn!(connector = %connector.id, item = %item.display_name, code = e.code, "{}", e.message);
                report.rejected += 1;
                report.error.get_or_insert(format!("{}: {}", e.code, e.message));
                report.error_kind.get_or_insert(e.kind.as_str().to_string());
                let next = source.advance(&checkpoint, std::slice::from_ref(&item));
                version = store
                    .save_checkpoint(&connector.id, &next, version, now)
                    .await
                    .map_err(store_failed)?;
                checkpoint = next;
                if let Err(e) = source.acknowledge(&item, Outcome::Rejected).await {
                    tracing::warn!(connector = %connector.id, item = %item.display_name, "could not tidy up: {}", e.message);
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        let next = source.advance(&checkpoint, std::slice::from_ref(&item));
        let incoming = Incoming {
            file_name: document.file_name,
            content: Content::Bytes(document.bytes),
            connector: connector.id.clone(),
            external_id: document.external_id,
            media_type: document.media_type,
            metadata: document.metadata,
            received_at: document.received_at,
            hold_for_review: document.hold_for_review,
        };
        let update = CheckpointUpdate {
            connector: &connector.id,
            checkpoint: &next,
            expected_version: version,
        };
        let outcome = import(store, config, &roster, provider, incoming, Some(update), now)
            .await
            .map_err(|e| match e {
                ImportError::Store(e) => store_failed(e),
                e @ ImportError::Read { .. } => {
                    SourceError::new(apsync_connector_core::ErrorKind::Transient, "READ", e.to_string())
                }
                other => SourceError::new(apsync_connector_core::ErrorKind::Config, "FORMAT", other.to_string()),
            })?;
        checkpoint = next;
        version += 1;
        let s = &outcome.summary;
        if !s.duplicate {
            report.documents += 1;
            report.marks += i64::from(s.marks_added + s.marks_replaced);
            report.review_items += i64::from(s.review_items);
        }
        let acknowledged = if let Some(reason) = &outcome.rejected {
            report.rejected += 1;
            report
                .error
                .get_or_insert_with(|| format!("{}: {reason}", outcome.file_name));
            report.error_kind.get_or_insert_with(|| "permanent".into());
            Outcome::Rejected
        } else {
            Outcome::Imported
        };
        // Committed: tidying upstream may fail harmlessly, as the ledger knows the document.
        if let Err(e) = source.acknowledge(&item, acknowledged).await {
            tracing::warn!(connector = %connector.id, item = %item.display_name, "could not tidy up after import: {}", e.message);
        }
    }
    Ok(())
}

/// Records a refused item (once), and logs it once: every text in it is already printable.
async fn refuse(
    store: &Store,
    connector: &ConnectorConfig,
    refusal: &Refusal,
    update: CheckpointUpdate<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let new = store
        .record_refusal(&connector.id, &connector.provider, refusal, Some(update), now)
        .await?;
    if new {
        tracing::warn!(
            connector = %connector.id,
            item = %refusal.display_name,
            code = refusal.code,
            sender = refusal.sender.as_deref().unwrap_or(""),
            "refused, recorded and not imported: {}",
            refusal.reason
        );
    }
    Ok(())
}
