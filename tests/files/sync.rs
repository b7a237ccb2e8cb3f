//! `apsync sync` with folder connectors: returns dropped into folders become the register, files
//! move to `processed` only after they are committed, and a second run finds nothing to do.

use crate::support;
use crate::support::install::{Install, root};
use crate::support::sample_servers::sample_files;

const PROVIDERS: [&str; 5] = [
    "boxing-academy",
    "bright-futures",
    "northstar",
    "riverside-farm",
    "skills-hub",
];

/// The example installation plus one folder connector per provider.
fn with_folders(db: Option<String>) -> Install {
    let install = Install::new(db);
    let mut text = std::fs::read_to_string(install.config()).unwrap();
    for p in PROVIDERS {
        let inbox = install.path(&format!("incoming/{p}"));
        std::fs::create_dir_all(&inbox).unwrap();
        text.push_str(&format!(
            "\n[[connector]]\nid = \"{p}-drop\"\nprovider = \"{p}\"\n[connector.folder]\npath = \"{}\"\nprocessed = \"processed\"\nmin_age_seconds = 0\n",
            inbox.display()
        ));
    }
    std::fs::write(install.config(), text).unwrap();
    install
}

fn drop_samples(install: &Install) {
    for p in PROVIDERS {
        for (name, bytes) in sample_files(p) {
            std::fs::write(install.path(&format!("incoming/{p}")).join(name), bytes).unwrap();
        }
    }
}

fn story(install: &Install) {
    install.ok(&["check"]);
    install.import_sample_roster();
    drop_samples(install);
    let first: serde_json::Value = serde_json::from_str(&install.done(&["sync", "--format", "json"])).unwrap();
    assert_eq!(first.as_array().unwrap().len(), 5);
    let documents: i64 = first
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["documents"].as_i64().unwrap())
        .sum();
    assert_eq!(documents, 26);
    let expected = std::fs::read_to_string(root().join("samples/expected/marks.csv"))
        .unwrap()
        .replace("\r\n", "\n");
    assert_eq!(install.ok(&["marks", "--format", "csv"]), expected);
    for p in PROVIDERS {
        let inbox = install.path(&format!("incoming/{p}"));
        let left: Vec<_> = std::fs::read_dir(&inbox)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["processed"], "{p}: every file moved after commit");
    }
    let again: serde_json::Value = serde_json::from_str(&install.done(&["sync", "--format", "json"])).unwrap();
    assert!(again.as_array().unwrap().iter().all(|r| r["documents"] == 0));

    // The same bytes dropped again (say, also sent by email) import nothing.
    let bf = root().join("samples/returns/bright-futures/BF_attendance_2026-03-02.csv");
    std::fs::copy(&bf, install.path("incoming/bright-futures/copy.csv")).unwrap();
    let out: serde_json::Value =
        serde_json::from_str(&install.done(&["sync", "--connector", "bright-futures-drop", "--format", "json"]))
            .unwrap();
    assert_eq!(
        (out[0]["documents"].as_i64(), out[0]["marks"].as_i64()),
        (Some(0), Some(0))
    );
    assert!(install.path("incoming/bright-futures/processed/copy.csv").exists());

    let status: serde_json::Value = serde_json::from_str(&install.ok(&["status", "--format", "json"])).unwrap();
    let runs = status["connectors"].as_array().unwrap();
    assert_eq!(runs.len(), 5);
    assert!(runs.iter().all(|r| r["status"] == "ok"), "{runs:?}");
}

#[test]
fn folders_sync_into_the_register_on_sqlite() {
    story(&with_folders(None));
}

#[tokio::test(flavor = "multi_thread")]
async fn folders_sync_into_the_register_on_postgres() {
    let db = support::postgres::test_database().await;
    let install = with_folders(Some(db.url().to_string()));
    tokio::task::spawn_blocking(move || story(&install)).await.unwrap();
}

#[test]
fn a_file_that_cannot_be_read_is_recorded_moved_aside_and_reported() {
    let install = with_folders(None);
    install.import_sample_roster();
    let inbox = install.path("incoming/northstar");
    std::fs::write(inbox.join("broken.json"), b"{ not json").unwrap();
    std::fs::copy(
        root().join("samples/returns/northstar/page-1.json"),
        inbox.join("page-1.json"),
    )
    .unwrap();
    let out = install.run(&["sync", "--connector", "northstar-drop", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "a rejected file fails the run");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report[0]["documents"].as_i64(), report[0]["rejected"].as_i64()),
        (Some(2), Some(1))
    );
    assert!(report[0]["error"].as_str().unwrap().contains("broken.json"));
    assert!(
        inbox.join("processed/broken.json").exists(),
        "kept, in the rejected (= processed) folder"
    );
    let status: serde_json::Value = serde_json::from_str(&install.ok(&["status", "--format", "json"])).unwrap();
    assert_eq!(status["documents_rejected"], 1);
    assert_eq!(status["connectors"][0]["status"], "failed");
    assert!(
        !install
            .ok(&["marks", "--format", "csv"])
            .lines()
            .skip(1)
            .collect::<Vec<_>>()
            .is_empty()
    );
}

#[test]
fn unknown_connector_is_bad_usage() {
    let install = with_folders(None);
    assert_eq!(install.run(&["sync", "--connector", "nope"]).status.code(), Some(2));
}

#[test]
fn a_file_over_the_size_limit_is_recorded_with_its_digest_moved_aside_and_fails_no_run() {
    let install = with_folders(None);
    install.import_sample_roster();
    let inbox = install.path("incoming/northstar");
    // 25 MB of zeros (sparse), over the default 20 MiB limit.
    let big = std::fs::File::create(inbox.join("huge.json")).unwrap();
    big.set_len(25_000_000).unwrap();
    drop(big);
    std::fs::copy(
        root().join("samples/returns/northstar/page-1.json"),
        inbox.join("page-1.json"),
    )
    .unwrap();
    let report = install.sync(Some("northstar-drop"));
    assert_eq!(
        (
            report[0]["documents"].as_i64(),
            report[0]["refused"].as_i64(),
            report[0]["error"].clone()
        ),
        (Some(1), Some(1), serde_json::Value::Null),
        "{report:?}"
    );
    let refused: serde_json::Value = serde_json::from_str(&install.ok(&["refused", "--format", "json"])).unwrap();
    assert_eq!(refused[0]["code"], "FOLDER-TOO-BIG", "{refused}");
    assert_eq!(refused[0]["size"], 25_000_000);
    // The SHA-256 of 25,000,000 zero bytes.
    let mut zeros = apsync::sha256::Sha256Hex::default();
    for _ in 0..25 {
        zeros.update(&[0u8; 1_000_000]);
    }
    assert_eq!(refused[0]["sha256"].as_str(), Some(zeros.finish().0.as_str()));
    assert!(
        inbox.join("processed/huge.json").exists(),
        "moved aside with the rejected files"
    );
    assert_eq!(install.sync(Some("northstar-drop"))[0]["refused"], 0, "recorded once");
}

#[test]
fn file_names_that_are_not_utf8_are_imported_shown_escaped_and_moved() {
    use std::os::unix::ffi::OsStrExt;
    let install = with_folders(None);
    install.import_sample_roster();
    let inbox = install.path("incoming/northstar");
    // Names copied byte for byte from a Windows share: `é` in Windows-1252 is the byte E9.
    let good = std::ffi::OsStr::from_bytes(b"page-1 r\xe9sum\xe9.json");
    let broken = std::ffi::OsStr::from_bytes(b"broken \xe9.json");
    std::fs::copy(root().join("samples/returns/northstar/page-1.json"), inbox.join(good)).unwrap();
    std::fs::write(inbox.join(broken), b"{ not json").unwrap();
    let out = install.run(&["sync", "--connector", "northstar-drop", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report[0]["documents"].as_i64(), report[0]["rejected"].as_i64()),
        (Some(2), Some(1)),
        "{report}"
    );
    assert!(report[0]["marks"].as_i64().unwrap() > 0, "{report}");
    let error = report[0]["error"].as_str().unwrap();
    assert!(error.contains("broken \\xE9.json"), "the stray byte is shown: {error}");
    assert!(!error.contains("No such file"), "{error}");
    assert!(inbox.join("processed").join(good).exists(), "moved under its own name");
    assert!(inbox.join("processed").join(broken).exists());
    let again: serde_json::Value =
        serde_json::from_str(&install.done(&["sync", "--connector", "northstar-drop", "--format", "json"])).unwrap();
    assert_eq!(again[0]["documents"], 0);
}

/// A return whose text holds NUL characters, as a provider's API export can write them (`\u0000`
/// in JSON is valid text, so the file is read; CSV with raw NUL bytes is refused as binary): in a
/// UPN, which then matches no pupil and goes to review, and in an absence reason.
fn nul_in_cells(install: &Install) {
    install.ok(&["check"]);
    install.import_sample_roster();
    let text = std::fs::read_to_string(root().join("samples/returns/northstar/page-1.json")).unwrap();
    assert!(text.contains("\"upn\": \"X371432121142\"") && text.contains("\"before_close\""));
    let text = text
        .replacen("\"upn\": \"X371432121142\"", "\"upn\": \"X3714\\u000021142\"", 1)
        .replacen("\"before_close\"", "\"before\\u0000close\"", 1);
    std::fs::write(install.path("incoming/northstar/nul.json"), text).unwrap();
    let out = install.run(&["sync", "--connector", "northstar-drop", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report[0]["error"].is_null(), "{report}");
    assert_eq!(report[0]["documents"], 1, "{report}");
    assert!(report[0]["marks"].as_i64().unwrap() > 0, "{report}");
    assert!(report[0]["review"].as_i64().unwrap() > 0, "{report}");
    let review = install.ok(&["review", "list", "--format", "json"]);
    assert!(
        review.contains("X3714\u{FFFD}21142"),
        "the cell is kept, cleaned: {review}"
    );
    assert!(install.path("incoming/northstar/processed/nul.json").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nul_byte_in_a_cell_does_not_block_the_connector_on_postgres() {
    let db = support::postgres::test_database().await;
    let install = with_folders(Some(db.url().to_string()));
    tokio::task::spawn_blocking(move || nul_in_cells(&install))
        .await
        .unwrap();
}

#[test]
fn a_nul_byte_in_a_cell_does_not_block_the_connector_on_sqlite() {
    nul_in_cells(&with_folders(None));
}
