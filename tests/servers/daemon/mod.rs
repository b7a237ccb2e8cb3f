//! The daemon end to end: the real binary `apsync run` against a real sshd, Dovecot, the capturing
//! SMTP server, a provider API and the CPOMS-style endpoint. Marks appear, the absence alert is
//! mailed, a visit posted to the API reaches the endpoint, and SIGTERM stops it cleanly; and,
//! killed with SIGKILL at pseudo-random moments over many restarts, it still ends with exactly
//! the expected register, every visit stored once by the endpoint, and every email delivered
//! (SMTP has no idempotency: an email may be repeated, with the same Message-ID, but only one
//! its row shows was in flight at a kill).
//!
//! This file holds the harness and the first story; the kill stories are in `kills`, the API's
//! connection limit and token scopes in `api`.

mod api;
mod kills;
mod replicas;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::endpoint::Endpoint;
use crate::support::install::{Install, root};
use crate::support::sample_servers::{Return, SampleServers};
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
    world_in(ep, later, schedule, None)
}

/// [`world_holding_back`] with its database at `database_url` (written into the configuration,
/// so the daemon uses it too) instead of an SQLite file in the folder.
fn world_in(
    ep: &Endpoint,
    later: impl Fn(&Return) -> bool,
    schedule: Option<&str>,
    database_url: Option<&str>,
) -> (World, Vec<Return>) {
    let (servers, held) = SampleServers::start_holding_back(later);
    let smtp = SmtpServer::start();
    let install = Install::new(None);
    if let Some(url) = database_url {
        let text = std::fs::read_to_string(install.config()).unwrap();
        let sqlite = format!("url = \"sqlite://{}\"", install.path("apsync.db").display());
        assert!(text.contains(&sqlite));
        std::fs::write(install.config(), text.replace(&sqlite, &format!("url = \"{url}\""))).unwrap();
    }
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

/// The end of a kill test: the register is exact, the endpoint stored each posted visit once,
/// nothing was dead-lettered, and every alert email reached the SMTP server once, or once more
/// only for each attempt of it that a kill left in flight (SMTP has no idempotency: a kill after
/// the server's 250 and before the row is marked sent repeats that one message, with the same
/// Message-ID; pushes carry an Idempotency-Key, so the endpoint stored each visit exactly once).
fn assert_each_delivered_once(
    w: &World,
    ep: &Endpoint,
    posted: &std::collections::BTreeSet<String>,
    in_flight: &std::collections::BTreeSet<(String, String)>,
) {
    assert_eq!(w.install.marks(), expected_marks());
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
    let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), emails, "every alert email reached the server");
    let mut copies: BTreeMap<&str, usize> = BTreeMap::new();
    for id in &ids {
        *copies.entry(id).or_default() += 1;
    }
    eprintln!(
        "{emails} emails; {} attempts in flight at a kill; {} repeated (same Message-ID)",
        in_flight.len(),
        ids.len() - emails
    );
    for (id, n) in copies {
        let cut_short = in_flight.iter().filter(|(m, _)| m == id).count();
        assert!(
            n <= 1 + cut_short,
            "{id} reached the server {n} times, but only {cut_short} attempt(s) of it were in flight at a kill"
        );
    }
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
        Daemon::start_with(&install.config(), log, now, socket)
    }

    /// `apsync --config CONFIG --now NOW run`, its log in `log`, waiting until it listens.
    fn start_with(config: &std::path::Path, log: PathBuf, now: &str, socket: Option<&std::path::Path>) -> Daemon {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_apsync"));
        cmd.arg("--config")
            .arg(config)
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

    /// SIGTERM; the exit status and the log as the daemon left it.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        self.signal("TERM");
        let status = self.child.wait().unwrap();
        (status, self.log())
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
    let (status, log) = tokio::task::block_in_place(|| daemon.stop());
    assert!(status.success(), "a clean stop on SIGTERM: {status:?}");
    // Clean means the loops finished their work in flight within the stop budget (systemd's
    // 10 s): none was dropped, none failed while stopping, and the store was closed.
    assert!(
        log.contains("stopping: no new work; waiting up to 8 s for the work in flight"),
        "{log}"
    );
    assert!(!log.contains("was dropped; its transaction rolled back"), "{log}");
    assert!(!log.contains("failed while stopping"), "{log}");
    assert!(log.contains("apsync run: stopped in "), "{log}");
    stop_listening.store(true, std::sync::atomic::Ordering::Relaxed);
    listener.join().unwrap();
    let notes = notes.lock().unwrap().clone();
    eprintln!("notifications: {notes:?}");
    assert!(notes[0].contains("READY=1"), "READY first: {notes:?}");
    assert!(notes.iter().any(|n| n.contains("STOPPING=1")), "{notes:?}");
}
