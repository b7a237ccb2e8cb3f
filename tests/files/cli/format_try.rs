//! `format try` through the binary, and a row whose name contradicts its identifier, on SQLite
//! and PostgreSQL.

use super::status_json;

use crate::support;
use crate::support::install::{Install as Setup, root};

/// `format try` reads files as an import would and writes nothing: a clean return exits 0, one
/// with a row for review 3 (in import's words), an unreadable one and one whose two-digit years
/// are read with `%Y` 1; `--format json` says it all. On PostgreSQL the store is opened with
/// read-only transactions, so a write would fail the command.
fn format_try_story(s: &Setup) {
    if s.database_url.is_none() {
        // Without a database there is no roster to match rows against; none is created.
        let sample = root().join("samples/returns/bright-futures/BF_attendance_2026-03-02.csv");
        let out = s.run(&[
            "format",
            "try",
            "--provider",
            "bright-futures",
            sample.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("load it first with `apsync roster import`"));
        assert!(!s.path("apsync.db").exists());
    }
    s.import_sample_roster();
    let bf = root().join("samples/returns/bright-futures");
    let file = |name: &str| bf.join(name).to_str().unwrap().to_string();
    let try_ = |extra: &[&str]| {
        let mut args = vec!["format", "try", "--provider", "bright-futures"];
        args.extend(extra);
        s.run(&args)
    };
    let before = status_json(s);
    let out = try_(&[&file("BF_attendance_2026-03-02.csv"), "--rows", "2"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for says in [
        "header: line 1",
        "`Learner Ref`: identity.provider_ref",
        "`Mark`: layout.mark",
        "`Notes`: layout.comment",
        "layout: long: a row per pupil per date, the date in `Date`, the session in `Session`, the mark in `Mark`",
        "dates read with: `%d/%m/%Y`",
        "the first 2 observations:",
        "line 2: Mon 2 Mar 2026 AM `/` becomes code B; pupil Q371432121107 by provider reference BF-104",
        "every row would become a mark (6 marks)",
    ] {
        assert!(text.contains(says), "{says:?} in\n{text}");
    }

    let held = file("BF_attendance_2026-03-03.csv");
    let out = try_(&[&held, "--format", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let report = &report[0];
    assert_eq!(report["header_at"], "line 1");
    assert_eq!(
        report["columns"][6],
        serde_json::json!({"column": "Mark", "role": "layout.mark"})
    );
    assert_eq!(report["date_patterns"], serde_json::json!(["%d/%m/%Y"]));
    assert_eq!(report["observations"].as_array().map(Vec::len), Some(7), "{report}");
    assert_eq!(report["observations"][0]["becomes"], "code B");
    assert_eq!(
        (report["marks"].as_u64(), report["review"].as_u64()),
        (Some(6), Some(1))
    );
    let problem = &report["problems"][0];
    assert_eq!(problem["kind"], "unknown-pupil", "{report}");

    let junk = s.path("BF_attendance_2026-03-05.csv");
    std::fs::write(&junk, b"\x00\x01 not a return").unwrap();
    let out = try_(&[junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("cannot be read: `BF_attendance_2026-03-05.csv`: the file looks like binary data")
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was written"));

    let two_digit = s.path("BF_attendance_2026-03-04.csv");
    let text = std::fs::read_to_string(file("BF_attendance_2026-03-04.csv")).unwrap();
    std::fs::write(&two_digit, text.replace("/2026,", "/26,")).unwrap();
    let out = try_(&[two_digit.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rejected = report[0]["rejected"].as_str().unwrap_or_default().to_string();
    assert!(
        rejected.contains("has the date Wed 4 Mar 0026, more than a year from every term")
            && rejected.contains("put `%d/%m/%y` in the provider's `date_formats`"),
        "{rejected}"
    );

    // Nothing was written: no document, no mark, no review item.
    assert_eq!(status_json(s), before);
    assert_eq!(s.marks(), "upn,date,session,code,provider\n");
    assert_eq!(s.ok(&["review", "list", "--format", "json"]).trim(), "[]");
    assert_eq!(s.ok(&["documents", "list", "--format", "json"]).trim(), "[]");

    // The same words as import: the review item and the rejection read as the trial said.
    s.done(&["import", "--provider", "bright-futures", &held]);
    let review = s.json(&["review", "list", "--format", "json"]);
    assert_eq!(review[0]["reason"], problem["reason"], "{review}");
    let out = s.run(&[
        "import",
        "--provider",
        "bright-futures",
        two_digit.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let imported: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(imported[0]["reason"].as_str(), Some(rejected.as_str()), "{imported}");
}

#[test]
fn format_try_writes_nothing_and_exits_0_3_or_1_on_sqlite() {
    format_try_story(&Setup::new(None));
}

#[tokio::test(flavor = "multi_thread")]
async fn format_try_writes_nothing_and_exits_0_3_or_1_on_postgres() {
    let db = support::postgres::test_database().await;
    let setup = Setup::new(Some(db.url().to_string()));
    tokio::task::spawn_blocking(move || format_try_story(&setup))
        .await
        .unwrap();
}

/// A row whose name is not the pupil its reference names goes to review, naming both; the
/// rest of the return imports.
fn contradicting_name_story(s: &Setup) {
    s.import_sample_roster();
    let sample = root().join("samples/returns/bright-futures/BF_attendance_2026-03-02.csv");
    let text = std::fs::read_to_string(sample).unwrap();
    assert!(text.contains("BF-104,,Clarke,Jayden,02/03/2026,AM"), "{text}");
    // The reference alone names Jayden, beside another pupil's name (no date of birth).
    let wrong = text.replacen(
        "BF-104,,Clarke,Jayden,02/03/2026,AM",
        "BF-104,,Hussain,Aaliyah,02/03/2026,AM",
        1,
    );
    let file = s.path("BF_attendance_2026-03-02.csv");
    std::fs::write(&file, wrong).unwrap();
    let out = s.run(&["import", "--provider", "bright-futures", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let review = s.json(&["review", "list", "--format", "json"]);
    let items = review.as_array().unwrap();
    assert_eq!(items.len(), 1, "{review}");
    assert_eq!(items[0]["kind"], "ambiguous-pupil", "{review}");
    let reason = items[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("`Aaliyah Hussain` is not the pupil its provider reference BF-104 names (Jayden Clarke"),
        "{reason}"
    );
    assert!(!s.marks().contains("Q371432121107,2026-03-02,AM"), "{}", s.marks());
}

#[test]
fn a_name_contradicting_its_reference_goes_to_review_on_sqlite() {
    contradicting_name_story(&Setup::new(None));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_name_contradicting_its_reference_goes_to_review_on_postgres() {
    let db = support::postgres::test_database().await;
    let setup = Setup::new(Some(db.url().to_string()));
    tokio::task::spawn_blocking(move || contradicting_name_story(&setup))
        .await
        .unwrap();
}
