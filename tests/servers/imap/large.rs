//! Large and deeply nested messages: a stranger's mail costs its headers only, only the wanted
//! attachment is downloaded, and a message nested past the guard is refused alone.

use crate::support;
use crate::support::dovecot::{Dovecot, PASSWORD, message};

use super::{BF_FROM, bf_return, installed};

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
