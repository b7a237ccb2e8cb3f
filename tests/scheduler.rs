//! The scheduler loop over real connectors and a real store, driven by an injected clock that
//! jumps to each deadline instead of sleeping: a connector never run starts at once, runs keep to
//! their schedule without overlapping, and a failing connector backs off without holding up the
//! others.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use apsync::runtime::scheduler::{Clock, backoff, run_scheduler_with_clock};
use chrono::{DateTime, Utc};
use support::install::Install;
use tokio::sync::watch;

/// Time that passes only when the scheduler sleeps, and ends the test at `end`.
struct JumpingClock {
    now: Mutex<DateTime<Utc>>,
    end: DateTime<Utc>,
    stop: watch::Sender<bool>,
}

#[async_trait::async_trait]
impl Clock for JumpingClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap()
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        // Let runs in progress make progress before time moves on.
        tokio::time::sleep(Duration::from_millis(5)).await;
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
            "schedule = \"0 6 * * *\"\n[connector.sftp]\nhost = \"127.0.0.1\"\nport = {closed}\nuser = \"x\"\npassword_file = \"/dev/null\"\npath = \"/\"\n"
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
