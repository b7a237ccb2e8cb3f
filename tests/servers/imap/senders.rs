//! An emailed return counts only when the school's mail system authenticated its sender, or a
//! DKIM signature checked here with the signer's key says who sent it; otherwise its rows wait
//! for a person.

use crate::support;
use crate::support::dovecot::{Dovecot, PASSWORD, message_with};
use crate::support::install::{Install, root};

use super::{BF_FROM, bf_return, installed};

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
    // The spoof: the right From:, the school's own verdict saying it failed.
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
        stderr.contains("message 7 from spam@evil.example (win\\r\\nlevel=ERROR forged line)"),
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
