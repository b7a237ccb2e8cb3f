//! Running each connector on its cron schedule, in the school's time zone.
//!
//! The planning is pure and the core's (`apsync_core::schedule`: [`Schedule`], [`next_due`]). The loop ([`run_scheduler`]) sleeps at most a minute at a time and rechecks the
//! clock, runs a connector missed while the daemon was down as soon as it starts, never runs one
//! connector twice at once, and retries a failed run with backoff without holding up the others.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use apsync_connector_core::ErrorKind;
use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::jobs::{WhenBusy, run_connector_once};
use super::runs::{RunPanicked, close_interrupted_runs};
use super::sync::RunReport;
use super::{ConfiguredSources, SourceBuilder};
pub use apsync_core::schedule::{ConnectorState, DEFAULT_SCHEDULE, Schedule, ScheduleError, backoff, jitter, next_due};

use crate::config::LoadedConfig;
use crate::outbox::owner;
use crate::store::{RunStatus, Store, StoreError};

/// The loop never sleeps longer than this, so a changed wall clock is noticed.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// How soon a connector another process was running is looked at again.
const LOOK_AGAIN: Duration = Duration::from_secs(5);

/// What the scheduler makes of a connector's latest recorded run: `None` when it was cut short
/// (still marked running, or closed as interrupted), so it runs again at once.
pub fn state_after(run: &crate::store::ConnectorRun) -> Option<ConnectorState> {
    if run.status == RunStatus::Running.as_str() || run.status == RunStatus::Interrupted.as_str() {
        return None;
    }
    let failed = run.status == "failed" && matches!(run.error_kind.as_deref(), Some("transient" | "auth"));
    Some(ConnectorState {
        last_start: Some(run.started_at),
        last_end: run.finished_at,
        retryable_failures: u32::from(failed),
    })
}

/// When one connector next runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextRun {
    /// The connector's id.
    pub connector: String,
    /// When, or `None` when its schedule has no future time.
    pub due: Option<DateTime<Utc>>,
}

/// When each configured connector next runs, as the scheduler would decide at `now` from the
/// latest recorded runs (`apsync status`).
pub fn next_runs(
    config: &crate::config::Config,
    latest: &[crate::store::ConnectorRun],
    now: DateTime<Utc>,
) -> Vec<NextRun> {
    config
        .connectors
        .iter()
        .map(|c| {
            let state = latest
                .iter()
                .find(|r| r.connector == c.id)
                .and_then(state_after)
                .unwrap_or_default();
            let due = next_due(&c.schedule, config.school.timezone, &state, jitter(&c.id), now);
            NextRun {
                connector: c.id.clone(),
                due,
            }
        })
        .collect()
}

/// The scheduler's view of time, so tests can drive it without sleeping.
#[async_trait::async_trait]
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
    /// Waits until `deadline` (or returns at once if it has passed).
    async fn sleep_until(&self, deadline: DateTime<Utc>);
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[async_trait::async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        if let Ok(wait) = (deadline - Utc::now()).to_std() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Runs every configured connector on its schedule until `shutdown` becomes true, then waits
/// for the runs in progress to finish.
pub async fn run_scheduler(
    store: Store,
    config: Arc<LoadedConfig>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), StoreError> {
    run_scheduler_with_clock(store, config, shutdown, Arc::new(SystemClock)).await
}

/// [`run_scheduler`] with the clock given.
pub async fn run_scheduler_with_clock(
    store: Store,
    config: Arc<LoadedConfig>,
    shutdown: watch::Receiver<bool>,
    clock: Arc<dyn Clock>,
) -> Result<(), StoreError> {
    run_scheduler_notifying(store, config, shutdown, clock, Arc::new(Notify::new())).await
}

/// [`run_scheduler_with_clock`], waking `done` after every connector run (the daemon runs the
/// rules then).
pub async fn run_scheduler_notifying(
    store: Store,
    config: Arc<LoadedConfig>,
    shutdown: watch::Receiver<bool>,
    clock: Arc<dyn Clock>,
    done: Arc<Notify>,
) -> Result<(), StoreError> {
    run_scheduler_with_sources(store, config, shutdown, clock, done, Arc::new(ConfiguredSources)).await
}

/// [`run_scheduler_notifying`] with the connectors' sources from `sources`.
///
/// At start, and at every pass, runs left marked running by a process that is gone are closed
/// as interrupted ([`close_interrupted_runs`]); their connectors run again at once. A run whose
/// task panics is recorded as failed and its connector is free to run at its next time.
pub async fn run_scheduler_with_sources(
    store: Store,
    config: Arc<LoadedConfig>,
    mut shutdown: watch::Receiver<bool>,
    clock: Arc<dyn Clock>,
    done: Arc<Notify>,
    sources: Arc<dyn SourceBuilder>,
) -> Result<(), StoreError> {
    let zone = config.config.school.timezone;
    sweep(&store, clock.now()).await;
    let mut states: HashMap<String, ConnectorState> = HashMap::new();
    for run in store.latest_runs().await? {
        // A run cut short (the daemon was killed): its connector runs again now.
        if let Some(state) = state_after(&run) {
            states.insert(run.connector.clone(), state);
        }
    }
    let mut running = Running::default();
    // Connectors found running in another process, and when to look again.
    let mut elsewhere: HashMap<String, DateTime<Utc>> = HashMap::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let now = clock.now();
        // Another replica's runs, recorded in the database, count as this scheduler's own.
        match store.latest_runs().await {
            Ok(latest) => adopt(&mut states, &latest, &running),
            Err(e) => tracing::warn!("the latest connector runs could not be read: {e}"),
        }
        let mut wake = now + chrono::Duration::from_std(MAX_SLEEP).unwrap_or_default();
        for connector in &config.config.connectors {
            if running.is_busy(&connector.id) {
                continue;
            }
            if let Some(later) = elsewhere.get(&connector.id).filter(|t| **t > now) {
                wake = wake.min(*later);
                continue;
            }
            let state = states.entry(connector.id.clone()).or_default();
            let Some(due) = next_due(&connector.schedule, zone, state, jitter(&connector.id), now) else {
                continue;
            };
            if due > now {
                wake = wake.min(due);
                continue;
            }
            state.last_start = Some(now);
            let (store, config, connector, clock, sources) = (
                store.clone(),
                config.clone(),
                connector.clone(),
                clock.clone(),
                sources.clone(),
            );
            running.start(connector.id.clone(), async move {
                let report =
                    run_connector_once(&store, &config, &connector, sources.as_ref(), now, WhenBusy::Skip).await;
                (report, clock.now())
            });
        }
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = clock.sleep_until(wake) => sweep(&store, clock.now()).await,
            Some((id, outcome)) = running.next(), if !running.is_empty() => {
                let (report, ended) = match outcome {
                    Ok(done) => done,
                    Err(panicked) => (record_panic(&store, &id, &panicked, clock.now()).await.map(Some), clock.now()),
                };
                match report {
                    // Another replica runs it: its run, once recorded, is adopted.
                    Ok(None) => {
                        elsewhere.insert(id, clock.now() + chrono::Duration::from_std(LOOK_AGAIN).unwrap_or_default());
                    }
                    report => {
                        record(states.entry(id).or_default(), report.map(Option::unwrap_or_default), ended);
                        done.notify_one();
                    }
                }
            }
        }
    }
    drain(&mut running, &store, clock.as_ref()).await;
    Ok(())
}

/// Waits for the runs in progress to finish, when stopping.
async fn drain(running: &mut Running, store: &Store, clock: &dyn Clock) {
    while let Some((id, outcome)) = running.next().await {
        match outcome {
            Ok((Err(e), _)) => tracing::warn!("a connector run could not be recorded: {e}"),
            Err(panicked) => {
                if let Err(e) = record_panic(store, &id, &panicked, clock.now()).await {
                    tracing::warn!("a connector run could not be recorded: {e}");
                }
            }
            Ok(_) => {}
        }
    }
}

type RunOutcome = (Result<Option<RunReport>, StoreError>, DateTime<Utc>);

/// The connector runs in progress, each its own task, known by connector even if it panics.
#[derive(Default)]
struct Running {
    tasks: JoinSet<RunOutcome>,
    connectors: HashMap<tokio::task::Id, String>,
}

impl Running {
    fn is_busy(&self, connector: &str) -> bool {
        self.connectors.values().any(|c| c == connector)
    }

    fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    fn start(&mut self, connector: String, run: impl Future<Output = RunOutcome> + Send + 'static) {
        let handle = self.tasks.spawn(run);
        self.connectors.insert(handle.id(), connector);
    }

    /// The next run to end: its connector, and what it came to or how its task panicked. The
    /// connector is free again either way.
    async fn next(&mut self) -> Option<(String, Result<RunOutcome, RunPanicked>)> {
        loop {
            let ended = self.tasks.join_next_with_id().await?;
            let (id, outcome) = match ended {
                Ok((id, done)) => (id, Ok(done)),
                Err(e) => {
                    let id = e.id();
                    let panicked = if e.is_panic() {
                        RunPanicked::from_payload(e.into_panic().as_ref())
                    } else {
                        RunPanicked {
                            message: "the run's task was cancelled".into(),
                        }
                    };
                    (id, Err(panicked))
                }
            };
            if let Some(connector) = self.connectors.remove(&id) {
                return Some((connector, outcome));
            }
        }
    }
}

/// Takes, for each connector this scheduler is not running, the latest run recorded in the
/// database when it is newer than the one the scheduler knows of (another replica ran it), or
/// was cut short (it runs again at once).
fn adopt(states: &mut HashMap<String, ConnectorState>, latest: &[crate::store::ConnectorRun], running: &Running) {
    for run in latest {
        if running.is_busy(&run.connector) {
            continue;
        }
        let state = states.entry(run.connector.clone()).or_default();
        match state_after(run) {
            None => *state = ConnectorState::default(),
            Some(theirs) if state.last_start.is_none_or(|mine| run.started_at > mine) => *state = theirs,
            Some(_) => {}
        }
    }
}

/// Closes the runs cut short by processes that are gone, unless another replica is doing it; a
/// failure is only logged, as the scheduler can go on without it.
async fn sweep(store: &Store, now: DateTime<Utc>) {
    let work = async {
        if let Err(e) = close_interrupted_runs(store, owner::this_process(), owner::probe, now).await {
            tracing::warn!("runs cut short by a stopped process could not be closed: {e}");
        }
    };
    if let Err(e) = super::jobs::housekeeping(store, work).await {
        tracing::warn!("housekeeping could not take its lease: {e}");
    }
}

/// Records, for a run whose task panicked outside the run's own guard, that it failed; the report
/// the scheduler goes on with.
async fn record_panic(
    store: &Store,
    connector: &str,
    panicked: &RunPanicked,
    now: DateTime<Utc>,
) -> Result<RunReport, StoreError> {
    tracing::error!(connector, "connector run panicked: {}", panicked.message);
    let error = format!("PANIC: {panicked}");
    store
        .close_runs_of_connector(
            connector,
            &owner::this_process_name(),
            RunStatus::Failed,
            (ErrorKind::Permanent.as_str(), &error),
            now,
        )
        .await?;
    Ok(RunReport {
        connector: connector.to_string(),
        error: Some(error),
        error_kind: Some(ErrorKind::Permanent),
        ..RunReport::default()
    })
}

fn record(state: &mut ConnectorState, report: Result<RunReport, StoreError>, ended: DateTime<Utc>) {
    state.last_end = Some(ended);
    let retryable = match &report {
        Ok(r) => r.error_kind.is_some_and(ErrorKind::is_retryable),
        // The database itself failed: worth trying again.
        Err(e) => {
            tracing::warn!("a connector run could not be recorded: {e}");
            true
        }
    };
    state.retryable_failures = if retryable { state.retryable_failures + 1 } else { 0 };
    if retryable {
        tracing::info!(
            "connector run failed; retrying in {} s unless its schedule comes first",
            backoff(state.retryable_failures).as_secs()
        );
    }
}
