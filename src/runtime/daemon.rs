//! `apsync run`: the daemon. One process runs the scheduler, the rules, the email and push
//! senders and the HTTP server; tells systemd when it is ready (`READY=1`), feeds the watchdog
//! while its loops are alive and the store answers, shows the last run in `STATUS=`, re-reads
//! its configuration on SIGHUP (keeping the old one if the new one is wrong), and on SIGTERM
//! stops taking work, lets the work in flight finish (or drops it, rolling its transaction back)
//! and exits within [`STOP_BUDGET`].

pub mod health;
mod workers;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use sd_notify::NotifyState;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::config::LoadedConfig;
use crate::http::{AppState, ConnectionLimits, HttpListener, serve};
use crate::runtime::visits::VisitIntake;
use crate::store::Store;
use workers::{DaemonState, Heartbeats, WorkerError};

/// How long the loops get to finish their work after SIGTERM before it is dropped (an open
/// transaction then rolls back). Within systemd's 10 s with room to close the store.
pub const STOP_BUDGET: Duration = Duration::from_secs(8);

/// Tells systemd something; outside systemd (no `NOTIFY_SOCKET`) this does nothing.
fn tell(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("cannot notify systemd: {e}");
    }
}

/// Why the daemon could not start, or stopped on its own.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// A signal cannot be watched (the process runs somewhere without signals).
    #[error("cannot watch for {name}: {source}")]
    Signal {
        /// The signal.
        name: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP server cannot listen.
    #[error(transparent)]
    Listen(#[from] crate::http::ListenError),
    /// The bound socket cannot say its address.
    #[error("the HTTP socket: {0}")]
    Socket(std::io::Error),
    /// Another daemon holds this SQLite file, or the database belongs to another school.
    #[error(transparent)]
    Refused(#[from] super::jobs::RefusedDatabase),
    /// A work loop ended or failed, so the daemon stopped (systemd restarts it).
    #[error("{0}")]
    Stopped(String),
}

/// Runs the daemon until SIGTERM or Ctrl-C. `config_path` is re-read on SIGHUP. `offset` shifts
/// the clock (zero in service; `--now` sets it to replay a day).
pub async fn run(
    config_path: &Path,
    loaded: LoadedConfig,
    store: Store,
    offset: chrono::Duration,
) -> Result<(), DaemonError> {
    let watch = |kind, name| signal(kind).map_err(|source| DaemonError::Signal { name, source });
    let mut term = watch(SignalKind::terminate(), "SIGTERM")?;
    let mut hup = watch(SignalKind::hangup(), "SIGHUP")?;
    let mut int = watch(SignalKind::interrupt(), "SIGINT")?;
    // One daemon per SQLite file; on PostgreSQL replicas share the work through job leases.
    let _lock = match store.sqlite_file() {
        Some(db) => Some(super::jobs::lock_sqlite_daemon(&db)?),
        None => None,
    };
    super::jobs::claim_database(&store, &loaded.config.school.name, chrono::Utc::now() + offset).await?;
    let creds = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
    let listener = HttpListener::bind(&loaded.config.http, creds.as_deref(), loaded.dir()).await?;
    let addr = listener.local_addr().map_err(DaemonError::Socket)?;
    let http_config = loaded.config.http.clone();
    let limits = ConnectionLimits::from(&http_config);
    let (config_tx, config_rx) = watch::channel(Arc::new(loaded));
    let (stop_tx, stop_rx) = watch::channel(false);
    let shared = DaemonState {
        store: store.clone(),
        config: config_rx,
        stop: stop_rx.clone(),
        rules_wake: Arc::new(Notify::new()),
        email_wake: Arc::new(Notify::new()),
        beats: Arc::new(Heartbeats::default()),
        offset,
    };
    let config_loaded = Arc::new(AtomicBool::new(true));
    // The intake follows the configuration: an endpoint added by SIGHUP gets the API's visits.
    let (intake_tx, intake) = watch::channel(Arc::new(VisitIntake::new(&shared.config.borrow().config)));
    let mut reloaded = shared.config.clone();
    tokio::spawn(async move {
        while reloaded.changed().await.is_ok() {
            let next = VisitIntake::new(&reloaded.borrow_and_update().config);
            if intake_tx.send(Arc::new(next)).is_err() {
                break;
            }
        }
    });
    let state = AppState {
        store: store.clone(),
        intake,
        guards: Arc::default(),
        body_limit: http_config.body_limit,
        config_loaded,
        clock_offset: offset,
    };
    let mut tasks: JoinSet<(&'static str, Result<(), WorkerError>)> = JoinSet::new();
    tasks.spawn(named("scheduler", workers::scheduler(shared.clone())));
    tasks.spawn(named("rules", workers::rules(shared.clone())));
    tasks.spawn(named("email", workers::email(shared.clone())));
    tasks.spawn(named("push", workers::pushes(shared.clone())));
    let mut http_stop = stop_rx.clone();
    tasks.spawn(named("http", async move {
        let stopped = async move {
            let _ = http_stop.wait_for(|s| *s).await;
        };
        serve(listener, state, limits, stopped).await.map_err(WorkerError::Http)
    }));
    let scheme = if http_config.tls.is_some() { "https" } else { "http" };
    // A plain first line (tests and operators read the address from it).
    eprintln!(
        "apsync run: visit intake at {scheme}://{addr}/api/v1/visits; /healthz, /readyz, /metrics; stop with SIGTERM, reload with SIGHUP"
    );
    let watchdog = sd_notify::watchdog_enabled();
    let mut tick = tokio::time::interval(health::tick(watchdog));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tell(&[NotifyState::Ready, NotifyState::Status("started")]);
    let failure = loop {
        tokio::select! {
            _ = term.recv() => break None,
            _ = int.recv() => break None,
            _ = hup.recv() => reload(config_path, &config_tx, &store, &http_config, shared.now()).await,
            _ = tick.tick() => supervise(&store, &shared.beats, watchdog.is_some()).await,
            Some(ended) = tasks.join_next() => {
                let why = match ended {
                    Ok((name, Ok(()))) => format!("the {name} loop ended unexpectedly"),
                    Ok((name, Err(e))) => format!("the {name} loop failed: {e}"),
                    Err(e) => format!("a loop panicked: {e}"),
                };
                tracing::error!("{why}");
                break Some(why);
            }
        }
    };
    let started = Instant::now();
    tell(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    tracing::info!(
        "stopping: no new work; waiting up to {} s for the work in flight",
        STOP_BUDGET.as_secs()
    );
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(STOP_BUDGET, async {
        while let Some(ended) = tasks.join_next().await {
            if let Ok((name, Err(e))) = ended {
                tracing::warn!("the {name} loop failed while stopping: {e}");
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "work still in flight after {} s was dropped; its transaction rolled back",
            STOP_BUDGET.as_secs()
        );
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), store.close()).await;
    eprintln!("apsync run: stopped in {} ms", started.elapsed().as_millis());
    failure.map_or(Ok(()), |why| Err(DaemonError::Stopped(why)))
}

/// Tags a loop's result with its name.
async fn named(
    name: &'static str,
    work: impl std::future::Future<Output = Result<(), WorkerError>>,
) -> (&'static str, Result<(), WorkerError>) {
    (name, work.await)
}

/// Re-reads the configuration; a wrong one is reported and the old one kept.
async fn reload(
    path: &Path,
    config: &watch::Sender<Arc<LoadedConfig>>,
    store: &Store,
    http: &crate::config::HttpServerConfig,
    now: chrono::DateTime<chrono::Utc>,
) {
    tell(&[NotifyState::Status("reloading the configuration")]);
    let loaded = match crate::config::load(path) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("SIGHUP: the new configuration is wrong, so the old one stays in use:\n{e}");
            tell(&[NotifyState::Status(
                "configuration reload failed; the old one is in use",
            )]);
            return;
        }
    };
    if let Err(e) = store.sync_providers(&loaded.config.providers, now).await {
        tracing::error!("SIGHUP: the providers could not be saved, so the old configuration stays in use: {e}");
        return;
    }
    if loaded.config.http.listen != http.listen {
        tracing::warn!("SIGHUP: [http] changes apply at the next restart");
    }
    // The store stays open on the database it was started with: moving it is a restart.
    if loaded.config.database.url != config.borrow().config.database.url {
        tracing::warn!("SIGHUP: [database] changes apply at the next restart; the current database stays in use");
    }
    let _ = config.send(Arc::new(loaded));
    tracing::info!("SIGHUP: configuration reloaded from {}", path.display());
    tell(&[NotifyState::Status("configuration reloaded")]);
}

/// One supervisor tick: the store answers and no loop is stuck → ping the watchdog; always
/// refresh `STATUS=`.
async fn supervise(store: &Store, beats: &Heartbeats, watchdog: bool) {
    // Liveness is real time, whatever `--now` says: the heartbeats are stamped by the wall clock.
    let stuck = health::stuck(&beats.all(), chrono::Utc::now(), health::STUCK_AFTER)
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
    let store_ok = match tokio::time::timeout(Duration::from_secs(10), store.ping()).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::error!("the store does not answer: {e}");
            false
        }
        Err(_) => {
            tracing::error!("the store did not answer within 10 s");
            false
        }
    };
    if !stuck.is_empty() {
        tracing::error!("loop(s) {} have not completed a pass for 15 minutes", stuck.join(", "));
    }
    if watchdog && store_ok && stuck.is_empty() {
        tell(&[NotifyState::Watchdog]);
    }
    if store_ok {
        let runs = store.latest_runs().await.unwrap_or_default();
        let backlog = store
            .outbox_health()
            .await
            .map(|rows| rows.iter().map(|(_, pending, ..)| pending).sum())
            .unwrap_or(0);
        tell(&[NotifyState::Status(&health::status_line(&runs, backlog))]);
    }
}
