//! The IMAP connector against a real Dovecot on loopback, through the real binary: STARTTLS and
//! implicit TLS, a message from a stranger, nested attachments, a Windows-1252 file name, a
//! UIDVALIDITY change, and messages already read by a person.

use crate::support;
use crate::support::dovecot::{Dovecot, PASSWORD, message, message_with};
use crate::support::install::{Install, root};

fn sample(provider: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(root().join("samples/returns").join(provider))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn installed(dovecot: &Dovecot, id: &str, provider: &str, extra: &str) -> Install {
    let install = Install::new(None);
    install.import_sample_roster();
    std::fs::write(install.path("imap-pw"), format!("{PASSWORD}\n")).unwrap();
    install.add_connector(id, provider, &dovecot.connector_toml("imap-pw", extra));
    install
}

#[test]
fn starttls_imports_accepted_senders_only_and_moves_messages_after_commit() {
    let dovecot = Dovecot::start();
    for (name, bytes) in sample("riverside-farm") {
        dovecot.deliver(
            "INBOX",
            &message(
                "Riverside Farm <returns@riverside-farm.test>",
                &name,
                &[(&name, XLSX, &bytes)],
            ),
        );
    }
    let (name, bytes) = &sample("riverside-farm")[0];
    let mut forged = bytes.clone();
    forged.extend_from_slice(b"tampered");
    dovecot.deliver(
        "INBOX",
        &message("someone@elsewhere.test", "attendance", &[(name, XLSX, &forged)]),
    );
    let install = installed(
        &dovecot,
        "riverside-mail",
        "riverside-farm",
        "senders = [\"@riverside-farm.test\"]\nafter = \"move\"\nmove_to = \"Imported\"",
    );
    install.ok(&["check"]);
    let rows = install.sync(None);
    assert_eq!(rows[0]["documents"], 10, "{rows:?}");
    assert_eq!(rows[0]["refused"], 1);
    assert_eq!(
        rows[0]["error"],
        serde_json::Value::Null,
        "a stranger's mail does not fail the run"
    );
    let refused = install.json(&["refused", "--format", "json"]);
    assert_eq!(refused.as_array().map(Vec::len), Some(1), "{refused}");
    assert_eq!(refused[0]["code"], "IMAP-SENDER");
    assert_eq!(refused[0]["sender"], "someone@elsewhere.test");
    assert_eq!(dovecot.count("Imported"), 10);
    assert_eq!(dovecot.count("INBOX"), 1, "the stranger's message stays where it is");
    assert!(
        dovecot.flags("INBOX")[0].contains("$ApsyncRefused"),
        "{:?}",
        dovecot.flags("INBOX")
    );

    let marks = install.marks();
    let again = install.sync(None);
    assert_eq!(
        (again[0]["documents"].as_i64(), again[0]["error"].clone()),
        (Some(0), serde_json::Value::Null),
        "reported once"
    );
    assert_eq!(install.marks(), marks);
    assert_eq!(
        install.json(&["refused", "--format", "json"]).as_array().map(Vec::len),
        Some(1)
    );
}

#[test]
fn implicit_tls_survives_people_reading_a_uidvalidity_change_and_a_restart() {
    let mut dovecot = Dovecot::start();
    let files = sample("boxing-academy");
    // Both weeks in one message, each attachment nested in its own multipart.
    let attachments: Vec<(&str, &str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), "text/csv", b.as_slice()))
        .collect();
    dovecot.deliver(
        "INBOX",
        &message("office@boxing-academy.test", "weeks 10 and 11", &attachments),
    );
    // A person opened it before apsync ran.
    dovecot.flag_all("INBOX", "\\Seen");
    let extra = "senders = [\"office@boxing-academy.test\"]\n";
    let install = installed(&dovecot, "boxing-mail", "boxing-academy", extra);
    let table = std::fs::read_to_string(install.config()).unwrap().replace(
        &format!("port = {}\ntls = \"starttls\"", dovecot.port),
        &format!("port = {}\ntls = \"implicit\"", dovecot.tls_port),
    );
    std::fs::write(install.config(), table).unwrap();
    let rows = install.sync(None);
    assert_eq!(
        (rows[0]["documents"].as_i64(), rows[0]["error"].clone()),
        (Some(2), serde_json::Value::Null),
        "{rows:?}"
    );
    assert!(
        dovecot.flags("INBOX")[0].contains("$ApsyncImported"),
        "{:?}",
        dovecot.flags("INBOX")
    );
    let marks = install.marks();

    // The person flags it for follow-up: nothing changes.
    dovecot.flag_all("INBOX", "\\Flagged");
    assert_eq!(install.sync(None)[0]["documents"], 0);

    // The server rebuilds its index with a new UIDVALIDITY: everything is read again, and the
    // ledger recognises it all.
    dovecot.change_uidvalidity("INBOX", 4242);
    dovecot.restart();
    let rescanned = install.sync(None);
    assert_eq!(
        (rescanned[0]["documents"].as_i64(), rescanned[0]["error"].clone()),
        (Some(0), serde_json::Value::Null),
        "{rescanned:?}"
    );
    assert_eq!(install.marks(), marks);
}

#[test]
fn a_windows_1252_file_name_and_a_bad_password_and_check_online() {
    let dovecot = Dovecot::start();
    let (_, bytes) = &sample("bright-futures")[0];
    dovecot.deliver(
        "INBOX",
        &message(
            "returns@bright-futures.test",
            "Présence",
            &[(
                "Présence BF_attendance_2026-03-02.csv",
                "application/octet-stream",
                bytes,
            )],
        ),
    );
    let install = installed(
        &dovecot,
        "bf-mail",
        "bright-futures",
        "senders = [\"bright-futures.test\"]\nglob = \"*.csv\"",
    );
    std::fs::write(install.path("bad-pw"), "nope\n").unwrap();
    install.add_connector(
        "bf-mail-bad",
        "bright-futures",
        &dovecot.connector_toml("bad-pw", "senders = [\"bright-futures.test\"]"),
    );
    install.add_connector(
        "bf-mail-no-box",
        "bright-futures",
        &dovecot.connector_toml("imap-pw", "senders = [\"bright-futures.test\"]\nmailbox = \"Returns\""),
    );
    let out = install.run(&["check", "--online"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("connector bf-mail (bright-futures): ok"), "{text}");
    assert!(
        text.contains("connector bf-mail-bad (bright-futures): FAILED: IMAP-AUTH (auth)"),
        "{text}"
    );
    assert!(
        text.contains("connector bf-mail-no-box (bright-futures): FAILED: IMAP-MAILBOX (config)"),
        "{text}"
    );
    let rows = install.sync(Some("bf-mail"));
    assert_eq!(
        (rows[0]["documents"].as_i64(), rows[0]["error"].clone()),
        (Some(1), serde_json::Value::Null),
        "{rows:?}"
    );
    assert!(install.marks().lines().count() > 1);
}

const BF_FROM: &str = "Bright Futures <returns@bright-futures.test>";

/// The Bright Futures sample of `day`, and the same rows with every mark turned into `E`.
fn bf_return(day: &str) -> (String, Vec<u8>, Vec<u8>) {
    let name = format!("BF_attendance_2026-03-{day}.csv");
    let bytes = std::fs::read(root().join("samples/returns/bright-futures").join(&name)).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let forged: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, line)| match (i, line.rsplit_once(',')) {
            (0, _) | (_, None) => line.to_string(),
            (_, Some((head, _notes))) => match head.rsplit_once(',') {
                Some((rest, _mark)) => format!("{rest},E,"),
                None => line.to_string(),
            },
        })
        .collect();
    (name, bytes, (forged.join("\r\n") + "\r\n").into_bytes())
}

#[test]
fn an_emailed_return_counts_only_when_the_school_mail_system_authenticated_its_sender() {
    let dovecot = Dovecot::start();
    let (day1, genuine1, forged1) = bf_return("02");
    let (day2, genuine2, _) = bf_return("03");
    let csv = "text/csv";
    let spoof = "Authentication-Results: mx.school.test; spf=fail smtp.mailfrom=evil.example; dkim=none; dmarc=fail header.from=bright-futures.test";
    let school_fail = "Authentication-Results: mx.school.test; dmarc=fail header.from=bright-futures.test";
    let forged_pass = "Authentication-Results: mx.school.test; dmarc=pass header.from=bright-futures.test";
    let untrusted = "Authentication-Results: mx.evil.example; dmarc=pass header.from=bright-futures.test";
    let pass = format!("Authentication-Results: {}", support::dovecot::passing_verdict(BF_FROM));
    let deliver = |top: &[&str], from: &str, subject: &str, name: &str, bytes: &[u8]| {
        dovecot.deliver("INBOX", &message_with(top, from, subject, &[(name, csv, bytes)]));
    };
    deliver(&[&pass], BF_FROM, "register", &day1, &genuine1);
    // The issue's spoof: the right From:, the school's own verdict saying it failed.
    deliver(&[spoof], BF_FROM, "register", &day1, &forged1);
    deliver(&[], BF_FROM, "no verdict", &day1, &forged1);
    deliver(&[untrusted], BF_FROM, "someone else's verdict", &day1, &forged1);
    // A forged pass under the school's real (failing) verdict: only the topmost counts.
    deliver(&[school_fail, forged_pass], BF_FROM, "forged below", &day1, &forged1);
    deliver(
        &[&pass, "From: returns@bright-futures.test"],
        "someone@evil.example",
        "two senders",
        &day1,
        &forged1,
    );
    // A stranger whose subject carries a line break, to forge a log line.
    let stranger_pass = format!(
        "Authentication-Results: {}",
        support::dovecot::passing_verdict("spam@evil.example")
    );
    deliver(
        &[&stranger_pass],
        "spam@evil.example",
        "=?utf-8?q?win=0D=0Alevel=3DERROR_forged_line?=",
        &day1,
        &forged1,
    );
    deliver(&[&pass], BF_FROM, "register", &day2, &genuine2);

    let install = installed(
        &dovecot,
        "bf-mail",
        "bright-futures",
        "senders = [\"@bright-futures.test\"]",
    );
    install.ok(&["check"]);
    let out = install.run(&["sync", "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Refusals change nothing in the exit status: 3 for the genuine returns' one row in review.
    assert_eq!(out.status.code(), Some(3), "strangers' mail fails no run: {stderr}");
    assert_eq!(
        (
            rows[0]["documents"].as_i64(),
            rows[0]["refused"].as_i64(),
            rows[0]["error"].clone()
        ),
        (Some(2), Some(6), serde_json::Value::Null),
        "{rows}"
    );
    assert!(
        !stderr
            .lines()
            .chain(String::from_utf8_lossy(&out.stdout).lines())
            .any(|l| l.trim_start().starts_with("level=ERROR")),
        "a stranger's subject forged a line: {stderr}"
    );
    assert!(
        stderr.contains("win\\\\r\\\\nlevel=ERROR") || stderr.contains("win\\r\\nlevel=ERROR"),
        "the subject is logged escaped: {stderr}"
    );

    // The register is exactly the two genuine returns', and nothing waits for review.
    let reference = Install::new(None);
    reference.import_sample_roster();
    let dir = root().join("samples/returns/bright-futures");
    let (a, b) = (dir.join(&day1), dir.join(&day2));
    reference.done(&[
        "import",
        "--provider",
        "bright-futures",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert_eq!(install.marks(), reference.marks());
    let (status, expected) = (
        install.json(&["status", "--format", "json"]),
        reference.json(&["status", "--format", "json"]),
    );
    assert_eq!(
        status["review_open"], expected["review_open"],
        "only the genuine returns' own review rows: {status}"
    );

    let refused = install.json(&["refused", "--format", "json"]);
    let mut codes: Vec<&str> = refused
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [
            "IMAP-FROM",
            "IMAP-NO-VERDICT",
            "IMAP-SENDER",
            "IMAP-UNAUTHENTICATED",
            "IMAP-UNAUTHENTICATED",
            "IMAP-UNTRUSTED-VERDICT"
        ]
    );
    let spoofed = refused
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "IMAP-UNAUTHENTICATED" && r["verdict"].as_str().unwrap().contains("spf=fail"));
    assert!(spoofed.is_some(), "the verdict seen is kept: {refused}");
    assert!(
        refused.to_string().contains("win\\\\r\\\\nlevel=ERROR"),
        "the stranger's subject is stored escaped: {refused}"
    );
    let flags = dovecot.flags("INBOX");
    assert_eq!(
        flags.iter().filter(|f| f.contains("$ApsyncRefused")).count(),
        6,
        "{flags:?}"
    );
    assert_eq!(
        flags.iter().filter(|f| f.contains("$ApsyncImported")).count(),
        2,
        "{flags:?}"
    );

    // IT hears once per sender per day: the provider's address, and strangers together.
    let alerts = || {
        let all = install.json(&["alerts", "--format", "json"]);
        let mut keys: Vec<String> = all
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["key"].as_str().unwrap().to_string())
            .filter(|k| k.starts_with("refused:"))
            .collect();
        keys.sort();
        keys
    };
    let keys = alerts();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys[0].starts_with("refused:bf-mail:returns@bright-futures.test:"),
        "{keys:?}"
    );
    assert!(keys[1].starts_with("refused:bf-mail:strangers:"), "{keys:?}");
    // More spam the same day: recorded, no new alert.
    deliver(&[&stranger_pass], "other@evil.example", "more", &day1, &forged1);
    let again = install.sync(None);
    assert_eq!(
        (again[0]["refused"].as_i64(), again[0]["documents"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(alerts(), keys);
    assert_eq!(
        install.json(&["refused", "--format", "json"]).as_array().map(Vec::len),
        Some(7)
    );
}

#[test]
fn with_authentication_review_every_row_of_an_unauthenticated_return_waits_for_a_person() {
    let dovecot = Dovecot::start();
    let (day1, genuine1, _) = bf_return("02");
    dovecot.deliver(
        "INBOX",
        &message_with(&[], BF_FROM, "register", &[(&day1, "text/csv", &genuine1)]),
    );
    let install = installed(
        &dovecot,
        "bf-mail",
        "bright-futures",
        "senders = [\"@bright-futures.test\"]\nauthentication = \"review\"",
    );
    let rows = install.sync(None);
    assert_eq!(
        (rows[0]["documents"].as_i64(), rows[0]["marks"].as_i64()),
        (Some(1), Some(0)),
        "{rows:?}"
    );
    assert_eq!(
        install.marks().lines().count(),
        1,
        "only the header: nothing went into the register"
    );
    let review = install.json(&["review", "list", "--format", "json"]);
    let kinds: Vec<&str> = review
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert!(
        !kinds.is_empty() && kinds.iter().all(|k| *k == "unauthenticated-sender"),
        "{kinds:?}"
    );
}

/// A DNS stand-in answering one selector's TXT record.
struct StubDns(String, String);

#[async_trait::async_trait]
impl mailrs_dkim::DkimResolver for StubDns {
    async fn lookup_txt(&self, domain: &str) -> Result<Vec<String>, mailrs_dkim::DkimError> {
        Ok(if domain == self.0 {
            vec![self.1.clone()]
        } else {
            Vec::new()
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_dkim_signed_message_is_checked_here_with_the_signers_key() {
    use apsync_connector_core::{Checkpoint, Fetched, Secret, Source};
    use apsync_connector_imap::{Authentication, ImapAuth, ImapConfig, ImapSource, Security};
    let dovecot = Dovecot::start();
    let (day1, genuine1, forged1) = bf_return("02");
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let sign = |raw: Vec<u8>| {
        let opts = mailrs_dkim::SignOpts::new("bright-futures.test", "s1").signed_headers([
            "From",
            "Subject",
            "Date",
            "Message-ID",
        ]);
        let header = mailrs_dkim::sign(&raw, &mailrs_dkim::DkimSigningKey::Ed25519(key.clone()), &opts).unwrap();
        [header.into_bytes(), raw].concat()
    };
    let signed = sign(message_with(
        &[],
        BF_FROM,
        "register",
        &[(&day1, "text/csv", &genuine1)],
    ));
    // Signed, then the attachment swapped in transit: the body hash no longer matches.
    let tampered = String::from_utf8(sign(message_with(
        &[],
        BF_FROM,
        "register",
        &[(&day1, "text/csv", &genuine1)],
    )))
    .unwrap()
    .replace(
        &support::dovecot::base64(&genuine1),
        &support::dovecot::base64(&forged1),
    );
    let unsigned = message_with(&[], BF_FROM, "register", &[(&day1, "text/csv", &forged1)]);
    for raw in [signed, tampered.into_bytes(), unsigned] {
        dovecot.deliver("INBOX", &raw);
    }
    let public = support::dovecot::base64(key.verifying_key().as_bytes()).replace("\r\n", "");
    let dns = StubDns(
        "s1._domainkey.bright-futures.test".into(),
        format!("v=DKIM1; k=ed25519; p={public}"),
    );
    let config = ImapConfig {
        host: Some("127.0.0.1".into()),
        port: Some(dovecot.port),
        tls: Some(Security::Starttls),
        username: Some(support::dovecot::USER.into()),
        password_file: Some("unused".into()),
        senders: vec!["@bright-futures.test".into()],
        authentication: Some(Authentication::Dkim),
        timeout_seconds: Some(10),
        ..Default::default()
    };
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    let ca = std::fs::read(dovecot.ca_file()).unwrap();
    let mut source = ImapSource::new(
        &config,
        ImapAuth::Password(Secret::new(PASSWORD.into())),
        Some(&ca),
        1 << 20,
    )
    .unwrap()
    .with_dkim_resolver(std::sync::Arc::new(dns));
    let items = source.discover(&Checkpoint::start(), 10).await.unwrap();
    assert_eq!(items.len(), 3, "{items:?}");
    let mut outcomes = Vec::new();
    for item in &items {
        outcomes.push(match source.fetch(item).await.unwrap() {
            Fetched::Document(d) => {
                assert_eq!(d.body.read().unwrap(), genuine1);
                assert!(d.metadata["authentication"].as_str().unwrap().contains("dkim=pass"));
                "imported".to_string()
            }
            Fetched::Refused(r) => format!("{}: {}", r.code, r.reason),
        });
    }
    assert_eq!(outcomes[0], "imported");
    assert!(
        outcomes[1].starts_with("IMAP-DKIM: no DKIM signature passed"),
        "{outcomes:?}"
    );
    assert!(
        outcomes[2].starts_with("IMAP-DKIM: the message has no DKIM signature"),
        "{outcomes:?}"
    );
}

#[test]
fn thirty_large_mails_from_strangers_cost_their_headers_only() {
    let dovecot = Dovecot::start();
    // 10 MB of incompressible-looking bytes: about 14 MB once base64-encoded in a message.
    let mut junk = Vec::with_capacity(10_000_000);
    let mut x: u32 = 12345;
    while junk.len() < 10_000_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        junk.extend_from_slice(&x.to_le_bytes());
    }
    let spam = message("prize@evil.example", "you won", &[("register.csv", "text/csv", &junk)]);
    assert!(spam.len() > 13_000_000, "{}", spam.len());
    for _ in 0..30 {
        dovecot.deliver("INBOX", &spam);
    }
    let (day1, genuine1, _) = bf_return("02");
    dovecot.deliver(
        "INBOX",
        &message(BF_FROM, "register", &[(&day1, "text/csv", &genuine1)]),
    );
    let install = installed(
        &dovecot,
        "bf-mail",
        "bright-futures",
        "senders = [\"@bright-futures.test\"]",
    );
    let (out, peak_kib) = install.run_measured(&["sync", "--format", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            rows[0]["documents"].as_i64(),
            rows[0]["refused"].as_i64(),
            rows[0]["error"].clone()
        ),
        (Some(1), Some(30), serde_json::Value::Null),
        "{rows}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("peak RSS of the sync: {peak_kib} KiB");
    assert!(peak_kib < 256 * 1024, "peak {peak_kib} KiB");
}

#[test]
fn only_the_wanted_attachment_is_downloaded_not_the_rest_of_the_message() {
    let dovecot = Dovecot::start();
    let (day1, genuine1, _) = bf_return("02");
    // A 12 MB photo beside the register: wanted by neither the glob nor the media types.
    let photo = vec![0x5a_u8; 12_000_000];
    dovecot.deliver(
        "INBOX",
        &message(
            BF_FROM,
            "register and a photo",
            &[(&day1, "text/csv", &genuine1), ("trip.png", "image/png", &photo)],
        ),
    );
    let install = installed(
        &dovecot,
        "bf-mail",
        "bright-futures",
        "senders = [\"@bright-futures.test\"]",
    );
    let rows = install.sync(None);
    assert_eq!(
        (rows[0]["documents"].as_i64(), rows[0]["error"].clone()),
        (Some(1), serde_json::Value::Null),
        "{rows:?}"
    );
    // Dovecot logs what each session sent (`out=` bytes) when it ends.
    let log = dovecot.log();
    let sent: Vec<u64> = log
        .split("out=")
        .skip(1)
        .filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .collect();
    assert!(!sent.is_empty(), "no session totals in the log: {log}");
    assert!(
        sent.iter().all(|n| *n < 2_000_000),
        "the photo was downloaded: {sent:?}"
    );
}

/// imap-proto (the parser under async-imap) has no recursion limit: fuzzing found a
/// BODYSTRUCTURE nested ~2,000 deep overflows its stack. Anyone can send a message nested that
/// deep; what reaches apsync is the server's BODYSTRUCTURE of it. Against real Dovecot (which
/// caps MIME nesting), such a message from the accepted sender is survived: the run ends, the
/// genuine return beside it is imported.
#[test]
fn a_message_nested_thousands_deep_does_not_bring_the_connector_down() {
    const DEPTH: usize = 3000;
    let dovecot = Dovecot::start();
    let mut deep = format!(
        "From: {BF_FROM}\r\nTo: returns@school.test\r\nSubject: nested\r\nMessage-ID: <deep@bright-futures.test>\r\n\
         Date: Mon, 02 Mar 2026 09:00:00 +0000\r\nAuthentication-Results: {}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n",
        support::dovecot::passing_verdict(BF_FROM)
    );
    for level in 1..DEPTH {
        deep.push_str(&format!(
            "--b{}\r\nContent-Type: multipart/mixed; boundary=\"b{level}\"\r\n\r\n",
            level - 1
        ));
    }
    deep.push_str(&format!(
        "--b{}\r\nContent-Type: text/plain\r\n\r\nhello\r\n",
        DEPTH - 1
    ));
    for level in (0..DEPTH).rev() {
        deep.push_str(&format!("--b{level}--\r\n"));
    }
    dovecot.deliver("INBOX", deep.as_bytes());
    let (day, genuine, _) = bf_return("02");
    dovecot.deliver("INBOX", &message(BF_FROM, "register", &[(&day, "text/csv", &genuine)]));
    let install = installed(
        &dovecot,
        "bf-mail",
        "bright-futures",
        "senders = [\"@bright-futures.test\"]",
    );
    let out = install.run(&["sync", "--format", "json"]);
    assert!(
        out.status.code().is_some(),
        "killed by a signal (a stack overflow): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["documents"].as_i64(), Some(1), "{rows}");
}

/// A multipart message nested `depth` deep from `from`, with a passing verdict.
fn nested_message(from: &str, depth: usize) -> Vec<u8> {
    let mut raw = format!(
        "From: {from}\r\nTo: returns@school.test\r\nSubject: nested\r\nMessage-ID: <deep{depth}@bright-futures.test>\r\n\
         Date: Mon, 02 Mar 2026 09:00:00 +0000\r\nAuthentication-Results: {}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n",
        support::dovecot::passing_verdict(from)
    );
    for level in 1..depth {
        raw.push_str(&format!(
            "--b{}\r\nContent-Type: multipart/mixed; boundary=\"b{level}\"\r\n\r\n",
            level - 1
        ));
    }
    raw.push_str(&format!(
        "--b{}\r\nContent-Type: text/plain\r\n\r\nhello\r\n",
        depth - 1
    ));
    for level in (0..depth).rev() {
        raw.push_str(&format!("--b{level}--\r\n"));
    }
    raw.into_bytes()
}

/// When the server's description of one message trips the nesting guard (here with the guard
/// lowered to 20 levels, since Dovecot itself stops describing at 100), only that message is
/// set aside: it is refused as `IMAP-NESTED` and the genuine returns on either side of it, read
/// in the same chunk of headers, are imported; a second run finds nothing new.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_message_nested_past_the_guard_is_refused_alone_and_the_others_go_on() {
    use apsync_connector_core::{Checkpoint, Fetched, Outcome, Secret, Source};
    use apsync_connector_imap::{ImapAuth, ImapConfig, ImapSource, Security};
    let dovecot = Dovecot::start();
    let (day1, genuine1, _) = bf_return("02");
    let (day2, genuine2, _) = bf_return("09");
    dovecot.deliver("INBOX", &message(BF_FROM, "week 1", &[(&day1, "text/csv", &genuine1)]));
    dovecot.deliver("INBOX", &nested_message(BF_FROM, 40));
    dovecot.deliver("INBOX", &message(BF_FROM, "week 2", &[(&day2, "text/csv", &genuine2)]));
    let config = ImapConfig {
        host: Some("127.0.0.1".into()),
        port: Some(dovecot.port),
        tls: Some(Security::Starttls),
        username: Some(support::dovecot::USER.into()),
        password_file: Some("unused".into()),
        senders: vec!["@bright-futures.test".into()],
        trusted_authserv_ids: vec![support::dovecot::AUTHSERV_ID.into()],
        timeout_seconds: Some(10),
        ..Default::default()
    };
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    let ca = std::fs::read(dovecot.ca_file()).unwrap();
    let source = |levels| {
        ImapSource::new(
            &config,
            ImapAuth::Password(Secret::new(PASSWORD.into())),
            Some(&ca),
            1 << 20,
        )
        .unwrap()
        .with_max_nesting(levels)
    };
    // The default guard lets Dovecot's description of it through: it is turned away only for
    // carrying no attachment.
    let mut lenient = source(128);
    let items = lenient.discover(&Checkpoint::start(), 10).await.unwrap();
    assert_eq!(items.len(), 3, "{items:?}");
    match lenient.fetch(&items[1]).await.unwrap() {
        Fetched::Refused(r) => assert_ne!(r.code, "IMAP-NESTED", "{r:?}"),
        Fetched::Document(d) => panic!("{:?}", d.file_name),
    }

    let mut strict = source(20);
    let items = strict.discover(&Checkpoint::start(), 10).await.unwrap();
    assert_eq!(items.len(), 3, "{items:?}");
    let mut seen = Vec::new();
    for item in &items {
        let fetched = strict.fetch(item).await.unwrap();
        let outcome = match &fetched {
            Fetched::Document(d) => {
                seen.push(d.body.read().unwrap());
                Outcome::Imported
            }
            Fetched::Refused(r) => {
                assert_eq!(r.code, "IMAP-NESTED", "{r:?}");
                assert!(r.reason.contains("over 20"), "{}", r.reason);
                assert_eq!(r.sender.as_deref(), Some("returns@bright-futures.test"));
                Outcome::Refused
            }
        };
        strict.acknowledge(item, outcome).await.unwrap();
    }
    assert_eq!(seen, vec![genuine1, genuine2]);
    let checkpoint = strict.advance(&Checkpoint::start(), &items);
    assert!(strict.discover(&checkpoint, 10).await.unwrap().is_empty());
    let flags = dovecot.flags("INBOX");
    assert!(flags[1].contains("$ApsyncRefused"), "{flags:?}");
}

/// XOAUTH2 as apsync logs in to Microsoft 365: a token from the client-credentials flow (here an
/// in-process token endpoint), sent to a real Dovecot, which checks it with the same endpoint's
/// introspection; a refused client secret is an auth error naming the token endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn xoauth2_logs_in_with_a_client_credentials_token() {
    use apsync_connector_core::{Checkpoint, Secret, Source};
    use apsync_connector_http::oauth::ClientCredentials;
    use apsync_connector_imap::{ImapAuth, ImapConfig, ImapSource, Security};
    use axum::routing::post;
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let token = post(move |body: String| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(body.clone());
            if body.contains("grant_type=client_credentials") && body.contains("client_secret=s3cret") {
                (
                    axum::http::StatusCode::OK,
                    r#"{"access_token":"tok-apsync-1","token_type":"Bearer","expires_in":3600}"#,
                )
            } else {
                (axum::http::StatusCode::UNAUTHORIZED, r#"{"error":"invalid_client"}"#)
            }
        }
    });
    let introspect = post(|body: String| async move {
        if body.contains("token=tok-apsync-1") {
            format!(r#"{{"active":true,"username":"{}"}}"#, support::dovecot::USER)
        } else {
            r#"{"active":false}"#.to_string()
        }
    });
    let api = support::api::Api::serve(
        axum::Router::new()
            .route("/token", token)
            .route("/introspect", introspect),
    );
    let dovecot = Dovecot::start_with_oauth2(&api.url("/introspect"));
    dovecot.deliver("INBOX", &message(BF_FROM, "register", &[]));
    let config = ImapConfig {
        host: Some("127.0.0.1".into()),
        port: Some(dovecot.port),
        tls: Some(Security::Starttls),
        username: Some(support::dovecot::USER.into()),
        senders: vec!["@bright-futures.test".into()],
        trusted_authserv_ids: vec!["mx.school.test".into()],
        allow_plaintext: Some(true),
        oauth2: Some(apsync_connector_core::OAuth2Config {
            token_url: Some(api.url("/token")),
            client_id: Some("apsync".into()),
            client_secret_file: Some("secret".into()),
            scope: Some("https://outlook.office365.com/.default".into()),
        }),
        timeout_seconds: Some(10),
        ..Default::default()
    };
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    let ca = std::fs::read(dovecot.ca_file()).unwrap();
    let credentials = |secret: &str| ClientCredentials {
        token_url: api.url("/token"),
        client_id: "apsync".into(),
        client_secret: Secret::new(secret.into()),
        scope: Some("https://outlook.office365.com/.default".into()),
    };
    let mut source = ImapSource::new(&config, ImapAuth::OAuth2(credentials("s3cret")), Some(&ca), 1 << 20).unwrap();
    source
        .check()
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{}", dovecot.log()));
    let items = source.discover(&Checkpoint::start(), 10).await.unwrap();
    assert_eq!(items.len(), 1, "logged in and listed: {items:?}");
    let asked = seen.lock().unwrap().clone();
    assert!(
        asked
            .iter()
            .all(|b| b.contains("scope=https%3A%2F%2Foutlook.office365.com%2F.default")),
        "{asked:?}"
    );
    let mut refused = ImapSource::new(&config, ImapAuth::OAuth2(credentials("wrong")), Some(&ca), 1 << 20).unwrap();
    let e = refused.check().await.unwrap_err();
    assert_eq!(e.code, "IMAP-AUTH", "{e:?}");
}
