//! Killed with SIGKILL: at pseudo-random moments over many restarts the daemon still ends with
//! exactly the expected register, every visit stored once and every email delivered; and a run
//! a kill cut short is closed as interrupted at the next start.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use crate::support::endpoint::Endpoint;
use crate::support::install::Install;
use crate::support::sample_servers::{Return, sample_files};

use super::{
    Daemon, NOW, assert_each_delivered_once, expected_marks, get, message_id, pending, post_visit, wait_for,
    world_holding_back,
};

/// A small deterministic generator, so a failing run can be repeated (seed printed).
pub(super) struct Lcg(pub(super) u64);

impl Lcg {
    pub(super) fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

/// The installation's store, opened while no daemon runs (to see what a kill left behind).
async fn open_store(install: &Install) -> apsync::store::Store {
    let config = apsync::config::DatabaseConfig {
        url: apsync::config::DatabaseUrl::Sqlite(install.path("apsync.db")),
        password_file: None,
        max_connections: 1,
        tls: Default::default(),
    };
    apsync::store::Store::open(&config, None).await.unwrap()
}

/// Whether a return is held back: all but each provider's first.
pub(super) fn arrives_later(r: &Return) -> bool {
    sample_files(r.provider).first().map(|(name, _)| name) != Some(&r.name)
}

/// The held-back returns in the order they arrive: each provider's second, then each one's
/// third, and so on, so providers take turns and each one's returns keep their order.
pub(super) fn arrival_order(held: Vec<Return>) -> VecDeque<Return> {
    let mut place: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut keyed: Vec<(usize, Return)> = held
        .into_iter()
        .map(|r| {
            let n = place.entry(r.provider).or_insert(0);
            *n += 1;
            (*n, r)
        })
        .collect();
    keyed.sort_by_key(|(n, _)| *n);
    keyed.into_iter().map(|(_, r)| r).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_at_random_moments_it_ends_with_every_mark_and_delivery_exactly_once() {
    let rounds: usize = std::env::var("APSYNC_KILL_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let seed = std::env::var("APSYNC_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_127);
    eprintln!("kill test: {rounds} rounds, seed {seed}");
    let mut rng = Lcg(seed);
    let ep = Endpoint::start(vec![]).await;
    // Each provider's first return is there from the start; the others arrive between rounds, so
    // later starts import too and kills keep landing mid-import. Connectors run every minute and
    // each start's clock is a minute on from the last: every start has a run to catch up on.
    let (w, held) = tokio::task::block_in_place(|| world_holding_back(&ep, arrives_later, Some("* * * * *")));
    let mut arriving = arrival_order(held);
    eprintln!("{} returns arrive while the daemon is being killed", arriving.len());
    let mut posted = BTreeSet::new();
    // Each start's clock carries on from the last (leases and retry times stay meaningful).
    let began = Instant::now();
    let now = |round: usize| {
        let at = chrono::DateTime::parse_from_rfc3339(NOW).unwrap()
            + began.elapsed()
            + chrono::Duration::minutes(i64::try_from(round).unwrap());
        at.to_rfc3339()
    };
    let mut late_kills_mid_run = 0;
    // Every email attempt a kill left unfinished, as its row shows: (Message-ID, attempt start).
    let mut in_flight: BTreeSet<(String, String)> = BTreeSet::new();
    for round in 1..=rounds {
        // From the second start on, returns arrive before every start, spread over the rounds.
        let count = if round == 1 {
            0
        } else {
            arriving.len().div_ceil(rounds + 1 - round)
        };
        for r in arriving.drain(..count) {
            tokio::task::block_in_place(|| w.servers.send(&r));
        }
        let daemon = tokio::task::block_in_place(|| Daemon::start(&w.install, round, &now(round)));
        posted.insert(post_visit(&daemon.base, &w.token, round).await);
        // The first half dies young, mid-import; later rounds too one time in two (returns keep
        // arriving), otherwise later: mid-delivery or idle.
        let young = round <= rounds / 2 || rng.next(2) == 0;
        let delay = Duration::from_millis(if young { rng.next(300) } else { 100 + rng.next(2500) });
        tokio::time::sleep(delay).await;
        tokio::task::block_in_place(|| daemon.kill());
        let store = open_store(&w.install).await;
        let cut_short: Vec<String> = store
            .latest_runs()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.status == "running")
            .map(|r| r.connector)
            .collect();
        let unfinished: BTreeSet<(String, String)> = store
            .deliveries(true, 100_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|d| d.channel == "email")
            .filter_map(|d| {
                let at = d.attempt_started_at?;
                Some((message_id(d.payload["message"].as_str()?), at.to_rfc3339()))
            })
            .collect();
        store.close().await;
        let new = unfinished.difference(&in_flight).count();
        assert!(
            new <= 1,
            "one email is sent at a time, so a kill cuts at most one short: {unfinished:?}"
        );
        in_flight.extend(unfinished);
        if round > rounds / 2 && !cut_short.is_empty() {
            late_kills_mid_run += 1;
        }
        let marks = w.install.marks().lines().count().saturating_sub(1);
        eprintln!(
            "round {round}: {count} returns arrived; killed after {delay:?}, runs cut short {cut_short:?}, \
             {new} email(s) in flight; {marks} marks so far, {} deliveries waiting",
            pending(&w.install)
        );
    }
    eprintln!(
        "{late_kills_mid_run} of the last {} kills cut a connector run short",
        rounds - rounds / 2
    );
    for r in arriving.drain(..) {
        tokio::task::block_in_place(|| w.servers.send(&r));
    }
    let daemon = tokio::task::block_in_place(|| Daemon::start(&w.install, rounds + 1, &now(rounds + 1)));
    let expected = expected_marks();
    // Rows a killed sender had claimed are released at once (the holder is gone), so the daemon
    // catches up in seconds; the limits only stop a broken run from hanging.
    let limit = Duration::from_secs(120);
    let started = Instant::now();
    tokio::task::block_in_place(|| {
        wait_for(limit, "the register", || w.install.marks() == expected);
        eprintln!("the register was complete {:?} after the last start", started.elapsed());
        wait_for(limit, "every visit at the endpoint", || {
            ep.stored().iter().map(|(k, _)| k.clone()).collect::<BTreeSet<_>>() == posted
        });
        eprintln!(
            "every visit was at the endpoint {:?} after the last start",
            started.elapsed()
        );
        wait_for(limit, "an empty outbox", || pending(&w.install) == 0);
        eprintln!("the outbox was empty {:?} after the last start", started.elapsed());
    });
    let (status, log) = tokio::task::block_in_place(|| daemon.stop());
    eprintln!("final stop: {}", log.lines().last().unwrap_or_default());
    assert!(status.success());

    assert_each_delivered_once(&w, &ep, &posted, &in_flight);
}

/// `/metrics` once `done` holds for its text (within a minute).
async fn metrics_until(base: &str, done: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let (status, text) = get(base, "/metrics").await;
        if status == 200 && done(&text) {
            return text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "timed out; /metrics:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_with_the_daemon_is_closed_as_interrupted_at_the_next_start() {
    // An SFTP server that takes the connection and never answers: the run hangs, as one does
    // on a stuck network, until the daemon is killed under it.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hung.local_addr().unwrap().port();
    let install = Install::new(None);
    install.add_connector(
        "stuck-sftp",
        "skills-hub",
        &format!(
            "[connector.sftp]\nhost = \"127.0.0.1\"\nport = {port}\nusername = \"x\"\npassword_file = \"/dev/null\"\npath = \"/\"\ntimeout_seconds = 3600\n"
        ),
    );
    let text = std::fs::read_to_string(install.config())
        .unwrap()
        .replace("listen = \"127.0.0.1:8087\"", "listen = \"127.0.0.1:0\"")
        .replace("connector_failures = 3", "connector_failures = 2");
    std::fs::write(install.config(), text).unwrap();
    install.ok(&["check"]);

    let daemon = tokio::task::block_in_place(|| Daemon::start(&install, 0, NOW));
    metrics_until(&daemon.base, |m| {
        m.contains("apsync_connector_runs_total{connector=\"stuck-sftp\",outcome=\"running\"} 1")
    })
    .await;
    tokio::task::block_in_place(|| daemon.kill());
    let store = open_store(&install).await;
    let left = store.latest_runs().await.unwrap();
    store.close().await;
    assert_eq!(
        left[0].status, "running",
        "the kill left the run marked running: {left:?}"
    );

    // The server now refuses: the run at start fails at once, and is the second failure in a row.
    drop(hung);
    let daemon = tokio::task::block_in_place(|| Daemon::start(&install, 1, NOW));
    let metrics = metrics_until(&daemon.base, |m| {
        m.contains("apsync_connector_runs_total{connector=\"stuck-sftp\",outcome=\"failed\"} 1")
    })
    .await;
    assert!(
        metrics.contains("apsync_connector_runs_total{connector=\"stuck-sftp\",outcome=\"interrupted\"} 1"),
        "{metrics}"
    );
    assert!(!metrics.contains("outcome=\"running\""), "{metrics}");
    tokio::task::block_in_place(|| {
        wait_for(Duration::from_secs(60), "the connector failing alert", || {
            install
                .ok(&["alerts", "--format", "json"])
                .contains("Connector failing: stuck-sftp (2 runs in a row)")
        })
    });
    let (status, _) = tokio::task::block_in_place(|| daemon.stop());
    assert!(status.success());
    let store = open_store(&install).await;
    let runs = store.runs_of("stuck-sftp").await.unwrap();
    store.close().await;
    assert_eq!(runs[0].status, "interrupted", "{runs:?}");
    assert!(runs[0].error.as_deref().unwrap().contains("cut short"), "{runs:?}");
    assert!(
        runs[1].error.as_deref().unwrap().starts_with("SFTP-REFUSED"),
        "{runs:?}"
    );
}
