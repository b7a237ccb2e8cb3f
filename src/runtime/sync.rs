//! One run of one connector: discover, fetch, import (document, marks, review rows and the new
//! checkpoint in one transaction), then acknowledge upstream. A crash anywhere repeats at most
//! the document in flight, and the ledger makes that repeat harmless.

use apsync_connector_core::{
    Body, ErrorCode, ErrorKind, Fetched, ItemRef, Outcome, QUARANTINE_FOLDER, Refusal, Source, SourceError, printable,
};
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
    /// Its kind, which decides whether the scheduler retries.
    pub error_kind: Option<ErrorKind>,
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
        report.error_kind = Some(ErrorKind::Config);
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
            ErrorCode::Panic,
            panicked.to_string(),
        ))
    });
    if let Err(e) = result {
        tracing::warn!(connector = %connector.id, kind = %e.kind, code = e.code.as_str(), "connector run failed: {}", e.message);
        report.error.get_or_insert(format!("{}: {}", e.code, e.message));
        report.error_kind.get_or_insert(e.kind);
    }
    let status = if report.error.is_some() {
        RunStatus::Failed
    } else {
        RunStatus::Ok
    };
    let error = report.error_kind.map(ErrorKind::as_str).zip(report.error.as_deref());
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
    let (checkpoint, version) = store.checkpoint(&connector.id).await.map_err(store_failed)?;
    let items = source.discover(&checkpoint, BATCH_LIMIT).await?;
    if items.is_empty() {
        return Ok(());
    }
    let roster = RosterSnapshot::load(store).await.map_err(store_failed)?;
    let mut run = Run {
        store,
        connector,
        checkpoint,
        version,
        now,
    };
    for item in items {
        let fetched = match source.fetch(&item).await {
            Ok(f) => f,
            // An item that can never be imported is recorded once and passed over.
            Err(e) if e.kind == ErrorKind::Permanent => Fetched::Refused(run.refusal(&item, e.code, e.message)),
            Err(e) => Fetched::Refused(run.failed(&item, e).await?),
        };
        let document = match fetched {
            Fetched::Document(d) => d,
            Fetched::Refused(refusal) => {
                run.set_aside(source, &item, &refusal).await?;
                report.refused += 1;
                continue;
            }
        };
        let next = source.advance(&run.checkpoint, std::slice::from_ref(&item));
        let mut spooled = None;
        let incoming = Incoming {
            file_name: document.file_name,
            content: match document.body {
                Body::Bytes(b) => Content::Bytes(b),
                Body::File(p) => Content::File(p),
                Body::Spool(p) => {
                    spooled = Some(p.clone());
                    Content::File(p)
                }
            },
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
            expected_version: run.version,
        };
        let imported = import(store, config, &roster, provider, incoming, Some(update), now).await;
        // Recorded (or not): the download's spool file has done its work either way.
        if let Some(p) = spooled {
            let _ = tokio::fs::remove_file(p).await;
        }
        let outcome = match imported {
            Ok(outcome) => outcome,
            Err(ImportError::Store(e)) => return Err(store_failed(e)),
            Err(e @ ImportError::Read { .. }) => {
                let e = SourceError::new(ErrorKind::Transient, ErrorCode::Read, e.to_string());
                let refusal = run.failed(&item, e).await?;
                run.set_aside(source, &item, &refusal).await?;
                report.refused += 1;
                continue;
            }
            // Every variant is named, so a new one must be given its code here.
            Err(e @ ImportError::NoFormat(_)) => {
                return Err(SourceError::new(ErrorKind::Config, ErrorCode::Format, e.to_string()));
            }
        };
        run.checkpoint = next;
        run.version += 1;
        let acknowledged = report.count(&outcome);
        // Committed: tidying upstream may fail harmlessly, as the ledger knows the document.
        if let Err(e) = source.acknowledge(&item, acknowledged).await {
            tracing::warn!(connector = %connector.id, item = %item.display_name, "could not tidy up after import: {}", e.message);
        }
    }
    Ok(())
}

fn store_failed(e: StoreError) -> SourceError {
    SourceError::new(
        e.kind(),
        ErrorCode::Store,
        format!("the database refused the import: {e}"),
    )
    .with_source(e)
}

impl RunReport {
    /// Counts an imported document, saying how upstream should hear of it.
    fn count(&mut self, outcome: &crate::pipeline::import::ImportOutcome) -> Outcome {
        let s = &outcome.summary;
        if !s.duplicate {
            self.documents += 1;
            self.marks += i64::from(s.marks_added + s.marks_replaced);
            self.review_items += i64::from(s.review_items);
        }
        match &outcome.rejected {
            Some(reason) => {
                self.rejected += 1;
                self.error
                    .get_or_insert_with(|| format!("{}: {reason}", outcome.file_name));
                self.error_kind.get_or_insert(ErrorKind::Permanent);
                Outcome::Rejected
            }
            None => Outcome::Imported,
        }
    }
}

/// One run's place in the connector's items: its checkpoint and the version it was read at.
struct Run<'a> {
    store: &'a Store,
    connector: &'a ConnectorConfig,
    checkpoint: apsync_connector_core::Checkpoint,
    version: i64,
    now: DateTime<Utc>,
}

impl Run<'_> {
    /// A record of an item turned away for `reason`.
    fn refusal(&self, item: &ItemRef, code: ErrorCode, reason: String) -> Refusal {
        Refusal {
            external_id: item.external_id.clone(),
            display_name: printable(&item.display_name, 200),
            code,
            reason,
            sender: None,
            verdict: None,
            size: None,
            sha256: None,
            received_at: self.now,
            metadata: serde_json::json!({}),
        }
    }

    /// Counts a failed run on this item: the error again (the run stops, and the item is tried
    /// next run), or, once it has failed `quarantine_after` runs, the record that sets it aside.
    async fn failed(&self, item: &ItemRef, e: SourceError) -> Result<Refusal, SourceError> {
        if e.kind == ErrorKind::Auth {
            return Err(e);
        }
        let error = format!("{}: {}", e.code, e.message);
        let failures = self
            .store
            .note_item_failure(&self.connector.id, &item.external_id, &error, self.now)
            .await
            .map_err(store_failed)?;
        if failures < i64::from(self.connector.quarantine_after) {
            return Err(e);
        }
        let reason = format!(
            "it failed {failures} runs in a row, the last with {error}; it was set aside ({}/ for a file, flagged $ApsyncFailed for an email) so later returns are not held up: fix the cause, then put it back",
            QUARANTINE_FOLDER
        );
        Ok(self.refusal(item, ErrorCode::Quarantined, reason))
    }

    /// Records a refused item with the checkpoint moved past it, then tidies it upstream: a
    /// quarantined one is set aside, any other is acknowledged as refused.
    async fn set_aside(
        &mut self,
        source: &mut dyn Source,
        item: &ItemRef,
        refusal: &Refusal,
    ) -> Result<(), SourceError> {
        let next = source.advance(&self.checkpoint, std::slice::from_ref(item));
        let update = CheckpointUpdate {
            connector: &self.connector.id,
            checkpoint: &next,
            expected_version: self.version,
        };
        refuse(self.store, self.connector, refusal, update, self.now)
            .await
            .map_err(store_failed)?;
        self.checkpoint = next;
        self.version += 1;
        let tidied = if refusal.code == ErrorCode::Quarantined {
            source.quarantine(item).await
        } else {
            source.acknowledge(item, Outcome::Refused).await
        };
        if let Err(e) = tidied {
            tracing::warn!(connector = %self.connector.id, item = %refusal.display_name, "could not tidy up after refusing: {}", e.message);
        }
        Ok(())
    }
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
            code = refusal.code.as_str(),
            sender = refusal.sender.as_deref().unwrap_or(""),
            "refused, recorded and not imported: {}",
            refusal.reason
        );
    }
    Ok(())
}
