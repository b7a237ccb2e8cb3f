//! Visits in and out: recording one (checked, pupil resolved, queued for every endpoint in the
//! same transaction), reading the CSV drop folder, and pushing what is due.

use std::path::{Path, PathBuf};

use apsync_connector_core::{Checkpoint, Outcome, Source};
use apsync_connector_folder::{FolderConfig, FolderSource};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::config::Config;
use crate::outbox::push::PushSink;
use crate::outbox::{DispatchReport, RetryPolicy, dispatch_once};
use crate::store::{NewVisit, Origin, PupilLookup, Store, StoreError, StoredVisit, VisitFilter};
use crate::visits::{Problem, VisitDocument, VisitInput, check, csv, external_id};

/// The largest CSV file of visits read.
const MAX_CSV_BYTES: u64 = 5 * 1024 * 1024;
/// How many files one pass of the CSV folder takes.
const CSV_BATCH: usize = 100;

/// Why a visit was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The visit as written is wrong; each problem names its field.
    #[error("the visit was not recorded:\n  {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Invalid(Vec<Problem>),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The operating system gave no random bytes for the visit's id.
    #[error("cannot make an id for the visit: {0}")]
    Random(String),
}

/// Records visits: the school's time zone (for local times and dates) and the endpoints every
/// visit is queued for.
#[derive(Debug, Clone)]
pub struct VisitIntake {
    /// The school's time zone.
    pub tz: Tz,
    /// The configured endpoints' ids.
    pub endpoints: Vec<String>,
}

impl VisitIntake {
    /// From the configuration.
    pub fn new(config: &Config) -> Self {
        VisitIntake {
            tz: config.school.timezone,
            endpoints: config.endpoints.iter().map(|e| e.id.clone()).collect(),
        }
    }

    /// Checks a visit and resolves its pupil, giving the document to record.
    pub async fn prepare(
        &self,
        store: &Store,
        input: &VisitInput,
        now: DateTime<Utc>,
    ) -> Result<VisitDocument, IntakeError> {
        let v = check(input, self.tz, now).map_err(IntakeError::Invalid)?;
        let (upn, admission_number, provider) = match store.pupil_for_visit(&v.pupil, v.date).await? {
            PupilLookup::Placed {
                upn,
                admission_number,
                provider_id,
            } => (upn, admission_number, provider_id),
            PupilLookup::Unknown => {
                return Err(invalid(
                    "pupil",
                    format!(
                        "no pupil has the UPN or admission number `{}`: check it against the MIS, or import the roster",
                        v.pupil
                    ),
                ));
            }
            PupilLookup::Ambiguous => {
                return Err(invalid(
                    "pupil",
                    format!(
                        "several pupils have admission number `{}`: give the UPN instead",
                        v.pupil
                    ),
                ));
            }
            // Only what the caller sent is echoed: never the UPN it resolved to.
            PupilLookup::NotPlaced { .. } => {
                return Err(invalid(
                    "pupil",
                    format!(
                        "pupil `{}` had no placement on {}: visits are logged for pupils in alternative provision; check the placements",
                        v.pupil, v.date
                    ),
                ));
            }
        };
        Ok(VisitDocument {
            external_id: new_external_id()?,
            upn,
            admission_number,
            provider: Some(provider),
            occurred_at: v.occurred_at,
            staff: v.staff,
            kind: v.kind,
            pupil_views: v.pupil_views,
            progress: v.progress,
            behaviour: v.behaviour,
            welfare: v.welfare,
            actions: v.actions,
            follow_up: v.follow_up,
        })
    }

    /// Checks and records one visit, queued for every endpoint. A visit whose origin has a
    /// `source_ref` recorded before is not recorded again: the first is returned, as a repeat
    /// when the request is the same, or as a reused key when it is not.
    pub async fn record(
        &self,
        store: &Store,
        input: &VisitInput,
        origin: Origin,
        now: DateTime<Utc>,
    ) -> Result<Recorded, IntakeError> {
        if let Some(first) = self.recorded_before(store, &origin).await? {
            return Ok(first);
        }
        let document = self.prepare(store, input, now).await?;
        let visit = NewVisit {
            document,
            origin: origin.clone(),
        };
        let ids = store
            .record_visits(std::slice::from_ref(&visit), &self.endpoints, now)
            .await?;
        match ids.first().copied().flatten() {
            Some(id) => store
                .visit(id)
                .await?
                .map(Recorded::New)
                .ok_or_else(|| IntakeError::Store(StoreError::NotFound(format!("visit {id} vanished")))),
            // The same key arrived twice at once: the other request recorded it.
            None => self
                .recorded_before(store, &origin)
                .await?
                .ok_or_else(|| IntakeError::Store(StoreError::Conflict("the visit was recorded before".into()))),
        }
    }

    async fn recorded_before(&self, store: &Store, origin: &Origin) -> Result<Option<Recorded>, IntakeError> {
        let Some(source_ref) = origin.source_ref.as_deref() else {
            return Ok(None);
        };
        let filter = VisitFilter {
            source_ref: Some(source_ref),
            ..VisitFilter::default()
        };
        Ok(store.visit_where(filter).await?.map(|first| {
            if first.request_sha256 == origin.request_sha256 {
                Recorded::Repeat(first)
            } else {
                Recorded::KeyReused
            }
        }))
    }
}

/// What recording a visit did.
#[derive(Debug, Clone)]
pub enum Recorded {
    /// It is recorded and queued.
    New(StoredVisit),
    /// The same request was recorded before: this is the first one's visit.
    Repeat(StoredVisit),
    /// Its key was used before for a different visit: nothing was recorded.
    KeyReused,
}

impl Recorded {
    /// The visit, new or first; None for a reused key.
    pub fn into_visit(self) -> Option<StoredVisit> {
        match self {
            Recorded::New(v) | Recorded::Repeat(v) => Some(v),
            Recorded::KeyReused => None,
        }
    }
}

fn invalid(field: &str, message: String) -> IntakeError {
    IntakeError::Invalid(vec![Problem::new(field, message)])
}

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

/// A fresh visit id, from 128 bits of the operating system's randomness. Errors only if it has
/// none to give.
fn new_external_id() -> Result<String, IntakeError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| IntakeError::Random(e.to_string()))?;
    Ok(external_id(bytes))
}
