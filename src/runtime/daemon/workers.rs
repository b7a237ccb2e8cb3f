//! The daemon's work loops: each does its work, records a heartbeat, then waits for its period,
//! a wake-up, or the stop signal. Work in progress is never interrupted by the stop signal; the
//! supervisor bounds how long it waits for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};
use tracing::Instrument;

use crate::config::LoadedConfig;
use crate::outbox::push::PushSink;
use crate::runtime::scheduler::{Clock, SystemClock, run_scheduler_notifying};
use crate::runtime::visits::{VisitIntake, dispatch_pushes, push_sinks, read_csv_folder};
use crate::runtime::{alerts, jobs};
use crate::store::{Store, StoreError};

/// Why one of the daemon's work loops stopped.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The scheduler lost the store.
    #[error("the scheduler stopped: {0}")]
    Scheduler(#[source] StoreError),
    /// The HTTP server failed.
    #[error("the HTTP server failed: {0}")]
    Http(#[source] std::io::Error),
}

/// How often the rules run when no connector run wakes them.
pub const RULES_EVERY: Duration = Duration::from_secs(5 * 60);
/// How often the email sender looks for due rows when nothing wakes it.
pub const EMAIL_EVERY: Duration = Duration::from_secs(5);

/// When each loop last completed a pass.
#[derive(Debug, Default)]
pub struct Heartbeats(Mutex<HashMap<&'static str, DateTime<Utc>>>);

impl Heartbeats {
    /// Records a pass of `name`.
    pub fn beat(&self, name: &'static str) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(name, Utc::now());
        }
    }

    /// Every loop's last pass.
    pub fn all(&self) -> Vec<(&'static str, DateTime<Utc>)> {
        self.0
            .lock()
            .map(|m| m.iter().map(|(k, v)| (*k, *v)).collect())
            .unwrap_or_default()
    }
}

/// What every loop shares.
#[derive(Debug, Clone)]
pub struct DaemonState {
    /// The store.
    pub store: Store,
    /// The current configuration (replaced on SIGHUP).
    pub config: watch::Receiver<Arc<LoadedConfig>>,
    /// Becomes true on SIGTERM.
    pub stop: watch::Receiver<bool>,
    /// Wakes the rules (after each connector run).
    pub rules_wake: Arc<Notify>,
    /// Wakes the email sender (after the rules queued mail).
    pub email_wake: Arc<Notify>,
    /// Heartbeats for the watchdog.
    pub beats: Arc<Heartbeats>,
    /// Added to the wall clock: zero, or the shift `--now` asks for (to replay a day).
    pub offset: chrono::Duration,
}

impl DaemonState {
    /// The daemon's "now".
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }
}

/// The wall clock shifted by `--now`, for the scheduler.
#[derive(Debug, Clone, Copy)]
pub struct ShiftedClock(pub chrono::Duration);

#[async_trait::async_trait]
impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.0
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        SystemClock.sleep_until(deadline - self.0).await;
    }
}

/// Waits `period`, or for `wake`; false when the daemon is stopping.
async fn pause(period: Duration, wake: Option<&Notify>, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return false;
    }
    let woken = async {
        match wake {
            Some(w) => w.notified().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = stop.wait_for(|s| *s) => false,
        () = tokio::time::sleep(period) => true,
        () = woken => true,
    }
}

/// The scheduler, restarted with the new configuration after a reload.
pub async fn scheduler(mut s: DaemonState) -> Result<(), WorkerError> {
    loop {
        let config = s.config.borrow_and_update().clone();
        let (halt, halted) = watch::channel(false);
        let run = run_scheduler_notifying(
            s.store.clone(),
            config,
            halted,
            Arc::new(ShiftedClock(s.offset)),
            s.rules_wake.clone(),
        );
        tokio::pin!(run);
        let stopping = tokio::select! {
            r = &mut run => return r.map_err(WorkerError::Scheduler),
            _ = s.config.changed() => false,
            _ = s.stop.wait_for(|v| *v) => true,
        };
        let _ = halt.send(true);
        run.await.map_err(WorkerError::Scheduler)?;
        if stopping {
            return Ok(());
        }
        tracing::info!("scheduler restarted with the reloaded configuration");
    }
}

/// The rules, after each connector run and every [`RULES_EVERY`].
pub async fn rules(mut s: DaemonState) -> Result<(), WorkerError> {
    loop {
        let config = s.config.borrow().clone();
        match jobs::evaluate_once(&s.store, &config, s.now(), true, jobs::WhenBusy::Skip)
            .instrument(tracing::info_span!("rules"))
            .await
        {
            Ok(None) => tracing::debug!("another replica is running the rules"),
            Ok(Some(run)) => {
                tracing::debug!(digest = run.digest, "rules evaluated");
                s.email_wake.notify_one();
            }
            Err(e) => tracing::error!("the rules could not run: {e}"),
        }
        s.beats.beat("rules");
        if !pause(RULES_EVERY, Some(&s.rules_wake), &mut s.stop).await {
            return Ok(());
        }
    }
}

/// The email sender: due rows every [`EMAIL_EVERY`], or when woken.
pub async fn email(mut s: DaemonState) -> Result<(), WorkerError> {
    loop {
        let config = s.config.borrow().clone();
        if let Err(e) = alerts::dispatch(&s.store, &config, s.now()).await {
            tracing::error!("email: {e}");
        }
        s.beats.beat("email");
        if !pause(EMAIL_EVERY, Some(&s.email_wake), &mut s.stop).await {
            return Ok(());
        }
    }
}

/// The push sender: reads the visits CSV folder, then pushes due visits every
/// `[visits] push_interval_seconds`.
pub async fn pushes(mut s: DaemonState) -> Result<(), WorkerError> {
    let mut built: Option<(Arc<LoadedConfig>, Vec<PushSink>, VisitIntake)> = None;
    loop {
        let config = s.config.borrow().clone();
        if built.as_ref().is_none_or(|(c, ..)| !Arc::ptr_eq(c, &config)) {
            match push_sinks(&config.config, config.dir()) {
                Ok(sinks) => built = Some((config.clone(), sinks, VisitIntake::new(&config.config))),
                Err(e) => tracing::error!("visits cannot be pushed: {e}"),
            }
        }
        let period = config.config.visits.push_interval;
        if let Some((_, sinks, intake)) = &built {
            let now = s.now();
            if let Some(folder) = &config.config.visits.csv_folder
                && let Err(e) = read_csv_folder(&s.store, intake, folder, now).await
            {
                tracing::error!("reading the visits CSV folder failed: {e}");
            }
            if let Err(e) = dispatch_pushes(&s.store, sinks, now).await {
                tracing::error!("pushing visits failed: {e}");
            }
        }
        s.beats.beat("push");
        if !pause(period, None, &mut s.stop).await {
            return Ok(());
        }
    }
}
