//! The daemon end to end: the real binary `apsync run` against a real sshd, Dovecot, the capturing
//! SMTP server, a provider API and the CPOMS-style endpoint. Marks appear, the absence alert is
//! mailed, a visit posted to the API reaches the endpoint, and SIGTERM stops it cleanly; and,
//! killed with SIGKILL at pseudo-random moments over many restarts, it still ends with exactly
//! the expected register, every visit stored once by the endpoint, and every email delivered
//! (SMTP has no idempotency: an email may be repeated, with the same Message-ID, but only one
//! its row shows was in flight at a kill).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::endpoint::Endpoint;
use crate::support::install::{Install, root};
use crate::support::sample_servers::{Return, SampleServers, sample_files};
use crate::support::smtp::{self, SmtpServer};

/// The afternoon of the last sample day: the day's absences are due to be called.
const NOW: &str = "2026-03-13T16:30:00Z";

/// Every server the daemon talks to, kept alive for the test.
struct World {
    install: Install,
    servers: SampleServers,
    smtp: SmtpServer,
    token: String,
}

/// The samples dropped on SFTP, emailed to Dovecot and served by the API; the example
/// configuration with those connectors, SMTP, the endpoint, and the HTTP API on a free port.
fn world(ep: &Endpoint) -> World {
    world_holding_back(ep, |_| false, None).0
}

/// [`world`] without the returns `later` picks (given back to be sent while the daemon runs), its
/// connectors run on `schedule` when given.
fn world_holding_back(ep: &Endpoint, later: impl Fn(&Return) -> bool, schedule: Option<&str>) -> (World, Vec<Return>) {
    let (servers, held) = SampleServers::start_holding_back(later);
    let smtp = SmtpServer::start();
    let install = Install::new(None);
    smtp.configure(&install.config(), smtp::PASSWORD);
    servers.add_connectors_on(&install, schedule);
    let mut text = std::fs::read_to_string(install.config()).unwrap();
    text = text.replace("listen = \"127.0.0.1:8087\"", "listen = \"127.0.0.1:0\"");
    text = text.replace("push_interval_seconds = 5", "push_interval_seconds = 1");
    text.push_str(&format!(
        "\n[[endpoint]]\nid = \"cpoms\"\nurl = \"{}\"\nallow_plaintext_loopback = true\n[endpoint.auth]\nkind = \"none\"\n",
        ep.url()
    ));
    std::fs::write(install.config(), text).unwrap();
    install.ok(&["check"]);
    install.import_sample_roster();
    let token = install.ok(&["token", "create", "visit-form"]).trim().to_string();
    (
        World {
            install,
            servers,
            smtp,
            token,
        },
        held,
    )
}

fn expected_marks() -> String {
    std::fs::read_to_string(root().join("samples/expected/marks.csv"))
        .unwrap()
        .replace("\r\n", "\n")
}

/// A running `apsync run`, its log in a file (a pipe left unread would block it).
struct Daemon {
    child: Child,
    log: PathBuf,
    base: String,
}

impl Daemon {
    /// Starts `apsync --now NOW run`, waiting until it listens.
    fn start(install: &Install, round: usize, now: &str) -> Daemon {
        Daemon::start_notifying(install, round, now, None)
    }

    /// [`Daemon::start`], telling systemd-style notifications to `socket` with a 2 s watchdog.
    fn start_notifying(install: &Install, round: usize, now: &str, socket: Option<&std::path::Path>) -> Daemon {
        let log = install.path(&format!("daemon-{round}.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_apsync"));
        cmd.arg("--config")
            .arg(install.config())
            .args(["--now", now, "run"])
            .env_remove("APSYNC_CONFIG")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_PID")
            .env_remove("JOURNAL_STREAM")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        if let Some(socket) = socket {
            cmd.env("NOTIFY_SOCKET", socket).env("WATCHDOG_USEC", "2000000");
        }
        let child = cmd.spawn().unwrap();
        let mut base = None;
        wait_for(Duration::from_secs(60), "the daemon to listen", || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            base = text
                .split("intake at ")
                .nth(1)
                .and_then(|r| r.split("/api/v1/visits").next())
                .map(str::to_string);
            base.is_some()
        });
        Daemon {
            child,
            log,
            base: base.unwrap(),
        }
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// SIGTERM; the exit status and how long it took.
    fn stop(mut self) -> (std::process::ExitStatus, Duration) {
        let started = Instant::now();
        self.signal("TERM");
        let status = self.child.wait().unwrap();
        (status, started.elapsed())
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Polls `done` every 200 ms until it holds, failing after `limit`.
fn wait_for(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn visit(n: usize) -> Value {
    json!({
        "pupil": "002101",
        "occurred_at": format!("2026-03-02T10:{:02}:00Z", n % 60),
        "staff": "Ms Patel",
        "type": "on_site",
        "pupil_views": format!("Visit number {n}."),
        "progress": "Good progress.",
        "follow_up": "2026-03-16"
    })
}

/// Posts a visit through the daemon's API; its external id.
async fn post_visit(base: &str, token: &str, n: usize) -> String {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v1/visits"))
        .bearer_auth(token)
        .json(&visit(n))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let created: Value = resp.json().await.unwrap();
    created["external_id"].as_str().unwrap().to_string()
}

async fn get(base: &str, path: &str) -> (u16, String) {
    let resp = reqwest::get(format!("{base}{path}")).await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// Outbox rows by (channel, status).
fn outbox(install: &Install) -> BTreeMap<(String, String), usize> {
    let rows: Vec<Value> =
        serde_json::from_str(&install.ok(&["outbox", "list", "--limit", "100000", "--format", "json"])).unwrap();
    let mut out = BTreeMap::new();
    for r in rows {
        let key = (
            r["channel"].as_str().unwrap().to_string(),
            r["status"].as_str().unwrap().to_string(),
        );
        *out.entry(key).or_insert(0) += 1;
    }
    out
}

fn pending(install: &Install) -> usize {
    outbox(install)
        .iter()
        .filter(|((_, status), _)| status == "pending")
        .map(|(_, n)| n)
        .sum()
}

fn message_id(raw: &str) -> String {
    raw.lines()
        .find_map(|l| {
            l.strip_prefix("Message-ID: ")
                .or_else(|| l.strip_prefix("Message-Id: "))
        })
        .unwrap_or_default()
        .to_string()
}

fn message_ids(server: &SmtpServer) -> Vec<String> {
    server.messages().iter().map(|m| message_id(&m.raw)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_imports_alerts_pushes_and_stops_cleanly() {
    let ep = Endpoint::start(vec![]).await;
    let w = tokio::task::block_in_place(|| world(&ep));
    // Stands in for systemd's notification socket.
    let socket_path = w.install.path("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let notes = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop_listening = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let listener = {
        let (notes, stop) = (notes.clone(), stop_listening.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(n) = socket.recv(&mut buf) {
                    notes
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                }
            }
        })
    };
    let daemon = tokio::task::block_in_place(|| Daemon::start_notifying(&w.install, 0, NOW, Some(&socket_path)));
    assert_eq!(get(&daemon.base, "/healthz").await.0, 200);
    assert_eq!(get(&daemon.base, "/readyz").await, (200, "ready\n".to_string()));
    let key = post_visit(&daemon.base, &w.token, 1).await;

    let expected = expected_marks();
    tokio::task::block_in_place(|| {
        wait_for(Duration::from_secs(180), "the register", || {
            w.install.marks() == expected
        });
        let mut polls = 0;
        wait_for(Duration::from_secs(120), "the absence alert by SMTP", || {
            polls += 1;
            let subjects: Vec<String> = w.smtp.messages().iter().map(|m| m.subject()).collect();
            if polls % 100 == 0 {
                eprintln!(
                    "subjects so far: {subjects:?}\noutbox: {:?}\nlog:\n{}",
                    outbox(&w.install),
                    daemon.log()
                );
            }
            // Alerts for one person in one evaluation come as one message: look inside.
            w.smtp.messages().iter().any(|m| m.raw.contains("Absent: "))
        });
        wait_for(Duration::from_secs(120), "the visit at the endpoint", || {
            !ep.stored().is_empty()
        });
    });
    assert_eq!(ep.stored().len(), 1);
    assert_eq!(ep.stored()[0].0, key);

    let (status, text) = get(&daemon.base, "/metrics").await;
    assert_eq!(status, 200);
    for line in [
        "apsync_connector_runs_total{connector=\"northstar-api\",outcome=\"ok\"} 1",
        "apsync_documents{status=\"imported\"}",
        "apsync_outbox_backlog{channel=\"push\"}",
        "apsync_connector_last_success_timestamp_seconds{connector=\"boxing-mail\"}",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }

    // SIGHUP with a broken configuration: reported, the old one kept, still serving.
    let good = std::fs::read_to_string(w.install.config()).unwrap();
    std::fs::write(w.install.config(), format!("{good}\nnot_a_key = 1\n")).unwrap();
    daemon.signal("HUP");
    tokio::task::block_in_place(|| {
        wait_for(Duration::from_secs(30), "the reload to be refused", || {
            daemon.log().contains("the old one stays in use")
        })
    });
    assert_eq!(get(&daemon.base, "/readyz").await.0, 200);

    // SIGHUP moving the database: the rest reloads; the database in use stays until a restart.
    let moved = good.replacen("/apsync.db\"", "/elsewhere.db\"", 1);
    assert_ne!(moved, good, "the test configuration names apsync.db");
    std::fs::write(w.install.config(), &moved).unwrap();
    daemon.signal("HUP");
    tokio::task::block_in_place(|| {
        wait_for(Duration::from_secs(30), "the database change to be deferred", || {
            let log = daemon.log();
            log.contains("[database] changes apply at the next restart") && log.contains("configuration reloaded")
        })
    });
    assert_eq!(get(&daemon.base, "/readyz").await.0, 200);
    std::fs::write(w.install.config(), good).unwrap();

    tokio::task::block_in_place(|| {
        wait_for(
            Duration::from_secs(30),
            "a watchdog ping and a status with the last run",
            || {
                let notes = notes.lock().unwrap();
                notes.iter().any(|n| n.contains("WATCHDOG=1")) && notes.iter().any(|n| n.contains("STATUS=last run: "))
            },
        )
    });
    let (status, took) = tokio::task::block_in_place(|| daemon.stop());
    eprintln!("apsync run stopped {took:?} after SIGTERM");
    assert!(status.success(), "a clean stop on SIGTERM: {status:?}");
    assert!(took < Duration::from_secs(10), "stopped within 10 s: {took:?}");
    stop_listening.store(true, std::sync::atomic::Ordering::Relaxed);
    listener.join().unwrap();
    let notes = notes.lock().unwrap().clone();
    eprintln!("notifications: {notes:?}");
    assert!(notes[0].contains("READY=1"), "READY first: {notes:?}");
    assert!(notes.iter().any(|n| n.contains("STOPPING=1")), "{notes:?}");
}

/// A small deterministic generator, so a failing run can be repeated (seed printed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
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
fn arrives_later(r: &Return) -> bool {
    sample_files(r.provider).first().map(|(name, _)| name) != Some(&r.name)
}

/// The held-back returns in the order they arrive: each provider's second, then each one's
/// third, and so on, so providers take turns and each one's returns keep their order.
fn arrival_order(held: Vec<Return>) -> VecDeque<Return> {
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
    let (status, took) = tokio::task::block_in_place(|| daemon.stop());
    eprintln!("final stop took {took:?}");
    assert!(status.success());

    assert_eq!(w.install.marks(), expected);
    let stored: Vec<String> = ep.stored().into_iter().map(|(k, _)| k).collect();
    assert_eq!(stored.len(), posted.len(), "each visit stored once");
    let rows = outbox(&w.install);
    eprintln!("outbox: {rows:?}");
    assert!(
        !rows.keys().any(|(_, s)| s == "dead"),
        "nothing dead-lettered: {rows:?}"
    );
    let emails = rows.get(&("email".into(), "delivered".into())).copied().unwrap_or(0);
    assert!(emails > 0, "alerts were mailed");
    let ids = message_ids(&w.smtp);
    let distinct: BTreeSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), emails, "every alert email reached the server");
    // SMTP has no idempotency: a kill after the server's 250 and before the row is marked sent
    // repeats that one message, with the same Message-ID (mail clients fold such repeats).
    // Pushes carry an Idempotency-Key, so the endpoint stored each visit exactly once (above).
    // Every repeat is explained: each extra copy of a message matches an attempt of it that a
    // kill left unfinished (marked on its row before the server saw anything).
    let mut copies: BTreeMap<&str, usize> = BTreeMap::new();
    for id in &ids {
        *copies.entry(id).or_default() += 1;
    }
    let repeats = ids.len() - emails;
    eprintln!(
        "{emails} emails; {} attempts in flight at a kill; {repeats} repeated (same Message-ID)",
        in_flight.len()
    );
    for (id, n) in copies {
        let cut_short = in_flight.iter().filter(|(m, _)| m == id).count();
        assert!(
            n <= 1 + cut_short,
            "{id} reached the server {n} times, but only {cut_short} attempt(s) of it were in flight at a kill"
        );
    }
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

/// An install whose only change is the HTTP API on a free port with `[http]` lines added.
fn install_with_http(extra: &str) -> Install {
    let install = Install::new(None);
    let text = std::fs::read_to_string(install.config()).unwrap().replace(
        "listen = \"127.0.0.1:8087\"",
        &format!("listen = \"127.0.0.1:0\"\n{extra}"),
    );
    std::fs::write(install.config(), text).unwrap();
    install.ok(&["check"]);
    install
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_unfinished_requests_is_held_to_the_limit_and_readyz_still_answers() {
    use std::io::{Read, Write};
    let install = install_with_http("max_connections = 8\nheader_timeout_seconds = 2");
    let daemon = tokio::task::block_in_place(|| Daemon::start(&install, 0, NOW));
    let addr = daemon.base.trim_start_matches("http://").to_string();
    // Four times the limit, each with headers begun and never finished (a slow-loris client).
    let mut flood: Vec<std::net::TcpStream> = (0..32)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            s.write_all(b"GET /readyz HTTP/1.1\r\nHost: apsync\r\nX-Slow: ")
                .unwrap();
            s
        })
        .collect();
    // Queued behind the flood, it is answered once the unfinished ones are cut off.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let ready = client.get(format!("{}/readyz", daemon.base)).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    // Every flood connection was closed by the server (end of stream or reset), not left open.
    for s in &mut flood {
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut answer = Vec::new();
        match s.read_to_end(&mut answer) {
            Ok(_) => {}
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ),
                "a flood connection was left open: {e}"
            ),
        }
    }
    let log = daemon.log();
    assert!(
        log.contains("has 8 connections open, its limit ([http] max_connections)"),
        "the limit is logged: {log}"
    );
    assert_eq!(
        log.matches("its limit ([http] max_connections)").count(),
        1,
        "logged once, not per connection: {log}"
    );
    let (status, _) = tokio::task::block_in_place(|| daemon.stop());
    assert!(status.success());
}

/// Posts `body` with `token` and, when given, an Idempotency-Key; the status, the
/// `Idempotent-Replayed` header and the answer.
async fn post_as(base: &str, token: &str, key: Option<&str>, body: &Value) -> (u16, bool, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/api/v1/visits"))
        .bearer_auth(token)
        .json(body);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    let resp = req.send().await.unwrap();
    let replayed = resp.headers().get("idempotent-replayed").is_some();
    (
        resp.status().as_u16(),
        replayed,
        resp.json().await.unwrap_or(Value::Null),
    )
}

async fn get_as(base: &str, token: &str, id: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/api/v1/visits/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_keep_to_their_scope_a_repeat_records_nothing_and_a_reloaded_endpoint_gets_every_visit() {
    let install = install_with_http("");
    let text = std::fs::read_to_string(install.config())
        .unwrap()
        .replace("push_interval_seconds = 5", "push_interval_seconds = 1");
    std::fs::write(install.config(), text).unwrap();
    install.import_sample_roster();
    let form = install.ok(&["token", "create", "form"]).trim().to_string();
    let other = install.ok(&["token", "create", "other-form"]).trim().to_string();
    let viewer = install
        .ok(&["token", "create", "viewer", "--scope", "read"])
        .trim()
        .to_string();
    let listed = install.json(&["token", "list", "--format", "json"]);
    let scopes: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["scopes"].as_str().unwrap())
        .collect();
    assert_eq!(scopes, ["intake", "intake", "read"], "intake is the default: {listed}");
    let daemon = tokio::task::block_in_place(|| Daemon::start(&install, 0, NOW));
    let base = daemon.base.clone();

    // A retry with the same key gets the first visit back and records nothing; the same key
    // for another visit is refused.
    let (status, replayed, first) = post_as(&base, &form, Some("k-1"), &visit(1)).await;
    assert_eq!((status, replayed), (201, false), "{first}");
    let (status, replayed, again) = post_as(&base, &form, Some("k-1"), &visit(1)).await;
    assert_eq!((status, replayed, &again["id"]), (200, true, &first["id"]), "{again}");
    let (status, _, reused) = post_as(&base, &form, Some("k-1"), &visit(2)).await;
    assert_eq!(
        (status, reused["error"]["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    // Another token's key is its own, and the client's own reference works like a key.
    let (status, _, theirs) = post_as(&base, &other, Some("k-1"), &visit(1)).await;
    assert_eq!(status, 201, "{theirs}");
    let mut with_ref = visit(3);
    with_ref["client_ref"] = json!("form-record-42");
    let (status, _, referenced) = post_as(&base, &form, None, &with_ref).await;
    assert_eq!(status, 201, "{referenced}");
    let (status, replayed, repeat) = post_as(&base, &form, None, &with_ref).await;
    assert_eq!((status, replayed, &repeat["id"]), (200, true, &referenced["id"]));
    let visits = install.json(&["visits", "--format", "json"]);
    assert_eq!(visits.as_array().map(Vec::len), Some(3), "{visits}");

    // Reads: a token reads what it posted; another intake token finds nothing; read reads all.
    let id = first["id"].as_str().unwrap();
    assert_eq!(get_as(&base, &form, id).await, 200);
    assert_eq!(get_as(&base, &other, id).await, 404);
    assert_eq!(get_as(&base, &viewer, id).await, 200);
    let (status, _, refused) = post_as(&base, &viewer, None, &visit(4)).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("insufficient_scope"))
    );
    assert_eq!(first["state"], "not pushed", "no endpoint yet");

    // An endpoint added and reloaded gets the API's visits and the CLI's alike.
    let ep = Endpoint::start(vec![]).await;
    let mut text = std::fs::read_to_string(install.config()).unwrap();
    text.push_str(&format!(
        "\n[[endpoint]]\nid = \"cpoms\"\nurl = \"{}\"\nallow_plaintext_loopback = true\n[endpoint.auth]\nkind = \"none\"\n",
        ep.url()
    ));
    std::fs::write(install.config(), text).unwrap();
    daemon.signal("HUP");
    tokio::task::block_in_place(|| {
        wait_for(Duration::from_secs(60), "the reload", || {
            daemon.log().contains("SIGHUP: configuration reloaded")
        })
    });
    let (status, _, after) = post_as(&base, &form, None, &visit(5)).await;
    assert_eq!(
        (status, after["deliveries"][0]["endpoint"].as_str()),
        (201, Some("cpoms")),
        "{after}"
    );
    let added = install.run(&[
        "--now",
        NOW,
        "visit",
        "add",
        "--pupil",
        "2102",
        "--at",
        "2026-03-09 14:00",
        "--staff",
        "Mr Jones",
        "--type",
        "phone",
        "--welfare",
        "Settled.",
    ]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    tokio::task::block_in_place(|| {
        wait_for(Duration::from_secs(60), "both visits at the endpoint", || {
            ep.stored().len() == 2
        })
    });
    let stored: Vec<String> = ep.stored().into_iter().map(|(key, _)| key).collect();
    assert!(
        stored.contains(&after["external_id"].as_str().unwrap().to_string()),
        "{stored:?}"
    );
    let (status, _) = tokio::task::block_in_place(|| daemon.stop());
    assert!(status.success());
}
