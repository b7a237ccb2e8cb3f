//! The "done means": the sample returns placed on a real sshd (bright-futures,
//! skills-hub), sent as real emails to a real Dovecot (riverside-farm, boxing-academy) and served
//! as API pages (northstar) end, after `apsync sync`, with exactly the expected register; a
//! second `sync` changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::api::{Api, northstar};
use support::dovecot::{Dovecot, PASSWORD, message};
use support::install::{Install, root};
use support::sshd::Sshd;

fn files(provider: &str) -> Vec<(String, Vec<u8>)> {
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

#[test]
fn samples_over_sftp_imap_and_http_make_exactly_the_expected_register() {
    let sshd = Sshd::start();
    for provider in ["bright-futures", "skills-hub"] {
        for (name, bytes) in files(provider) {
            sshd.put(&name, &bytes, Duration::from_secs(3600));
        }
    }
    let dovecot = Dovecot::start();
    for (mailbox, provider, from, media_type) in [
        (
            "Riverside",
            "riverside-farm",
            "Riverside Farm <returns@riverside-farm.test>",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("Boxing", "boxing-academy", "office@boxing-academy.test", "text/csv"),
    ] {
        dovecot.create_mailbox(mailbox);
        for (name, bytes) in files(provider) {
            dovecot.deliver(
                mailbox,
                &message(from, &format!("Attendance {name}"), &[(&name, media_type, &bytes)]),
            );
        }
    }
    let api = Api::serve(northstar(Arc::new(Mutex::new(Vec::new()))));

    let install = Install::new(None);
    std::fs::write(install.path("imap-pw"), PASSWORD).unwrap();
    install.add_connector(
        "bright-futures-sftp",
        "bright-futures",
        &sshd.connector_toml("glob = \"BF_*.csv\"\nafter = \"move\"\nmove_to = \"imported\""),
    );
    install.add_connector(
        "skills-hub-sftp",
        "skills-hub",
        &sshd.connector_toml("glob = \"Skills Hub*.csv\""),
    );
    install.add_connector(
        "riverside-mail",
        "riverside-farm",
        &dovecot.connector_toml(
            "imap-pw",
            "mailbox = \"Riverside\"\nsenders = [\"@riverside-farm.test\"]\nglob = \"*.xlsx\"",
        ),
    );
    install.add_connector(
        "boxing-mail",
        "boxing-academy",
        &dovecot.connector_toml(
            "imap-pw",
            "mailbox = \"Boxing\"\nsenders = [\"office@boxing-academy.test\"]\nafter = \"move\"\nmove_to = \"Done\"",
        ),
    );
    install.add_connector(
        "northstar-api",
        "northstar",
        &format!(
            "[connector.http]\nurl = \"{}\"\nallow_plaintext = true\nstart_date = 2026-03-02\npaging = \"page\"\nnext_path = \"meta.next_page\"\n",
            api.url("/v1/attendance?from={from}&to={to}")
        ),
    );
    install.ok(&["check"]);
    let online = install.ok(&["check", "--online"]);
    assert_eq!(online.matches(": ok").count(), 5, "{online}");
    install.import_sample_roster();

    let first = install.sync(None);
    for r in &first {
        assert_eq!(r["error"], serde_json::Value::Null, "{r:?}");
    }
    let documents: i64 = first.iter().map(|r| r["documents"].as_i64().unwrap()).sum();
    assert_eq!(documents, 26);
    let expected = std::fs::read_to_string(root().join("samples/expected/marks.csv"))
        .unwrap()
        .replace("\r\n", "\n");
    assert_eq!(install.marks(), expected);

    let again = install.sync(None);
    assert!(
        again.iter().all(|r| r["documents"] == 0 && r["error"].is_null()),
        "{again:?}"
    );
    assert_eq!(install.marks(), expected, "a second sync changes nothing");
    assert_eq!(dovecot.count("Done"), 2);
}
