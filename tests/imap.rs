//! The IMAP connector against a real Dovecot on loopback, through the real binary: STARTTLS and
//! implicit TLS, a message from a stranger, nested attachments, a Windows-1252 file name, a
//! UIDVALIDITY change, and messages already read by a person.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use support::dovecot::{Dovecot, PASSWORD, message};
use support::install::{Install, root};

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
    assert_eq!(rows[0]["rejected"], 1);
    let err = rows[0]["error"].as_str().unwrap();
    assert!(
        err.starts_with("IMAP-SENDER:") && err.contains("someone@elsewhere.test"),
        "{err}"
    );
    assert_eq!(dovecot.count("Imported"), 10);
    assert_eq!(dovecot.count("INBOX"), 1, "the stranger's message is left alone");

    let marks = install.marks();
    let again = install.sync(None);
    assert_eq!(
        (again[0]["documents"].as_i64(), again[0]["error"].clone()),
        (Some(0), serde_json::Value::Null),
        "reported once"
    );
    assert_eq!(install.marks(), marks);
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
        &format!("port = {}\nsecurity = \"starttls\"", dovecot.port),
        &format!("port = {}\nsecurity = \"implicit\"", dovecot.tls_port),
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
        text.contains("connector bf-mail-bad (bright-futures): IMAP-AUTH (auth)"),
        "{text}"
    );
    assert!(
        text.contains("connector bf-mail-no-box (bright-futures): IMAP-MAILBOX (config)"),
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
