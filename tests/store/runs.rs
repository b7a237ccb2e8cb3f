//! Connector runs cut short: closed as interrupted when their process is gone, and only then.

use apsync::outbox::owner::{LeaseOwner, Seen};
use apsync::runtime::runs::close_interrupted_runs;
use apsync::store::{RunStatus, Store};

use super::support::store::t;

/// The latest run of `connector`.
async fn latest(store: &Store, connector: &str) -> apsync::store::ConnectorRun {
    store.runs_of(connector).await.unwrap().pop().unwrap()
}

pub(crate) async fn runs_cut_short_by_a_gone_process_are_closed_as_interrupted(store: Store) {
    let now = t("2026-03-02T10:00:00Z");
    let hour_ago = t("2026-03-02T09:00:00Z");
    let days_ago = t("2026-02-28T09:00:00Z");
    let me = LeaseOwner::parse("school-srv:4026531836:100:5000").unwrap();
    // This host's processes 200 (killed) and 300 (alive, e.g. `apsync sync` next to the daemon).
    let (killed, alive) = ("school-srv:4026531836:200:4000", "school-srv:4026531836:300:4000");
    let replica = "replica-2:4026531836:200:4000";
    let probe = |pid: u32| match pid {
        300 => Seen::Running { start: 4000 },
        _ => Seen::NoSuchProcess,
    };
    // A failure before the kill: the kill makes two failures in a row.
    let failed = store.start_run("bf-sftp", killed, days_ago).await.unwrap();
    store
        .finish_run(
            failed,
            RunStatus::Failed,
            (0, 0, 0),
            Some(("auth", "login refused")),
            days_ago,
            days_ago,
        )
        .await
        .unwrap();
    store.start_run("bf-sftp", killed, hour_ago).await.unwrap();
    store.start_run("rf-imap", alive, hour_ago).await.unwrap();
    store.start_run("np-http", replica, hour_ago).await.unwrap();
    // The replica holds its run's lease (leases run on the real clock); another one, stopped, holds none.
    let real = chrono::Utc::now();
    assert!(
        store
            .take_job("connector:np-http", replica, real, real + chrono::Duration::minutes(1))
            .await
            .unwrap()
    );
    store
        .start_run("ob-http", "replica-3:4026531836:200:4000", hour_ago)
        .await
        .unwrap();
    // Runs nobody here can judge, but too old to be alive: another host's, and a foreign name.
    store.start_run("ba-sftp", replica, days_ago).await.unwrap();
    store.start_run("sh-sftp", "unknown:42", days_ago).await.unwrap();

    // The killed process's clock (`--now`) ran a little ahead of this one's: closed all the same.
    store
        .start_run("rf-folder", killed, t("2026-03-02T10:00:01Z"))
        .await
        .unwrap();

    assert_eq!(close_interrupted_runs(&store, Some(&me), probe, now).await.unwrap(), 5);
    assert_eq!(
        latest(&store, "ob-http").await.status,
        "interrupted",
        "a replica elsewhere holding no lease has stopped"
    );
    assert_eq!(latest(&store, "rf-folder").await.status, "interrupted");
    let cut = latest(&store, "bf-sftp").await;
    assert_eq!(cut.status, "interrupted");
    assert_eq!(cut.finished_at, Some(now));
    assert_eq!(cut.error_kind.as_deref(), Some("transient"));
    let error = cut.error.unwrap();
    assert!(error.contains("cut short") && error.contains(killed), "{error}");
    assert_eq!(
        latest(&store, "rf-imap").await.status,
        "running",
        "a live process's run stays"
    );
    assert_eq!(
        latest(&store, "np-http").await.status,
        "running",
        "a replica's recent run, under its lease, stays"
    );
    assert_eq!(latest(&store, "ba-sftp").await.status, "interrupted");
    assert_eq!(latest(&store, "sh-sftp").await.status, "interrupted");
    // Without knowing this process, only the age rule applies: nothing more to close.
    assert_eq!(close_interrupted_runs(&store, None, probe, now).await.unwrap(), 0);
    assert_eq!(close_interrupted_runs(&store, Some(&me), probe, now).await.unwrap(), 0);

    // The metrics show what became of the killed run, and the failing alert counts it.
    let metrics = store.metrics().await.unwrap();
    assert!(
        metrics
            .runs
            .contains(&("bf-sftp".to_string(), "interrupted".to_string(), 1)),
        "{:?}",
        metrics.runs
    );
    assert!(!metrics.runs.iter().any(|(c, s, _)| c == "bf-sftp" && s == "running"));
    let facts = store.ops_facts().await.unwrap();
    let bf = facts.connector_failures.iter().find(|(c, ..)| c == "bf-sftp").unwrap();
    assert_eq!((bf.1, bf.2.as_deref()), (2, Some(error.as_str())));

    // A run whose task died in this process (a panic outside the run's own guard) is closed
    // as failed, for that connector and process only.
    let closed = store
        .close_runs_of_connector("rf-imap", alive, RunStatus::Failed, ("permanent", "PANIC: a bug"), now)
        .await
        .unwrap();
    assert_eq!(closed, 1);
    assert_eq!(latest(&store, "rf-imap").await.status, "failed");
    assert_eq!(latest(&store, "np-http").await.status, "running");
}
