//! The acceptance examples: the five providers' sample returns, imported through the example
//! configuration in name order, must produce exactly the expected register, review queue and
//! attendance report, on SQLite and on PostgreSQL.

use crate::support;
use crate::support::install::{Install, root};

fn expected(name: &str) -> String {
    support::golden::expected(&root().join("samples/expected"), name)
}

use crate::support::golden::{assert_lines, without_column};

/// `file,locator,kind` from `review list --format csv`, as samples/expected/review.csv has it.
fn review_summary(csv_text: &str) -> String {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (file, identifier, kind) = (col("file"), col("identifier"), col("kind"));
    let mut out = String::from("file,locator,kind\n");
    let mut rows: Vec<String> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            format!("{},{},{}\n", &r[file], &r[identifier], &r[kind])
        })
        .collect();
    rows.sort();
    out.extend(rows);
    out
}

fn golden(run: &Install) {
    run.import_sample_roster();
    run.import_sample_returns();
    assert_lines(
        &run.ok(&["marks", "--format", "csv"]),
        &expected("marks.csv"),
        "the register",
    );
    assert_lines(
        &review_summary(&run.ok(&["review", "list", "--format", "csv"])),
        &expected("review.csv"),
        "the review queue",
    );
    assert_lines(
        &without_column(&run.ok(&["report", "attendance", "--format", "csv"]), "name"),
        &expected("attendance.csv"),
        "attendance",
    );
    // Importing everything again changes nothing: the ledger recognises every file.
    run.import_sample_returns();
    assert_lines(
        &run.ok(&["marks", "--format", "csv"]),
        &expected("marks.csv"),
        "the register, again",
    );
    let status: serde_json::Value = serde_json::from_str(&run.ok(&["status", "--format", "json"])).unwrap();
    assert_eq!(status["review_open"], 2);
}

#[test]
fn samples_produce_the_expected_register_on_sqlite() {
    golden(&Install::new(None));
}

#[tokio::test(flavor = "multi_thread")]
async fn samples_produce_the_expected_register_on_postgres() {
    let db = support::postgres::test_database().await;
    let run = Install::new(Some(db.url().to_string()));
    tokio::task::spawn_blocking(move || golden(&run)).await.unwrap();
}
