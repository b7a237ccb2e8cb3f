//! The scheduler loop over real connectors and a real store, driven by an injected clock that
//! jumps to each deadline instead of sleeping: a connector never run starts at once, runs keep to
//! their schedule without overlapping, and a failing connector backs off without holding up the
//! others.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use apsync::runtime::scheduler::{Clock, backoff, run_scheduler_with_clock};
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::support;
use crate::support::install::Install;

/// Time that passes only when the scheduler sleeps, and ends the test at `end`.
struct JumpingClock {
    now: Mutex<DateTime<Utc>>,
    end: DateTime<Utc>,
    stop: watch::Sender<bool>,
    /// When given, sources alive now: time stands still while a run holds one, so a run slowed
    /// down by a loaded machine never sees the clock race past its next scheduled time.
    in_flight: Option<Arc<std::sync::atomic::AtomicUsize>>,
}

#[async_trait::async_trait]
impl Clock for JumpingClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap()
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        // Let runs in progress make progress before time moves on.
        tokio::time::sleep(Duration::from_millis(5)).await;
        if let Some(in_flight) = &self.in_flight {
            let waited = std::time::Instant::now();
            while in_flight.load(std::sync::atomic::Ordering::SeqCst) > 0 && waited.elapsed() < Duration::from_secs(60)
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let mut now = self.now.lock().unwrap();
        if deadline > *now {
            *now = deadline;
        }
        if *now >= self.end {
            let _ = self.stop.send(true);
        }
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_run_on_schedule_without_overlap_and_failures_back_off() {
    let install = Install::new(None);
    std::fs::create_dir_all(install.path("inbox")).unwrap();
    install.add_connector(
        "hourly",
        "bright-futures",
        &format!(
            "schedule = \"0 * * * *\"\n[connector.folder]\npath = \"{}\"\nmin_age_seconds = 0\n",
            install.path("inbox").display()
        ),
    );
    let closed = support::postgres::free_port().unwrap();
    install.add_connector(
        "unreachable",
        "skills-hub",
        &format!(
            "schedule = \"0 6 * * *\"\n[connector.sftp]\nhost = \"127.0.0.1\"\nport = {closed}\nusername = \"x\"\npassword_file = \"/dev/null\"\npath = \"/\"\n"
        ),
    );
    install.ok(&["check"]);
    let loaded = Arc::new(apsync::config::load(&install.config()).unwrap());
    let store = apsync::cli::open_store(&loaded).await.unwrap();
    store
        .sync_providers(&loaded.config.providers, Utc::now())
        .await
        .unwrap();

    let start = utc("2026-03-02T08:10:00Z");
    let end = utc("2026-03-02T11:30:00Z");
    let (stop, shutdown) = watch::channel(false);
    let clock = Arc::new(JumpingClock {
        now: Mutex::new(start),
        end,
        stop,
        in_flight: None,
    });
    run_scheduler_with_clock(store.clone(), loaded, shutdown, clock)
        .await
        .unwrap();

    let hourly = store.runs_of("hourly").await.unwrap();
    assert_eq!(hourly[0].started_at, start, "never run: runs at start");
    assert!(hourly.iter().all(|r| r.status == "ok"), "{hourly:?}");
    // At most the run at start plus the 09:00, 10:00 and 11:00 slots: never doubled.
    assert!((2..=4).contains(&hourly.len()), "{hourly:?}");
    for pair in hourly.windows(2) {
        assert!(
            pair[1].started_at > pair[0].started_at + chrono::Duration::minutes(30),
            "{hourly:?}"
        );
    }

    let failing = store.runs_of("unreachable").await.unwrap();
    assert!(failing.len() >= 3, "retried: {failing:?}");
    assert!(
        failing
            .iter()
            .all(|r| r.error.as_deref().is_some_and(|e| e.starts_with("SFTP-REFUSED")))
    );
    assert!(failing.iter().all(|r| r.error_kind.as_deref() == Some("transient")));
    for (n, pair) in failing.windows(2).enumerate() {
        let gap = (pair[1].started_at - pair[0].started_at).to_std().unwrap();
        assert!(
            gap >= backoff(n as u32 + 1),
            "retry {n} came after {gap:?}: {failing:?}"
        );
    }
}

/// Stands in for a connector with a bug: the configured source, whose first listing panics.
struct PanicsOnce {
    panicked: Arc<std::sync::atomic::AtomicBool>,
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

struct Buggy {
    inner: Box<dyn apsync_connector_core::Source>,
    panicked: Arc<std::sync::atomic::AtomicBool>,
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

/// A run's source lives as long as the run (dropped too when the run panics).
impl Drop for Buggy {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl apsync::runtime::SourceBuilder for PanicsOnce {
    fn build(
        &self,
        connector: &apsync::config::ConnectorConfig,
        provider: &apsync::config::ProviderConfig,
        dir: &std::path::Path,
        today: chrono::NaiveDate,
    ) -> Result<Box<dyn apsync_connector_core::Source>, apsync_connector_core::SourceError> {
        let inner = apsync::runtime::build_source(connector, provider, dir, today)?;
        self.in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Box::new(Buggy {
            inner,
            panicked: self.panicked.clone(),
            in_flight: self.in_flight.clone(),
        }))
    }
}

#[async_trait::async_trait]
impl apsync_connector_core::Source for Buggy {
    async fn check(&mut self) -> Result<(), apsync_connector_core::SourceError> {
        self.inner.check().await
    }

    async fn discover(
        &mut self,
        checkpoint: &apsync_connector_core::Checkpoint,
        limit: usize,
    ) -> Result<Vec<apsync_connector_core::ItemRef>, apsync_connector_core::SourceError> {
        let items = self.inner.discover(checkpoint, limit).await?;
        if !self.panicked.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let empty: Vec<u8> = Vec::new();
            // The kind of bug that hides in a parser: an index past the end.
            let _ = empty[items.len()];
        }
        Ok(items)
    }

    async fn fetch(
        &mut self,
        item: &apsync_connector_core::ItemRef,
    ) -> Result<apsync_connector_core::Fetched, apsync_connector_core::SourceError> {
        self.inner.fetch(item).await
    }

    fn advance(
        &self,
        checkpoint: &apsync_connector_core::Checkpoint,
        done: &[apsync_connector_core::ItemRef],
    ) -> apsync_connector_core::Checkpoint {
        self.inner.advance(checkpoint, done)
    }

    async fn acknowledge(
        &mut self,
        item: &apsync_connector_core::ItemRef,
        outcome: apsync_connector_core::Outcome,
    ) -> Result<(), apsync_connector_core::SourceError> {
        self.inner.acknowledge(item, outcome).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_that_panics_is_recorded_failed_and_runs_again_at_its_next_time() {
    let install = Install::new(None);
    let inbox = install.path("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let sample = support::install::root().join("samples/returns/bright-futures/BF_attendance_2026-03-02.csv");
    std::fs::copy(&sample, inbox.join("BF_attendance_2026-03-02.csv")).unwrap();
    install.add_connector(
        "buggy",
        "bright-futures",
        &format!(
            "schedule = \"0 * * * *\"\n[connector.folder]\npath = \"{}\"\nmin_age_seconds = 0\n",
            inbox.display()
        ),
    );
    install.ok(&["check"]);
    let loaded = Arc::new(apsync::config::load(&install.config()).unwrap());
    let store = apsync::cli::open_store(&loaded).await.unwrap();
    store
        .sync_providers(&loaded.config.providers, Utc::now())
        .await
        .unwrap();

    let start = utc("2026-03-02T08:10:00Z");
    let (stop, shutdown) = watch::channel(false);
    let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let clock = Arc::new(JumpingClock {
        now: Mutex::new(start),
        end: utc("2026-03-02T09:30:00Z"),
        stop,
        in_flight: Some(in_flight.clone()),
    });
    let sources = Arc::new(PanicsOnce {
        panicked: Arc::default(),
        in_flight,
    });
    let done = Arc::new(tokio::sync::Notify::new());
    apsync::runtime::scheduler::run_scheduler_with_sources(store.clone(), loaded, shutdown, clock, done, sources)
        .await
        .unwrap();

    let runs = store.runs_of("buggy").await.unwrap();
    assert_eq!(runs.len(), 2, "the panicking run, then the 09:00 run: {runs:?}");
    assert_eq!(runs[0].status, "failed");
    assert_eq!(runs[0].started_at, start);
    assert_eq!(runs[0].error_kind.as_deref(), Some("permanent"));
    let error = runs[0].error.as_deref().unwrap();
    assert!(
        error.starts_with("PANIC: apsync hit an internal fault (a bug)") && error.contains("index out of bounds"),
        "{error}"
    );
    assert!(runs[0].finished_at.is_some());
    // Not left busy: it ran at its next time, and imported the return it could not list before.
    assert_eq!(runs[1].status, "ok", "{runs:?}");
    let next = runs[1].started_at;
    assert!(
        next >= utc("2026-03-02T09:00:00Z") && next < utc("2026-03-02T09:01:00Z"),
        "{runs:?}"
    );
    assert_eq!(runs[1].documents, 1, "{runs:?}");
}

/// Stands in for a disk with a bad sector under one file: the configured source, whose every
/// download of `A_poison.csv` breaks off.
struct BadSector;

struct FailsOnOne(Box<dyn apsync_connector_core::Source>);

impl apsync::runtime::SourceBuilder for BadSector {
    fn build(
        &self,
        connector: &apsync::config::ConnectorConfig,
        provider: &apsync::config::ProviderConfig,
        dir: &std::path::Path,
        today: chrono::NaiveDate,
    ) -> Result<Box<dyn apsync_connector_core::Source>, apsync_connector_core::SourceError> {
        Ok(Box::new(FailsOnOne(apsync::runtime::build_source(
            connector, provider, dir, today,
        )?)))
    }
}

#[async_trait::async_trait]
impl apsync_connector_core::Source for FailsOnOne {
    async fn check(&mut self) -> Result<(), apsync_connector_core::SourceError> {
        self.0.check().await
    }

    async fn discover(
        &mut self,
        checkpoint: &apsync_connector_core::Checkpoint,
        limit: usize,
    ) -> Result<Vec<apsync_connector_core::ItemRef>, apsync_connector_core::SourceError> {
        self.0.discover(checkpoint, limit).await
    }

    async fn fetch(
        &mut self,
        item: &apsync_connector_core::ItemRef,
    ) -> Result<apsync_connector_core::Fetched, apsync_connector_core::SourceError> {
        if item.display_name == "A_poison.csv" {
            return Err(apsync_connector_core::SourceError::new(
                apsync_connector_core::ErrorKind::Transient,
                apsync_connector_core::ErrorCode::FolderIo,
                "cannot read A_poison.csv: Input/output error (os error 5)",
            ));
        }
        self.0.fetch(item).await
    }

    fn advance(
        &self,
        checkpoint: &apsync_connector_core::Checkpoint,
        done: &[apsync_connector_core::ItemRef],
    ) -> apsync_connector_core::Checkpoint {
        self.0.advance(checkpoint, done)
    }

    async fn acknowledge(
        &mut self,
        item: &apsync_connector_core::ItemRef,
        outcome: apsync_connector_core::Outcome,
    ) -> Result<(), apsync_connector_core::SourceError> {
        self.0.acknowledge(item, outcome).await
    }

    async fn quarantine(
        &mut self,
        item: &apsync_connector_core::ItemRef,
    ) -> Result<(), apsync_connector_core::SourceError> {
        self.0.quarantine(item).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_fails_every_run_is_set_aside_after_quarantine_after_runs_and_the_rest_flow() {
    let install = Install::new(None);
    install.import_sample_roster();
    let inbox = install.path("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let sample = support::install::root().join("samples/returns/bright-futures/BF_attendance_2026-03-02.csv");
    std::fs::copy(&sample, inbox.join("BF_attendance_2026-03-02.csv")).unwrap();
    // Listed first (name order), so until it is set aside it holds up the return after it.
    std::fs::copy(&sample, inbox.join("A_poison.csv")).unwrap();
    install.add_connector(
        "drop",
        "bright-futures",
        &format!(
            "quarantine_after = 3\n[connector.folder]\npath = \"{}\"\nmin_age_seconds = 0\nprocessed = \"{}\"\n",
            inbox.display(),
            inbox.join("processed").display()
        ),
    );
    install.ok(&["check"]);
    let loaded = apsync::config::load(&install.config()).unwrap();
    let store = apsync::cli::open_store(&loaded).await.unwrap();
    let connector = &loaded.config.connectors[0];
    let now = Utc::now();
    for run in 1..=2 {
        let report = apsync::runtime::sync::run_connector_with(&store, &loaded, connector, &BadSector, now)
            .await
            .unwrap();
        assert_eq!((report.documents, report.refused), (0, 0), "run {run}: {report:?}");
        assert!(report.error.as_deref().unwrap().starts_with("FOLDER-IO"), "{report:?}");
    }
    let third = apsync::runtime::sync::run_connector_with(&store, &loaded, connector, &BadSector, now)
        .await
        .unwrap();
    assert_eq!(
        (third.documents, third.refused, third.error.clone()),
        (1, 1, None),
        "set aside, and the rest imported: {third:?}"
    );
    assert!(inbox.join("failed/A_poison.csv").exists());
    assert!(inbox.join("processed/BF_attendance_2026-03-02.csv").exists());
    let refused = store.refusals_since(now - chrono::Duration::hours(1)).await.unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].code, "QUARANTINED");
    assert!(
        refused[0]
            .reason
            .starts_with("it failed 3 runs in a row, the last with FOLDER-IO"),
        "{}",
        refused[0].reason
    );
    // Told once: later runs find nothing more to say.
    let fourth = apsync::runtime::sync::run_connector_with(&store, &loaded, connector, &BadSector, now)
        .await
        .unwrap();
    assert_eq!((fourth.documents, fourth.refused, fourth.error), (0, 0, None));
}
