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

use super::{
    Daemon, NOW, assert_each_delivered_once, expected_marks, message_id, pending, post_visit, wait_for, world_in,
};

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

/// Whether `holder` (`host:pidns:pid:start`) is the process `pid`.
fn is_pid(holder: &str, pid: u32) -> bool {
    holder.rsplit(':').nth(1) == Some(pid.to_string().as_str())
}

#[tokio::test(flavor = "multi_thread")]
async fn three_replicas_one_killed_at_random_moments_end_with_everything_exactly_once() {
    use super::kills::{Lcg, arrival_order, arrives_later};
    let rounds: usize = std::env::var("APSYNC_REPLICA_KILL_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let seed = std::env::var("APSYNC_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_204);
    eprintln!("replica kill test: 3 replicas on PostgreSQL, {rounds} rounds, seed {seed}");
    let mut rng = Lcg(seed);
    let db = test_database().await;
    let pool = db.pool().await;
    let ep = Endpoint::start(vec![]).await;
    let (w, held) = tokio::task::block_in_place(|| world_in(&ep, arrives_later, Some("* * * * *"), Some(db.url())));
    let mut arriving = arrival_order(held);
    eprintln!("{} returns arrive while replicas are being killed", arriving.len());
    // One clock for every replica (the rules of each see the same moment), moving with real time.
    let began = Instant::now();
    let now = || (chrono::DateTime::parse_from_rfc3339(NOW).unwrap() + began.elapsed()).to_rfc3339();
    let mut starts = 0;
    let start = |starts: &mut usize| {
        *starts += 1;
        let log = w.install.path(&format!("replica-{starts}.log"));
        tokio::task::block_in_place(|| Daemon::start_with(&w.install.config(), log, &now(), None))
    };
    let mut replicas: Vec<Daemon> = (0..3).map(|_| start(&mut starts)).collect();
    let mut posted = BTreeSet::new();
    let mut in_flight: BTreeSet<(String, String)> = BTreeSet::new();
    let mut kills_mid_run = 0;
    for round in 1..=rounds {
        let count = arriving.len().div_ceil(rounds + 1 - round);
        for r in arriving.drain(..count) {
            tokio::task::block_in_place(|| w.servers.send(&r));
        }
        let to = usize::try_from(rng.next(3)).unwrap();
        posted.insert(post_visit(&replicas[to].base, &w.token, round).await);
        // Half the rounds wait (up to 5 s) for a connector run in progress, to kill mid-import.
        let hunting = rng.next(2) == 0;
        let delay = Duration::from_millis(rng.next(if hunting { 200 } else { 2500 }));
        let held = || async {
            sqlx::query_scalar::<_, String>(
                "SELECT held_by FROM job_leases WHERE job LIKE 'connector:%' AND held_by IS NOT NULL AND leased_until > now()",
            )
            .fetch_all(&pool)
            .await
            .unwrap()
        };
        if hunting {
            let until = Instant::now() + Duration::from_secs(5);
            while held().await.is_empty() && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        tokio::time::sleep(delay).await;
        let holders = held().await;
        let running: Vec<usize> = (0..3)
            .filter(|i| holders.iter().any(|h| is_pid(h, replicas[*i].child.id())))
            .collect();
        let victim = if !running.is_empty() && hunting {
            running[usize::try_from(rng.next(running.len() as u64)).unwrap()]
        } else {
            usize::try_from(rng.next(3)).unwrap()
        };
        let pid = replicas[victim].child.id();
        // Stopped first, so what it had in flight is read before anyone can release it.
        replicas[victim].signal("STOP");
        let mid_run: Vec<String> = sqlx::query_as::<_, (String, String)>(
            "SELECT job, held_by FROM job_leases WHERE job LIKE 'connector:%' AND held_by IS NOT NULL AND leased_until > now()",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, h)| is_pid(h, pid))
        .map(|(j, _)| j)
        .collect();
        let unfinished: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT payload, attempt_started_at::text, leased_by FROM outbox
             WHERE channel = 'email' AND status = 'pending' AND attempt_started_at IS NOT NULL AND leased_by IS NOT NULL",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        let cut: BTreeSet<(String, String)> = unfinished
            .into_iter()
            .filter(|(_, _, by)| is_pid(by, pid))
            .map(|(payload, at, _)| {
                let v: serde_json::Value = serde_json::from_str(&payload).unwrap();
                (message_id(v["message"].as_str().unwrap_or_default()), at)
            })
            .collect();
        let old = replicas.remove(victim);
        tokio::task::block_in_place(|| old.kill());
        if !mid_run.is_empty() {
            kills_mid_run += 1;
        }
        let new = cut.difference(&in_flight).count();
        in_flight.extend(cut);
        replicas.insert(victim, start(&mut starts));
        eprintln!(
            "round {round}: {count} returns arrived; replica {victim} (pid {pid}) killed after {delay:?}{}, \
             holding {mid_run:?}, {new} email(s) in flight",
            if hunting {
                format!(" (hunting: {} runs in progress)", holders.len())
            } else {
                String::new()
            }
        );
    }
    eprintln!("{kills_mid_run} of {rounds} kills cut a connector run short");
    for r in arriving.drain(..) {
        tokio::task::block_in_place(|| w.servers.send(&r));
    }
    let expected = expected_marks();
    let limit = Duration::from_secs(150);
    let started = Instant::now();
    tokio::task::block_in_place(|| {
        wait_for(limit, "the register", || w.install.marks() == expected);
        eprintln!("the register was complete {:?} after the last kill", started.elapsed());
        wait_for(limit, "every visit at the endpoint", || {
            ep.stored().iter().map(|(k, _)| k.clone()).collect::<BTreeSet<_>>() == posted
        });
        wait_for(limit, "an empty outbox", || pending(&w.install) == 0);
        eprintln!("the outbox was empty {:?} after the last kill", started.elapsed());
    });
    // Runs the killed replicas left are closed by the survivors (the holders are gone).
    let deadline = Instant::now() + limit;
    loop {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM connector_runs WHERE status = 'running'")
            .fetch_one(&pool)
            .await
            .unwrap();
        if n == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{n} connector runs still marked running");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for r in replicas {
        let (status, log) = tokio::task::block_in_place(|| r.stop());
        assert!(status.success(), "{log}");
    }
    assert_each_delivered_once(&w, &ep, &posted, &in_flight);
    let runs = runs(&pool).await;
    eprintln!("connector runs: {runs:?}");
    // Returns arrive late on purpose here, so "still no return" is raised, then resolved when the
    // return comes: true at the time. A false one is raised when the mark was already held.
    let back = taken_back(&pool).await;
    eprintln!("{} alerts raised then resolved as their returns arrived", back.len());
    let false_alerts: Vec<String> = sqlx::query_scalar(
        "SELECT a.subject_key FROM alerts a JOIN marks m
           ON a.subject_key = m.upn || ':' || m.date::text || ':' || m.session
         WHERE a.rule = 'missing-return' AND a.first_seen > m.recorded_at + interval '1 second'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        false_alerts,
        Vec::<String>::new(),
        "missing-return alerts raised while the mark was held"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_schools_instances_side_by_side_on_one_postgresql_server_each_keep_their_register() {
    let (oak_db, elm_db) = (test_database().await, test_database().await);
    let ep = Endpoint::start(vec![]).await;
    let (oak, _) = tokio::task::block_in_place(|| world_in(&ep, |_| false, None, Some(oak_db.url())));
    let (elm, _) = tokio::task::block_in_place(|| world_in(&ep, |_| false, None, Some(elm_db.url())));
    // As apsync@oak-academy and apsync@elm-school would run them: /etc/apsync/SCHOOL.toml each.
    let school = |w: &super::World, name: &str, file: &str| {
        let text = std::fs::read_to_string(w.install.config()).unwrap();
        let text = text.replace("name = \"Example Academy\"", &format!("name = \"{name}\""));
        let path = w.install.path(file);
        std::fs::write(&path, text).unwrap();
        path
    };
    let oak_toml = school(&oak, "Oak Academy", "oak-academy.toml");
    let elm_toml = school(&elm, "Elm School", "elm-school.toml");
    std::fs::remove_file(oak.install.config()).unwrap();
    std::fs::remove_file(elm.install.config()).unwrap();
    let daemons = [
        tokio::task::block_in_place(|| Daemon::start_with(&oak_toml, oak.install.path("oak.log"), NOW, None)),
        tokio::task::block_in_place(|| Daemon::start_with(&elm_toml, elm.install.path("elm.log"), NOW, None)),
    ];
    let marks = |config: &std::path::Path| {
        let out = spawn(config, &["marks", "--format", "csv"]).wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let expected = expected_marks();
    tokio::task::block_in_place(|| {
        wait_for(Duration::from_secs(90), "Oak Academy's register", || {
            marks(&oak_toml) == expected
        });
        wait_for(Duration::from_secs(90), "Elm School's register", || {
            marks(&elm_toml) == expected
        });
    });
    // A third school's file beside Oak's, naming Oak's database: refused by check, and by run.
    let ash_toml = oak.install.path("ash-college.toml");
    std::fs::write(
        &ash_toml,
        std::fs::read_to_string(&oak_toml)
            .unwrap()
            .replace("name = \"Oak Academy\"", "name = \"Ash College\""),
    )
    .unwrap();
    let check = tokio::task::block_in_place(|| spawn(&oak_toml, &["check"]).wait_with_output().unwrap());
    let said = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(2), "{said}");
    assert!(
        said.contains("ash-college.toml") && said.contains("Ash College"),
        "{said}"
    );
    let run = tokio::task::block_in_place(|| spawn(&ash_toml, &["run"]).wait_with_output().unwrap());
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(
        !run.status.success(),
        "a daemon for another school on Oak's database is refused"
    );
    assert!(said.contains("belongs to the school \"Oak Academy\""), "{said}");
    std::fs::remove_file(&ash_toml).unwrap();
    for d in daemons {
        let (status, log) = tokio::task::block_in_place(|| d.stop());
        assert!(status.success(), "{log}");
    }
    assert_eq!(marks(&oak_toml), expected);
    assert_eq!(marks(&elm_toml), expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_daemon_on_one_sqlite_file_is_refused_and_the_first_keeps_running() {
    let install = crate::support::install::Install::new(None);
    let text = std::fs::read_to_string(install.config()).unwrap();
    std::fs::write(
        install.config(),
        text.replace("listen = \"127.0.0.1:8087\"", "listen = \"127.0.0.1:0\""),
    )
    .unwrap();
    install.ok(&["check"]);
    let first = Daemon::start_with(&install.config(), install.path("first.log"), NOW, None);
    let mut second = spawn(&install.config(), &["run"]);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = second.kill();
            panic!("a second daemon on the same SQLite file was not refused");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let said = second.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&said.stderr);
    assert!(!status.success(), "{said}");
    assert!(
        said.contains("another apsync daemon is already running on the database")
            && said.contains("apsync.db.daemon-lock")
            && said.contains("use PostgreSQL"),
        "{said}"
    );
    // The first is untouched by the attempt: it still stops cleanly.
    let (stopped, log) = first.stop();
    assert!(stopped.success(), "{log}");
}
