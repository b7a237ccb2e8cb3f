//! Alerts by email, end to end: the real binary, the sample roster and returns, and a real SMTP
//! server (aiosmtpd with STARTTLS and AUTH) started by the test.

use std::collections::HashSet;
use std::process::Stdio;

use crate::support;
use crate::support::install::{Install, root};
use crate::support::smtp::{Captured, PASSWORD, SmtpServer};

/// The sample fortnight's last day: returns arrive in the morning, sync runs after school.
const MORNING: &str = "2026-03-13T09:00:00Z";
const AFTERNOON: &str = "2026-03-13T16:30:00Z";

/// An installation sending to `server`, with the sample roster, and the sample returns imported
/// on the morning of 13 March 2026 (the rules run after each import and queue their emails).
fn install(server: &SmtpServer, password: &str) -> Install {
    let install = Install::new(None);
    server.configure(&install.config(), password);
    install.import_sample_roster();
    install.import_sample_returns_at(Some(MORNING));
    install
}

/// Every UPN and date of birth in the sample roster, in the forms a message could carry them.
fn personal_data() -> Vec<String> {
    let pupils = std::fs::read_to_string(root().join("samples/roster/pupils.csv")).unwrap();
    let mut out = Vec::new();
    for line in pupils.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        out.push(cols[0].to_string());
        let dob = chrono::NaiveDate::parse_from_str(cols[4], "%Y-%m-%d").unwrap();
        out.push(dob.format("%Y-%m-%d").to_string());
        out.push(dob.format("%d/%m/%Y").to_string());
        out.push(dob.format("%-d %b %Y").to_string());
    }
    out
}

/// The message with quoted-printable soft breaks undone (UPNs and dates are plain ASCII, so they
/// would appear literally in any text part).
fn text_of(m: &Captured) -> String {
    m.raw.replace("=\r\n", "")
}

fn message_ids(messages: &[Captured]) -> Vec<String> {
    messages
        .iter()
        .map(|m| {
            m.raw
                .lines()
                .find_map(|l| l.strip_prefix("Message-ID: "))
                .unwrap()
                .to_string()
        })
        .collect()
}

fn delivered_rows(install: &Install) -> Vec<serde_json::Value> {
    let out = install.ok(&["outbox", "list", "--format", "json"]);
    serde_json::from_str::<Vec<serde_json::Value>>(&out).unwrap()
}

#[test]
fn the_right_alerts_reach_the_server_once_each_with_the_digest_and_a_second_sync_sends_nothing() {
    let server = SmtpServer::start();
    let install = install(&server, PASSWORD);
    install.done(&["--now", AFTERNOON, "sync"]);
    let messages = server.messages();
    let mut summary: Vec<(String, String)> = messages
        .iter()
        .map(|m| (m.recipients().join(", "), m.subject()))
        .collect();
    summary.sort();
    for (to, subject) in &summary {
        eprintln!("{to:32}  {subject}");
    }

    // Over STARTTLS, logged in, each message to one person.
    for m in &messages {
        assert_eq!(m.meta["tls"], true);
        assert_eq!(m.meta["auth_user"], support::smtp::USER);
        assert_eq!(m.recipients().len(), 1, "{}", m.subject());
        assert!(m.subject().starts_with("[apsync] "), "{}", m.subject());
    }
    let to = |who: &str| -> Vec<String> {
        summary
            .iter()
            .filter(|(t, _)| t == who)
            .map(|(_, s)| s.clone())
            .collect()
    };
    // First-day calling: the one absence on the last day, to the attendance administrator.
    let admin = to("attendance@school.example");
    assert!(
        admin
            .iter()
            .any(|s| s.contains("Absent: Chloé M. (Y10) at Northstar Tuition, Fri 13 Mar PM")),
        "{admin:?}"
    );
    // Two Ns standing five school days or more.
    assert!(
        admin
            .iter()
            .any(|s| s.contains("N not replaced: Amira B. (Y10) at Skills Hub CIC, Thu 5 Mar PM"))
    );
    // Below target and persistent absence to the AP coordinator; several in one import batched.
    let apc = to("ap.coordinator@school.example");
    assert!(
        apc.iter()
            .any(|s| s.starts_with("[apsync] Below target: Connor W. (Y11) at Riverside Farm, 91.7%")),
        "{apc:?}"
    );
    let batched: Vec<&Captured> = messages
        .iter()
        .filter(|m| m.subject().starts_with("[apsync] 3 alerts: Persistent absence: Kai T."))
        .collect();
    assert_eq!(batched.len(), 1, "{apc:?}");
    let body = text_of(batched[0]);
    for title in [
        "Persistent absence: Kai T. (Y11) at Bright Futures Training, 55.0% over 20 school days",
        "Persistent absence: Aaliyah H. (Y11) at Bright Futures Training, 75.0% over 20 school days",
        "Below target: Jayden C. (Y10) at Bright Futures Training, 94.7% over 20 school days",
    ] {
        assert!(body.contains(title), "{title} not in the batched message");
    }
    // Nothing for the DSL, head teacher or IT on this fortnight's data.
    assert!(
        to("dsl@school.example").is_empty() && to("it@school.example").is_empty(),
        "{summary:?}"
    );

    // The digest: once, to the AP coordinator, with the chart inline.
    let digests: Vec<&Captured> = messages
        .iter()
        .filter(|m| m.subject().contains("Weekly digest"))
        .collect();
    assert_eq!(digests.len(), 1);
    assert_eq!(digests[0].recipients(), ["ap.coordinator@school.example"]);
    assert_eq!(digests[0].subject(), "[apsync] Weekly digest: week beginning Mon 9 Mar");
    let digest = text_of(digests[0]);
    assert!(digest.contains("Content-Type: image/png") && digest.contains("Content-ID: <attendance-chart>"));
    assert!(digest.contains("cid:attendance-chart"));
    assert!(digest.contains("Jayden C. (Y10), adm. 002102"), "{digest}");
    // On this Friday the digest, the alert and the report count the same days: the week to
    // today, the term to today, and the alert's 20 school days, whose figure the digest repeats.
    assert!(
        digest.contains("Attendance to Fri 13 Mar: the week from Monday, the term from Mon 5 Jan"),
        "{digest}"
    );
    let jayden = digest
        .lines()
        .find(|l| l.starts_with("- Jayden C. (Y10), adm. 002102:"))
        .unwrap_or_else(|| panic!("{digest}"));
    let report = |period: &str| -> String {
        let rows = install.json(&[
            "--now",
            AFTERNOON,
            "report",
            "attendance",
            "--period",
            period,
            "--format",
            "json",
        ]);
        let row = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["upn"] == "Q371432121107")
            .unwrap()
            .clone();
        format!("{}%", row["attendance_pct"].as_str().unwrap())
    };
    let (week, window, term) = (report("week"), report("window"), report("term"));
    assert_eq!(window, "94.7%", "the alert's figure");
    assert!(
        jayden.contains(&format!(
            "this week {week}, last 20 school days {window}, this term {term}"
        )),
        "{jayden}"
    );
    // No visit has been logged for anyone since the placements began on 5 January.
    assert!(digest.contains("Overdue visits: 14"), "{digest}");

    // No UPN or date of birth in any message; every text part readable as quoted-printable.
    let forbidden = personal_data();
    for m in &messages {
        let text = text_of(m);
        for f in &forbidden {
            assert!(!text.contains(f.as_str()), "{f} in {}", m.subject());
        }
        assert!(!text.contains("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64"));
    }

    // Every row delivered, each once.
    let rows = delivered_rows(&install);
    assert_eq!(rows.len(), messages.len());
    assert!(rows.iter().all(|r| r["status"] == "delivered"), "{rows:?}");
    assert_eq!(
        message_ids(&messages).into_iter().collect::<HashSet<_>>().len(),
        messages.len()
    );

    // A second run (later the same afternoon) finds nothing new and sends nothing.
    install.done(&["--now", "2026-03-13T16:45:00Z", "sync"]);
    assert_eq!(server.messages().len(), messages.len());
    let alerts = install.ok(&["--now", "2026-03-13T16:45:00Z", "alerts", "--format", "json"]);
    let alerts: Vec<serde_json::Value> = serde_json::from_str(&alerts).unwrap();
    assert!(alerts.iter().all(|a| a["state"] == "open"), "{alerts:?}");
    assert!(!alerts.is_empty());
}

#[test]
fn a_later_return_that_replaces_an_absence_resolves_the_alert_and_says_so() {
    let server = SmtpServer::start();
    let install = install(&server, PASSWORD);
    install.done(&["--now", AFTERNOON, "sync"]);
    let before = server.messages().len();
    // The provider corrects Friday afternoon: the pupil was there after all.
    let correction = install.path("page-3.json");
    let record = serde_json::json!({
        "data": [{ "student": { "ref": "NS-0051", "upn": null }, "date": "2026-03-13",
                   "am": { "status": "present", "reason": null }, "pm": { "status": "present", "reason": null } }],
        "meta": { "page": 3, "next_page": null }
    });
    std::fs::write(&correction, record.to_string()).unwrap();
    install.ok(&[
        "--now",
        "2026-03-13T17:00:00Z",
        "import",
        "--provider",
        "northstar",
        correction.to_str().unwrap(),
    ]);
    install.done(&["--now", "2026-03-13T17:05:00Z", "sync"]);
    let messages = server.messages();
    let new: Vec<(Vec<String>, String)> = messages[before..]
        .iter()
        .map(|m| (m.recipients(), m.subject()))
        .collect();
    assert_eq!(
        new,
        [(
            vec!["attendance@school.example".to_string()],
            "[apsync] Resolved: Absent: Chloé M. (Y10) at Northstar Tuition, Fri 13 Mar PM".to_string()
        )]
    );
    assert!(text_of(&messages[before]).contains("a later return records the pupil present"));
}

#[test]
fn mail_waits_while_the_server_is_down_and_is_delivered_once_when_it_is_back() {
    let mut server = SmtpServer::start();
    let install = install(&server, PASSWORD);
    server.stop();
    let out = install.run(&["--now", AFTERNOON, "sync"]);
    assert!(out.status.success(), "a server that is down is not a failure of sync");
    let rows = delivered_rows(&install);
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|r| r["status"] == "pending" && r["attempts"] == 1),
        "{rows:?}"
    );
    assert!(
        rows[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("did not accept the message yet")
    );

    // Still down at the next run: another attempt each, nothing lost.
    install.done(&["--now", "2026-03-13T17:30:00Z", "sync"]);
    server.restart(None);
    install.done(&["--now", "2026-03-13T19:00:00Z", "sync"]);
    let messages = server.messages();
    assert_eq!(messages.len(), rows.len());
    assert_eq!(
        message_ids(&messages).into_iter().collect::<HashSet<_>>().len(),
        rows.len()
    );
    assert!(delivered_rows(&install).iter().all(|r| r["status"] == "delivered"));
    install.done(&["--now", "2026-03-13T20:00:00Z", "sync"]);
    assert_eq!(server.messages().len(), rows.len(), "nothing is sent twice");
}

#[test]
fn a_bad_password_is_reported_to_it_in_the_log_and_status_and_nothing_is_lost() {
    let server = SmtpServer::start();
    let install = install(&server, "not-the-password");
    let out = install.run(&["--now", AFTERNOON, "sync"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "IT must hear of it: email cannot carry that news"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The run's error, last, says what IT must do; the log before it says how many wait.
    assert_eq!(
        stderr.lines().last(),
        Some(
            "apsync: email is misconfigured and nothing more can be sent: see `apsync outbox list --pending` \
             and `apsync status`"
        ),
        "{stderr}"
    );
    let waiting = delivered_rows(&install).len();
    assert!(
        stderr.contains(&format!(
            "email is misconfigured: {waiting} message(s) wait; see `apsync outbox list --pending` for the server's words"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-password"), "the secret is never printed");
    let status = install.ok(&["status"]);
    let line = status.lines().find(|l| l.starts_with("outbox email")).unwrap();
    assert!(
        line.contains("pending") && line.contains("credentials") && line.contains("email.password_file"),
        "{line}"
    );
    assert!(server.messages().is_empty());
    assert!(
        delivered_rows(&install).iter().all(|r| r["status"] == "pending"),
        "kept for when the password is fixed"
    );
}

#[test]
fn a_sender_killed_in_the_middle_of_a_send_sends_nothing_twice_after_a_restart() {
    let mut server = SmtpServer::start();
    let install = install(&server, PASSWORD);
    // The server accepts two messages, then holds the third without answering.
    server.restart(Some(2));
    let mut sync = std::process::Command::new(env!("CARGO_BIN_EXE_apsync"))
        .args([
            "--config",
            install.config().to_str().unwrap(),
            "--now",
            AFTERNOON,
            "sync",
        ])
        .env_remove("APSYNC_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Once the server holds the third message's whole DATA unanswered, the sender is inside that
    // send: kill it there (no clean shutdown). The bound only stops a broken run from hanging.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !server.stalled() {
        assert!(
            sync.try_wait().unwrap().is_none(),
            "sync ended before the server stalled"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "the server never held a third message"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(server.messages().len(), 2, "two accepted before the stall");
    sync.kill().unwrap();
    sync.wait().unwrap();
    server.restart(None);
    // After the claim's lease (5 minutes) has run out, a new run picks up what was in flight.
    install.done(&["--now", "2026-03-13T16:40:00Z", "sync"]);
    let rows = delivered_rows(&install);
    let messages = server.messages();
    assert!(rows.iter().all(|r| r["status"] == "delivered"), "{rows:?}");
    assert_eq!(messages.len(), rows.len(), "each message exactly once");
    assert_eq!(
        message_ids(&messages).into_iter().collect::<HashSet<_>>().len(),
        rows.len()
    );
}

#[test]
fn the_demo_writes_its_alerts_as_eml_files_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_apsync"))
        .args(["--now", AFTERNOON, "demo", "--dir", dir.path().to_str().unwrap()])
        .env_remove("APSYNC_CONFIG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let folder = dir.path().canonicalize().unwrap().join("outgoing-mail");
    assert!(stdout.contains(&format!("in {}", folder.display())), "{stdout}");
    // Three alert emails (one per person, each batching that person's alerts) and the digest,
    // each named by its outbox row and a hash of its idempotency key; nothing else is left there.
    let mut mail: Vec<(String, String)> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let raw = std::fs::read_to_string(e.path()).unwrap();
            let head = raw.split("\r\n\r\n").next().unwrap().replace("\r\n ", " ");
            let subject = head
                .lines()
                .find_map(|l| l.strip_prefix("Subject: "))
                .unwrap_or_default();
            (e.file_name().into_string().unwrap(), subject.to_string())
        })
        .collect();
    mail.sort();
    let mail: Vec<(&str, &str)> = mail.iter().map(|(n, s)| (n.as_str(), s.as_str())).collect();
    assert_eq!(
        mail,
        [
            (
                "000001-ef84791ee17881409c321a1f8aa0e153.eml",
                "[apsync] 24 alerts: Still no return: Tomasz Z. (Y10) at Ring Fit Boxing Academy, Fri 13 Mar AM and 23 more"
            ),
            (
                "000002-74ec83b42bf968e82ff221cd7cbd2466.eml",
                "[apsync] 14 alerts: Still no return: Tomasz Z. (Y10) at Ring Fit Boxing Academy, Fri 13 Mar AM and 13 more"
            ),
            (
                "000003-3a7ced2f5c89f92b9b583095cfb8bc12.eml",
                "[apsync] 14 alerts: Still no return: Tomasz Z. (Y10) at Ring Fit Boxing Academy, Fri 13 Mar AM and 13 more"
            ),
            (
                "000004-fdac9c6876520f2dd61ececf57453f91.eml",
                "[apsync] Weekly digest: week beginning Mon 9 Mar"
            ),
        ]
    );
}

/// Each .eml file in the file transport's folder, by name: (recipient, subject, whole text with
/// quoted-printable soft breaks undone).
fn eml_files(install: &Install) -> Vec<(String, String, String)> {
    let folder = install.path("outgoing-mail");
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let raw = std::fs::read_to_string(p).unwrap();
            // Unfold the headers, then pick To and Subject.
            let head = raw.split("\r\n\r\n").next().unwrap().replace("\r\n ", " ");
            let header = |name: &str| {
                head.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .unwrap_or_default()
                    .to_string()
            };
            (header("To: "), header("Subject: "), raw.replace("=\r\n", ""))
        })
        .collect()
}

#[test]
fn an_overdue_visit_is_emailed_once_and_a_logged_visit_resolves_it_and_says_so() {
    // The example configuration (file transport). Two pupils placed on Mondays only, so no other
    // rule has anything to say on a Friday without returns: Jayden since 5 January (no visit
    // since, and 42 days are long past by Friday 13 March), Amira since 2 March (still within
    // her first 42 days).
    let install = Install::new(None);
    let placements = install.path("placements.csv");
    std::fs::write(
        &placements,
        "UPN,Provider,Provider Ref,Start,End,Days\n\
         Q371432121107,bright-futures,BF-104,2026-01-05,2026-07-17,Mon\n\
         R371432121100,skills-hub,SH-17,2026-03-02,2026-07-17,Mon\n",
    )
    .unwrap();
    install.ok(&[
        "roster",
        "import",
        "--pupils",
        root().join("samples/roster/pupils.csv").to_str().unwrap(),
        "--placements",
        placements.to_str().unwrap(),
    ]);
    let title =
        "Visit overdue: Jayden C. (Y10) at Bright Futures Training, no visit since the placement began Mon 5 Jan";

    install.done(&["--now", AFTERNOON, "sync"]);
    let first = eml_files(&install);
    let alerts: Vec<_> = first.iter().filter(|(_, s, _)| !s.contains("Weekly digest")).collect();
    assert_eq!(
        alerts
            .iter()
            .map(|(to, s, _)| (to.as_str(), s.as_str()))
            .collect::<Vec<_>>(),
        [("ap.coordinator@school.example", format!("[apsync] {title}").as_str())],
        "{first:?}"
    );
    let body = &alerts[0].2;
    assert!(body.contains("admission number 002102") && body.contains("Provider: Bright Futures Training"));
    assert!(body.contains("due by Mon 16 Feb"), "{body}");
    // The digest lists the overdue visit, and only that one.
    let digest = &first.iter().find(|(_, s, _)| s.contains("Weekly digest")).unwrap().2;
    assert!(digest.contains("Overdue visits: 1"), "{digest}");
    assert!(
        digest.contains("- Jayden C. (Y10), adm. 002102, Bright Futures Training: no visit since the placement began Mon 5 Jan, due by Mon 16 Feb"),
        "{digest}"
    );
    assert!(!digest.contains("Amira B. (Y10), adm. 002101, Skills Hub CIC: no visit"));

    // A second sync the same afternoon: nothing new.
    install.done(&["--now", "2026-03-13T16:35:00Z", "sync"]);
    assert_eq!(eml_files(&install).len(), first.len());

    // A visit is logged; the next sync resolves the alert and says so, to the same person.
    install.ok(&[
        "--now",
        "2026-03-13T16:40:00Z",
        "visit",
        "add",
        "--pupil",
        "2102",
        "--at",
        "2026-03-13 15:00",
        "--staff",
        "Ms Patel",
        "--type",
        "on_site",
        "--progress",
        "Settled on the course.",
    ]);
    install.done(&["--now", "2026-03-13T16:45:00Z", "sync"]);
    let second = eml_files(&install);
    let new: Vec<_> = second[first.len()..]
        .iter()
        .map(|(to, s, _)| (to.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        new,
        [(
            "ap.coordinator@school.example",
            format!("[apsync] Resolved: {title}").as_str()
        )]
    );
    let resolved = &second[first.len()].2;
    assert!(resolved.contains("a visit to the pupil has been logged"), "{resolved}");
    // Nothing from the visit's notes, and no UPN or date of birth, in any message.
    let forbidden = personal_data();
    for (_, subject, text) in &second {
        assert!(!text.contains("Settled on the course"), "{subject}");
        for f in &forbidden {
            assert!(!text.contains(f.as_str()), "{f} in {subject}");
        }
    }

    // A third sync sends nothing.
    install.done(&["--now", "2026-03-13T17:00:00Z", "sync"]);
    assert_eq!(eml_files(&install).len(), second.len());
    let alerts = install.ok(&["--now", "2026-03-13T17:00:00Z", "alerts", "--format", "json"]);
    let alerts: Vec<serde_json::Value> = serde_json::from_str(&alerts).unwrap();
    let visit: Vec<_> = alerts.iter().filter(|a| a["rule"] == "visit-overdue").collect();
    assert_eq!(visit.len(), 1, "{alerts:?}");
    assert_eq!(visit[0]["state"], "resolved");
}

/// `check --online` reaches every server a delivery needs: SMTP with STARTTLS and AUTH (sending
/// nothing), and each endpoint with a request that creates nothing; each failure says what to do.
#[tokio::test(flavor = "multi_thread")]
async fn check_online_names_a_closed_smtp_port_a_refused_login_and_a_refusing_endpoint() {
    use support::endpoint::{Endpoint, HEALTH_TOKEN};
    let server = SmtpServer::start();
    let install = install(&server, PASSWORD);
    let check = |install: &Install| {
        let out = tokio::task::block_in_place(|| install.run(&["check", "--online"]));
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, said) = check(&install);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("email (SMTP localhost:") && said.contains("logged in; nothing sent"),
        "{said}"
    );
    assert!(said.contains("database: ok"), "{said}");
    assert!(server.messages().is_empty(), "nothing was sent");

    // A refused password, then a port nobody listens on.
    std::fs::write(install.path("smtp-password"), "not-the-password\n").unwrap();
    let (code, said) = check(&install);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("FAILED") && said.contains("email.password_file"),
        "{said}"
    );
    assert!(!said.contains("not-the-password"), "the secret is never printed");
    std::fs::write(install.path("smtp-password"), format!("{PASSWORD}\n")).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = std::fs::read_to_string(install.config()).unwrap();
    let at = text.find("host = \"localhost\"\nport = ").unwrap() + "host = \"localhost\"\nport = ".len();
    let end = at + text[at..].find('\n').unwrap();
    let moved = format!("{}{closed}{}", &text[..at], &text[end..]);
    std::fs::write(install.config(), &moved).unwrap();
    let (code, said) = check(&install);
    assert_eq!(code, Some(1), "a closed SMTP port fails the check: {said}");
    assert!(
        said.contains("FAILED") && said.contains("check email.host and email.port"),
        "{said}"
    );
    std::fs::write(install.config(), &text).unwrap();

    // An endpoint whose health check refuses the token, then accepts it; one with no health
    // check is reachable but its credentials unchecked, and says so.
    let ep = Endpoint::start(vec![]).await;
    std::fs::write(install.path("cpoms-token"), "wrong-token\n").unwrap();
    let endpoint = format!(
        "\n[[endpoint]]\nid = \"cpoms\"\nurl = \"{}\"\nhealth_url = \"{}/health\"\nallow_plaintext_loopback = true\n\
         [endpoint.auth]\nkind = \"bearer\"\ntoken_file = \"cpoms-token\"\n",
        ep.url(),
        ep.base
    );
    std::fs::write(install.config(), format!("{text}{endpoint}")).unwrap();
    let (code, said) = check(&install);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("endpoint cpoms: FAILED: GET /health answered 401") && said.contains("[endpoint.auth]"),
        "{said}"
    );
    std::fs::write(install.path("cpoms-token"), format!("{HEALTH_TOKEN}\n")).unwrap();
    let (code, said) = check(&install);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("endpoint cpoms: ok (GET /health answered 200)"), "{said}");
    std::fs::write(
        install.config(),
        format!(
            "{text}{}",
            endpoint.replace(&format!("health_url = \"{}/health\"\n", ep.base), "")
        ),
    )
    .unwrap();
    let (code, said) = check(&install);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("credentials were not checked: set health_url"), "{said}");
    assert!(ep.stored().is_empty(), "the checks created no record");
}
