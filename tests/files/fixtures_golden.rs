//! The project's own fixture sets (`fixtures/`, made by `scripts/make-fixtures.py`, each from its
//! own truth table): five invented providers in five file families, and the online family
//! (`fixtures/online/`: sessions told by a lesson's start time, and sessions listed inside a JSON
//! record), each imported through its `apsync.toml` and formats in name order, must produce
//! exactly the register, review queue and attendance report the script's oracle computed, on
//! SQLite and on PostgreSQL; importing everything again changes nothing.

use std::path::PathBuf;

use crate::support;
use crate::support::golden::{assert_lines, without_column};
use crate::support::install::{Install, root};

/// The main set.
const MAIN: &str = "";
/// The online family.
const ONLINE: &str = "online";

fn fixtures_dir(set: &str) -> PathBuf {
    root().join("fixtures").join(set)
}

fn expected(set: &str, name: &str) -> String {
    support::golden::expected(&fixtures_dir(set).join("expected"), name)
}

/// One CSV line, quoted where needed (an identifier such as `Ellis, Jack` holds a comma).
fn csv_line(fields: &[&str]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    writer.write_record(fields).unwrap();
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

/// `file,locator,kind` from `review list --format csv` (the locator being the row's
/// `identifier`), sorted, as fixtures/expected/review.csv has it.
fn review_summary(csv_text: &str) -> String {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("review list has no `{name}` column: {headers:?}"))
    };
    let (file, identifier, kind) = (col("file"), col("identifier"), col("kind"));
    let mut rows: Vec<String> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            csv_line(&[&r[file], &r[identifier], &r[kind]])
        })
        .collect();
    rows.sort();
    let mut out = String::from("file,locator,kind\n");
    out.extend(rows);
    out
}

fn install(set: &str, database_url: Option<String>) -> Install {
    let dir = fixtures_dir(set);
    Install::from(&dir.join("apsync.toml"), &dir.join("formats"), database_url)
}

/// Imports every return again, provider by provider, and checks that each file is recognised as
/// already imported (nothing added, replaced or sent to review).
fn import_everything_again(set: &str, run: &Install) {
    for dir in support::fixtures::sorted_entries(&fixtures_dir(set).join("returns")) {
        let provider = dir.file_name().unwrap().to_str().unwrap().to_string();
        let files: Vec<String> = support::fixtures::sorted_entries(&dir)
            .iter()
            .map(|f| f.to_str().unwrap().to_string())
            .collect();
        let mut args = vec!["import", "--format", "csv", "--provider", provider.as_str()];
        args.extend(files.iter().map(String::as_str));
        let out = run.ok(&args);
        let mut reader = csv::Reader::from_reader(out.as_bytes());
        let headers = reader.headers().unwrap().clone();
        let result = headers.iter().position(|h| h == "result").unwrap();
        let file = headers.iter().position(|h| h == "file").unwrap();
        let results: Vec<(String, String)> = reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[file].to_string(), r[result].to_string())
            })
            .collect();
        assert_eq!(results.len(), files.len(), "{provider}: {out}");
        for (file, result) in results {
            assert_eq!(result, "already imported", "{provider}: {file} again: {out}");
        }
    }
}

fn assert_expected(set: &str, run: &Install, when: &str) {
    assert_lines(
        &run.ok(&["marks", "--format", "csv"]),
        &expected(set, "marks.csv"),
        &format!("the register{when}"),
    );
    assert_lines(
        &review_summary(&run.ok(&["review", "list", "--format", "csv"])),
        &expected(set, "review.csv"),
        &format!("the review queue{when}"),
    );
    assert_lines(
        &without_column(&run.ok(&["report", "attendance", "--format", "csv"]), "name"),
        &expected(set, "attendance.csv"),
        &format!("attendance{when}"),
    );
}

fn golden(set: &str, run: &Install) {
    run.ok(&["check"]);
    run.import_roster_from(&fixtures_dir(set).join("roster"));
    run.import_returns_from(&fixtures_dir(set).join("returns"));
    assert_expected(set, run, "");
    let review_items = expected(set, "review.csv").lines().count() - 1;
    let status: serde_json::Value = serde_json::from_str(&run.ok(&["status", "--format", "json"])).unwrap();
    assert_eq!(status["review_open"], review_items, "{status:#}");

    // Importing everything again changes nothing: the ledger recognises every file, so no mark,
    // history row or review item is added.
    import_everything_again(set, run);
    assert_expected(set, run, ", after importing everything again");
    let again: serde_json::Value = serde_json::from_str(&run.ok(&["status", "--format", "json"])).unwrap();
    assert_eq!(again["review_open"], review_items, "{again:#}");
}

#[test]
fn fixtures_produce_the_expected_register_on_sqlite() {
    golden(MAIN, &install(MAIN, None));
}

#[tokio::test(flavor = "multi_thread")]
async fn fixtures_produce_the_expected_register_on_postgres() {
    let db = support::postgres::test_database().await;
    let run = install(MAIN, Some(db.url().to_string()));
    tokio::task::spawn_blocking(move || golden(MAIN, &run)).await.unwrap();
}

#[test]
fn the_online_family_produces_the_expected_register_on_sqlite() {
    golden(ONLINE, &install(ONLINE, None));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_online_family_produces_the_expected_register_on_postgres() {
    let db = support::postgres::test_database().await;
    let run = install(ONLINE, Some(db.url().to_string()));
    tokio::task::spawn_blocking(move || golden(ONLINE, &run)).await.unwrap();
}

/// `check` accepts the online family's formats without a word, and warns (still exit 0) when the
/// API's format reads a session's mark by its place in the list, naming the provider and key.
#[test]
fn check_warns_when_a_mark_is_read_by_its_place_in_a_list() {
    let run = install(ONLINE, None);
    let quiet = run.run(&["check"]);
    assert!(quiet.status.success());
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("warning"), "{quiet:?}");
    let format = run.path("formats/northway-mentoring.toml");
    let text = std::fs::read_to_string(&format).unwrap();
    let positional = text
        .replace("session = \"sessions[].period\"", "")
        .replace("mark = \"sessions[].status\"", "")
        .replace(
            "reason = \"sessions[].reason\"",
            "am = \"sessions.0.status\"\nam_reason = \"sessions.0.reason\"\npm = \"sessions.1.status\"",
        );
    assert_ne!(positional, text);
    std::fs::write(&format, positional).unwrap();
    let warned = run.run(&["check"]);
    assert!(warned.status.success(), "{warned:?}");
    let stderr = String::from_utf8_lossy(&warned.stderr);
    for needle in [
        "warning: provider northway-mentoring: `format.layout.am`: `sessions.0.status` reads a session by its place",
        "warning: provider northway-mentoring: `format.layout.pm`",
        "a wrong mark that no one reviews",
    ] {
        assert!(stderr.contains(needle), "{needle} missing from: {stderr}");
    }
}
