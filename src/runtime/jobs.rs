//! Scheduled jobs run once across replicas: each connector run, the rules pass (which queues the
//! digest) and housekeeping is done under a lease in the database (`job_leases`, see
//! [`crate::store::JobLease`]), so that two processes on one database (replicas on PostgreSQL, or
//! `apsync sync` beside the daemon) never do one job at the same time.
//!
//! A lease names its holder as outbox leases do (`host:pidns:pid:start`, [`crate::outbox::owner`]),
//! is renewed every [`RENEW_EVERY`] while the job runs, and runs out [`LEASE`] after its last
//! renewal, so a job whose holder died is taken over: at once by a process on the same host that
//! can see the holder is gone, else when the lease runs out (a replica on another host).
//!
//! The rules never see a half-finished import: a rules pass takes the `rules` lease, then waits
//! for the connector runs in progress to end; a connector run that finds the `rules` lease held
//! gives its own lease back and waits for the pass to end before it starts. So no import runs
//! during a rules pass, and a pass cannot be starved by a stream of imports.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use super::alerts::{AlertRun, AlertsError, evaluate};
use super::sync::{RunReport, run_connector_with};
use super::{ConfiguredSources, SourceBuilder};
use crate::config::{ConnectorConfig, LoadedConfig};
use crate::outbox::owner::{self, LeaseOwner, Verdict, verdict};
use crate::store::{JobLease, Store, StoreError};

/// How long a lease lasts after its last renewal: how long a replica on another host waits
/// before taking over a job whose holder died.
pub const LEASE: Duration = Duration::from_secs(60);
/// How often a holder renews its lease while the job runs.
pub const RENEW_EVERY: Duration = Duration::from_secs(15);
/// How often a process waiting for a job looks again.
const POLL: Duration = Duration::from_millis(250);

/// The rules pass (with the digest).
pub const RULES_JOB: &str = "rules";
/// Housekeeping: closing runs cut short by a process that is gone.
pub const HOUSEKEEPING_JOB: &str = "housekeeping";
/// What a connector run's job is called.
pub fn connector_job(connector: &str) -> String {
    format!("connector:{connector}")
}

/// When this process started (as near as [`note_start`] was called to it).
static STARTED: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();

/// Notes that this process starts now: a connector run another process starts after this moment
/// covers what `apsync sync` was asked for.
pub fn note_start() {
    let _ = STARTED.get_or_init(Utc::now);
}

/// What to do when another process holds the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenBusy {
    /// Leave it to that process (the daemon: the job comes round again).
    Skip,
    /// Wait for it to finish (`apsync sync`, asked to do the job now).
    Wait,
}

/// A job this process holds, renewed in the background until released (or dropped).
#[derive(Debug)]
pub struct HeldJob {
    store: Store,
    job: String,
    owner: String,
    renewer: Option<JoinHandle<()>>,
}

impl HeldJob {
    fn new(store: &Store, job: &str, owner: String) -> HeldJob {
        let (s, j, o) = (store.clone(), job.to_string(), owner.clone());
        let renewer = tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                match s.renew_job(&j, &o, until(Utc::now())).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(
                            job = %j,
                            "this process's lease on the job was taken by another (it was not renewed in time); the job goes on, and its database writes stay exactly-once"
                        );
                        return;
                    }
                    Err(e) => tracing::warn!(job = %j, "the job's lease could not be renewed: {e}"),
                }
            }
        });
        HeldJob {
            store: store.clone(),
            job: job.to_string(),
            owner,
            renewer: Some(renewer),
        }
    }

    /// Gives the job back, so another process may take it at once.
    pub async fn release(mut self) {
        if let Some(r) = self.renewer.take() {
            r.abort();
        }
        if let Err(e) = self.store.release_job(&self.job, &self.owner).await {
            tracing::warn!(job = %self.job, "the job's lease could not be released (it runs out by itself): {e}");
        }
    }
}

impl Drop for HeldJob {
    fn drop(&mut self) {
        // Not released (a panic, or the task was dropped): stop renewing and release when a
        // runtime is at hand; else the lease runs out by itself.
        if let Some(r) = self.renewer.take() {
            r.abort();
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let (store, job, owner) = (self.store.clone(), self.job.clone(), self.owner.clone());
                rt.spawn(async move {
                    let _ = store.release_job(&job, &owner).await;
                });
            }
        }
    }
}

/// Taking a job: held now, or held by another process (its lease as stored).
#[derive(Debug)]
pub enum Claim {
    /// This process holds it.
    Held(HeldJob),
    /// Another live process does.
    Busy(JobLease),
}

fn until(now: DateTime<Utc>) -> DateTime<Utc> {
    now + chrono::Duration::from_std(LEASE).unwrap_or_else(|_| chrono::Duration::seconds(60))
}

/// Whether the process holding a lease is known to be gone (on this host, by
/// [`crate::outbox::owner::verdict`]); a holder elsewhere or hidden is never judged gone.
pub fn holder_gone(holder: &str) -> bool {
    match (LeaseOwner::parse(holder), owner::this_process()) {
        (Some(o), Some(me)) => verdict(&o, me, owner::probe(o.pid)) == Verdict::Gone,
        _ => false,
    }
}

/// Takes `job` for this process when it is free, or held by a process that is gone.
pub async fn claim(store: &Store, job: &str) -> Result<Claim, StoreError> {
    let me = owner::this_process_name();
    for _ in 0..3 {
        let now = Utc::now();
        if store.take_job(job, &me, now, until(now)).await? {
            return Ok(Claim::Held(HeldJob::new(store, job, me)));
        }
        let Some(lease) = store.held_jobs(now).await?.into_iter().find(|l| l.job == job) else {
            // Released between the two statements: try again.
            continue;
        };
        if !holder_gone(&lease.held_by) {
            return Ok(Claim::Busy(lease));
        }
        if store.take_job_from(job, &lease.held_by, &me, now, until(now)).await? {
            tracing::info!(job, holder = %lease.held_by, "took over a job whose holder is gone");
            return Ok(Claim::Held(HeldJob::new(store, job, me)));
        }
    }
    // Changing hands as fast as it is looked at: someone has it.
    let now = Utc::now();
    Ok(match store.held_jobs(now).await?.into_iter().find(|l| l.job == job) {
        Some(lease) => Claim::Busy(lease),
        None => Claim::Busy(JobLease {
            job: job.to_string(),
            held_by: "another process".into(),
            held_since: now,
            leased_until: now,
        }),
    })
}

/// The leases held by live processes (a gone holder's lease is as good as free), by job.
pub async fn live_jobs(store: &Store) -> Result<Vec<JobLease>, StoreError> {
    let mut held = store.held_jobs(Utc::now()).await?;
    held.retain(|l| !holder_gone(&l.held_by));
    Ok(held)
}

/// Runs one connector once across every process on the database: under its lease, after any
/// rules pass in progress. `None` when another process ran it instead: with [`WhenBusy::Skip`],
/// one was running it; with [`WhenBusy::Wait`], one started it after this process started (see
/// [`note_start`]) and it has now ended (its run is the one recorded last).
pub async fn run_connector_once(
    store: &Store,
    loaded: &LoadedConfig,
    connector: &ConnectorConfig,
    sources: &dyn SourceBuilder,
    now: DateTime<Utc>,
    when_busy: WhenBusy,
) -> Result<Option<RunReport>, StoreError> {
    let job = connector_job(&connector.id);
    // A run started after this process started covers what it was asked for.
    let asked = *STARTED.get_or_init(Utc::now);
    let me = owner::this_process_name();
    // A run another process took after this one started covers what this one was asked for:
    // seen while it runs, or afterwards in what the lease last recorded.
    let mut covered = false;
    let held = loop {
        if when_busy == WhenBusy::Wait
            && let Some((at, by)) = store.job_last_taken(&job).await?
        {
            covered |= at >= asked && by != me;
        }
        match claim(store, &job).await? {
            Claim::Held(held) => {
                if covered {
                    held.release().await;
                    return Ok(None);
                }
                if live_jobs(store).await?.iter().any(|l| l.job == RULES_JOB) {
                    // A rules pass is waiting for the imports to end, or running: it goes first.
                    held.release().await;
                    tokio::time::sleep(POLL).await;
                    continue;
                }
                break held;
            }
            Claim::Busy(_) if when_busy == WhenBusy::Skip => return Ok(None),
            Claim::Busy(_) => tokio::time::sleep(POLL).await,
        }
    };
    let report = run_connector_with(store, loaded, connector, sources, now).await;
    held.release().await;
    report.map(Some)
}

/// [`run_connector_once`] with the configured sources, waiting for another process's run
/// (`apsync sync`): the report of this run, or of the other process's run that covered it.
pub async fn sync_connector(
    store: &Store,
    loaded: &LoadedConfig,
    connector: &ConnectorConfig,
    now: DateTime<Utc>,
) -> Result<RunReport, StoreError> {
    if let Some(report) = run_connector_once(store, loaded, connector, &ConfiguredSources, now, WhenBusy::Wait).await? {
        return Ok(report);
    }
    let latest = store
        .latest_runs()
        .await?
        .into_iter()
        .find(|r| r.connector == connector.id);
    tracing::info!(connector = %connector.id, "another apsync process ran this connector meanwhile; its run counts");
    Ok(match latest {
        Some(run) => RunReport {
            connector: connector.id.clone(),
            provider: connector.provider.clone(),
            documents: run.documents,
            marks: run.marks,
            review_items: run.review_items,
            rejected: 0,
            refused: 0,
            error: run.error,
            error_kind: run
                .error_kind
                .as_deref()
                .and_then(apsync_connector_core::ErrorKind::parse),
        },
        None => RunReport {
            connector: connector.id.clone(),
            provider: connector.provider.clone(),
            ..RunReport::default()
        },
    })
}

/// Runs the rules (and, with `digest`, queues the digest when due) once across every process on
/// the database, after the imports in progress end; `None` when another process was running
/// them and `when_busy` is [`WhenBusy::Skip`].
pub async fn evaluate_once(
    store: &Store,
    loaded: &LoadedConfig,
    now: DateTime<Utc>,
    digest: bool,
    when_busy: WhenBusy,
) -> Result<Option<AlertRun>, AlertsError> {
    let held = loop {
        match claim(store, RULES_JOB).await? {
            Claim::Held(held) => break held,
            Claim::Busy(_) if when_busy == WhenBusy::Skip => return Ok(None),
            Claim::Busy(_) => tokio::time::sleep(POLL).await,
        }
    };
    // New imports now wait for this pass; the ones in progress are let finish.
    loop {
        match live_jobs(store).await {
            Ok(held) if held.iter().any(|l| l.job.starts_with("connector:")) => tokio::time::sleep(POLL).await,
            Ok(_) => break,
            Err(e) => {
                held.release().await;
                return Err(e.into());
            }
        }
    }
    let run = evaluate(store, loaded, now, digest).await;
    held.release().await;
    run.map(Some)
}

/// Runs `work` as the housekeeping job, unless another process is doing it; whether it ran.
pub async fn housekeeping<F: std::future::Future<Output = ()>>(store: &Store, work: F) -> Result<bool, StoreError> {
    match claim(store, HOUSEKEEPING_JOB).await? {
        Claim::Held(held) => {
            work.await;
            held.release().await;
            Ok(true)
        }
        Claim::Busy(_) => Ok(false),
    }
}

/// Why a database already recorded as `owner`'s is refused to the school `school`.
pub fn other_school(owner: &str, school: &str) -> String {
    format!(
        "this database belongs to the school \"{owner}\" (the first apsync to open it recorded so), but this \
         configuration is for \"{school}\": each school needs its own database, or the registers mix. Point \
         [database] url at this school's own database; if the school was only renamed, set [school] name back"
    )
}

/// Why this daemon may not run on its database.
#[derive(Debug, thiserror::Error)]
pub enum RefusedDatabase {
    /// The database's recorded school cannot be read.
    #[error("the database's school cannot be read: {0}")]
    Unreadable(#[source] crate::store::StoreError),
    /// The database is another school's.
    #[error("{}", other_school(.owner, .school))]
    OtherSchool {
        /// The school recorded in the database.
        owner: String,
        /// This configuration's school.
        school: String,
    },
    /// The lock file beside the SQLite database cannot be opened or locked.
    #[error("cannot lock the daemon's lock file {}: {source}", .path.display())]
    LockFile {
        /// The lock file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Another daemon holds the SQLite database.
    #[error(
        "another apsync daemon is already running on the database {} (it holds {}): one SQLite database \
         takes one daemon. Stop the other (systemctl status 'apsync*'), or, to run replicas, use PostgreSQL",
        .database.display(),
        .lock.display()
    )]
    AlreadyRunning {
        /// The SQLite file.
        database: std::path::PathBuf,
        /// Its lock file.
        lock: std::path::PathBuf,
    },
}

/// Records the database as `school`'s when it is no school's yet; refuses it when it is another's.
pub async fn claim_database(store: &Store, school: &str, now: DateTime<Utc>) -> Result<(), RefusedDatabase> {
    let owner = store
        .claim_database_for(school, now)
        .await
        .map_err(RefusedDatabase::Unreadable)?;
    if owner == school {
        Ok(())
    } else {
        Err(RefusedDatabase::OtherSchool {
            owner,
            school: school.to_string(),
        })
    }
}

/// Held while `apsync run` runs on an SQLite file: a second daemon on the same file is refused.
#[derive(Debug)]
pub struct DaemonLock {
    _file: std::fs::File,
}

/// Takes the lock file beside the SQLite database `db` (`apsync.db.daemon-lock`), which the
/// kernel releases when this process ends however it ends; refuses when another process holds it.
pub fn lock_sqlite_daemon(db: &std::path::Path) -> Result<DaemonLock, RefusedDatabase> {
    let mut name = db.as_os_str().to_owned();
    name.push(".daemon-lock");
    let path = std::path::PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path);
    let file = match file {
        Ok(f) => f,
        Err(source) => return Err(RefusedDatabase::LockFile { path, source }),
    };
    match file.try_lock() {
        Ok(()) => Ok(DaemonLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(RefusedDatabase::AlreadyRunning {
            database: db.to_path_buf(),
            lock: path,
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(RefusedDatabase::LockFile { path, source }),
    }
}
