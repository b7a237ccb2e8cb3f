//! Visits in and out: reading the CSV drop folder into the intake ([`crate::intake`]), and
//! pushing what is due.

use std::path::{Path, PathBuf};

use apsync_connector_core::{Checkpoint, Outcome, Source};
use apsync_connector_folder::{FolderConfig, FolderSource};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Config;
pub use crate::intake::{IntakeError, Recorded, VisitIntake};
use crate::outbox::push::PushSink;
use crate::outbox::{DispatchReport, RetryPolicy, dispatch_once};
use crate::store::{NewVisit, Origin, Store, StoreError};
use crate::visits::csv;

/// The largest CSV file of visits read.
const MAX_CSV_BYTES: u64 = 5 * 1024 * 1024;
/// How many files one pass of the CSV folder takes.
const CSV_BATCH: usize = 100;

/// What reading one CSV file did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CsvReport {
    /// The file.
    pub file: String,
    /// Visits recorded from it.
    pub visits: usize,
    /// Rows recorded before (the same file again).
    pub repeated: usize,
    /// Why the file was refused (nothing from it was recorded), each with its line.
    pub problems: Vec<String>,
}

/// Reads every settled CSV file in the drop folder: a file whose rows are all valid is recorded in
/// one transaction and moved to `processed`; a file with any bad row is recorded not at all, moved
/// to `rejected` with `NAME.errors.txt` beside it listing every problem. The same row read again
/// (a crash before the move) is recognised and not recorded twice.
pub async fn read_csv_folder(
    store: &Store,
    intake: &VisitIntake,
    folder: &FolderConfig,
    now: DateTime<Utc>,
) -> Result<Vec<CsvReport>, StoreError> {
    let mut source = FolderSource::new(folder, MAX_CSV_BYTES);
    let mut reports = Vec::new();
    let items = match source.discover(&Checkpoint::start(), CSV_BATCH).await {
        Ok(items) => items,
        Err(e) => {
            reports.push(CsvReport {
                file: folder.path.clone().unwrap_or_default().display().to_string(),
                problems: vec![e.message],
                ..Default::default()
            });
            return Ok(reports);
        }
    };
    for item in items {
        let mut report = CsvReport {
            file: item.display_name.clone(),
            ..Default::default()
        };
        let doc = match source.fetch(&item).await {
            Ok(apsync_connector_core::Fetched::Document(doc)) => doc,
            Ok(apsync_connector_core::Fetched::Refused(r)) => {
                report.problems.push(r.reason);
                reports.push(report);
                continue;
            }
            Err(e) => {
                report.problems.push(e.message);
                reports.push(report);
                continue;
            }
        };
        let bytes = match doc.body.read() {
            Ok(b) => b,
            Err(e) => {
                report.problems.push(format!("cannot read {}: {e}", item.display_name));
                reports.push(report);
                continue;
            }
        };
        let sha = crate::sha256::sha256_hex(&bytes);
        let mut visits = Vec::new();
        match csv::parse(&bytes) {
            Err(problems) => report.problems.extend(problems.iter().map(ToString::to_string)),
            Ok(rows) => {
                for row in rows {
                    match intake.prepare(store, &row.input, now).await {
                        Ok(document) => visits.push(NewVisit {
                            document,
                            origin: Origin::with_ref(
                                format!("csv:{}", doc.file_name),
                                format!("csv:{sha}:{}", row.line),
                            ),
                        }),
                        Err(IntakeError::Invalid(problems)) => report
                            .problems
                            .extend(problems.iter().map(|p| format!("line {}: {p}", row.line))),
                        Err(IntakeError::Store(e)) => return Err(e),
                        Err(e) => report.problems.push(format!("line {}: {e}", row.line)),
                    }
                }
            }
        }
        let outcome = if report.problems.is_empty() {
            let ids = store.record_visits(&visits, &intake.endpoints, now).await?;
            report.visits = ids.iter().filter(|i| i.is_some()).count();
            report.repeated = ids.len() - report.visits;
            Outcome::Imported
        } else {
            tracing::warn!(file = %doc.file_name, problems = report.problems.len(), "CSV file of visits refused");
            write_errors(folder, &doc.file_name, &report.problems).await;
            Outcome::Rejected
        };
        if let Err(e) = source.acknowledge(&item, outcome).await {
            tracing::warn!(file = %doc.file_name, "could not move the CSV file of visits: {}", e.message);
        }
        reports.push(report);
    }
    Ok(reports)
}

/// Writes the problems beside the rejected file, so whoever exports the form can see them.
async fn write_errors(folder: &FolderConfig, file: &str, problems: &[String]) {
    let base = folder.path.clone().unwrap_or_default();
    let dir: PathBuf = match folder.rejected.as_ref().or(folder.processed.as_ref()) {
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => base.join(d),
        None => base,
    };
    let text = format!(
        "{file} was not recorded: fix these rows and drop the file in again.\n{}\n",
        problems.join("\n")
    );
    if let Err(e) = write_file(&dir.join(format!("{file}.errors.txt")), &text).await {
        tracing::warn!(file, "could not write the list of problems: {e}");
    }
}

async fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    tokio::fs::write(path, text).await
}

/// Builds a sender per configured endpoint, reading their secrets.
pub fn push_sinks(config: &Config, config_dir: &Path) -> Result<Vec<PushSink>, String> {
    let creds = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
    config
        .endpoints
        .iter()
        .map(|e| PushSink::new(e, config.school.timezone, creds.as_deref(), config_dir))
        .collect()
}

/// Pushes every due visit to every endpoint once; one endpoint failing never holds up another.
pub async fn dispatch_pushes(
    store: &Store,
    sinks: &[PushSink],
    now: DateTime<Utc>,
) -> Result<DispatchReport, StoreError> {
    let policy = RetryPolicy::default();
    let mut total = DispatchReport::default();
    for sink in sinks {
        let r = dispatch_once(store, sink, &policy, now).await?;
        total.delivered += r.delivered;
        total.retrying += r.retrying;
        total.dead += r.dead;
        total.misconfigured += r.misconfigured;
        if r.misconfigured > 0 {
            tracing::error!(
                endpoint = sink.endpoint_id(),
                "the endpoint refuses apsync's credentials or URL (401/403/404): IT must check [[endpoint]] {}",
                sink.endpoint_id()
            );
        }
    }
    Ok(total)
}
