//! What the register knows and which return wins, through the binary on SQLite and PostgreSQL:
//! `marks history`, review decisions `--by`, `report attendance --by provider`, and a re-sent
//! return that proves it is newer by its report date.

use crate::support;
use crate::support::install::{Install as Setup, root};

/// What the register knows, and who decided: a review item resolved `--by` a named person shows in
/// `review list --all` and in the pupil's `marks history` (found by admission number as well as
/// UPN); `report attendance --by provider` adds up to the per-pupil rows at each provider.
fn register_knows_story(s: &Setup) {
    s.import_sample_roster();
    s.import_sample_returns();
    let open = s.json(&["review", "list", "--format", "json"]);
    let item = open
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "unknown-mark")
        .unwrap_or_else(|| panic!("{open}"))
        .clone();
    let (id, upn) = (item["id"].to_string(), item["upn"].as_str().unwrap().to_string());
    let said = s.ok(&[
        "review",
        "resolve",
        &id,
        "--code",
        "I",
        "--by",
        "amy.attendance",
        "--note",
        "phoned the provider",
    ]);
    assert!(said.contains("resolved by amy.attendance"), "{said}");

    let all = s.json(&["review", "list", "--all", "--format", "json"]);
    let decided = all.as_array().unwrap().iter().find(|r| r["id"] == item["id"]).unwrap();
    assert_eq!(
        (
            &decided["decided_code"],
            &decided["decided_by"],
            &decided["decision_note"]
        ),
        (
            &serde_json::json!("I"),
            &serde_json::json!("amy.attendance"),
            &serde_json::json!("phoned the provider")
        )
    );

    // The pupil by admission number, as the emails name them.
    let pupils = std::fs::read_to_string(root().join("samples/roster/pupils.csv")).unwrap();
    let adno = pupils
        .lines()
        .find(|l| l.starts_with(&upn))
        .and_then(|l| l.split(',').nth(1))
        .unwrap()
        .to_string();
    assert_eq!(
        s.ok(&["marks", "--pupil", &adno, "--format", "csv"]),
        s.ok(&["marks", "--pupil", &upn, "--format", "csv"])
    );
    let unknown = s.run(&["marks", "--pupil", "999999"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no pupil on the roster"));

    let history = s.json(&["marks", "history", "--pupil", &adno, "--format", "json"]);
    let rows = history.as_array().unwrap();
    let marks = s.json(&["marks", "--pupil", &upn, "--format", "json"]);
    let current = rows.iter().filter(|h| h["state"] == "current").count();
    assert_eq!(
        current,
        marks.as_array().unwrap().len(),
        "one current value per session held"
    );
    let by_person: Vec<_> = rows.iter().filter(|h| !h["decided_by"].is_null()).collect();
    assert_eq!(by_person.len(), 1, "{history:#}");
    let h = by_person[0];
    assert_eq!(
        (
            &h["date"],
            &h["session"],
            &h["code"],
            &h["decided_by"],
            &h["note"],
            &h["state"]
        ),
        (
            &item["date"],
            &item["session"],
            &serde_json::json!("I"),
            &serde_json::json!("amy.attendance"),
            &serde_json::json!("phoned the provider"),
            &serde_json::json!("current")
        )
    );
    assert!(
        rows.iter()
            .all(|r| r["received_at"].is_string() && r["provider"].is_string())
    );

    // Per pupil, with the roster's name; per provider, the provider's row adds up its pupils'.
    let per_pupil = s.json(&["report", "attendance", "--format", "json"]);
    let named = per_pupil
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["upn"] == upn.as_str())
        .unwrap();
    assert!(named["name"].as_str().is_some_and(|n| !n.is_empty()), "{named}");
    let per_provider = s.json(&["report", "attendance", "--by", "provider", "--format", "json"]);
    let rows = per_provider.as_array().unwrap();
    let totals: Vec<_> = rows.iter().filter(|r| r["upn"] == "all").collect();
    assert_eq!(totals.len(), 5, "one row per provider with marks: {per_provider:#}");
    for total in totals {
        let theirs = rows
            .iter()
            .filter(|r| r["provider"] == total["provider"] && r["upn"] != "all");
        let possible: i64 = theirs.map(|r| r["possible"].as_i64().unwrap()).sum();
        assert_eq!(total["possible"].as_i64(), Some(possible), "{total}");
    }
    let csv = s.ok(&["report", "attendance", "--by", "provider", "--format", "csv"]);
    assert!(csv.starts_with("provider,upn,name,possible,"), "{csv}");
}

#[test]
fn the_register_says_how_each_mark_came_and_who_decided_on_sqlite() {
    register_knows_story(&Setup::new(None));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_register_says_how_each_mark_came_and_who_decided_on_postgres() {
    let db = support::postgres::test_database().await;
    let setup = Setup::new(Some(db.url().to_string()));
    tokio::task::spawn_blocking(move || register_knows_story(&setup))
        .await
        .unwrap();
}

/// A re-sent old return never undoes a correction, unless it proves it is newer: with the format
/// naming a `report_date` (here the file name's date), a return dated after the correction's
/// stands; without one, the same file waits for a person.
fn report_date_story(s: &Setup, format_names_report_date: bool) -> (String, Vec<String>) {
    s.import_sample_roster();
    let format = s.path("formats/bright-futures.toml");
    if format_names_report_date {
        let text = std::fs::read_to_string(&format).unwrap();
        std::fs::write(
            &format,
            format!("report_date = {{ file_name = \"BF_{{any}}_{{date}}.csv\" }}\n{text}"),
        )
        .unwrap();
    }
    s.ok(&["check"]);
    let header = "Learner Ref,UPN,Surname,Forename,Date,Session,Mark,Notes\n";
    let file = |name: &str, rows: &[&str]| {
        let path = s.path(name);
        std::fs::write(&path, format!("{header}{}\n", rows.join("\n"))).unwrap();
        path.to_str().unwrap().to_string()
    };
    let import = |path: String| s.run(&["import", "--provider", "bright-futures", &path]);
    let am = "BF-104,,Clarke,Jayden,02/03/2026,AM";
    assert_eq!(
        import(file("BF_attendance_2026-03-02.csv", &[&format!("{am},N,")]))
            .status
            .code(),
        Some(0)
    );
    // The correction: N was illness after all.
    let corrected = file(
        "BF_attendance_2026-03-03.csv",
        &[&format!("{am},I,phoned"), "BF-104,,Clarke,Jayden,03/03/2026,AM,/,"],
    );
    assert_eq!(import(corrected).status.code(), Some(0));
    // Monday's return re-sent, with the afternoon added: its AM repeats the replaced N.
    let resent = file(
        "BF_resent_2026-03-02.csv",
        &[&format!("{am},N,"), "BF-104,,Clarke,Jayden,02/03/2026,PM,/,"],
    );
    assert_eq!(import(resent).status.code(), Some(3), "the repeat waits for a person");
    // Thursday's return says N again for Monday: dated after the correction.
    let later = import(file(
        "BF_attendance_2026-03-05.csv",
        &[&format!("{am},N,no reason given")],
    ));
    let marks = s.ok(&[
        "marks",
        "--pupil",
        "Q371432121107",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-02",
        "--format",
        "csv",
    ]);
    let review: Vec<String> = s
        .json(&["review", "list", "--format", "json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r["kind"].as_str().unwrap(), r["file"].as_str().unwrap()))
        .collect();
    let expected_status = if format_names_report_date { 0 } else { 3 };
    assert_eq!(
        later.status.code(),
        Some(expected_status),
        "{}",
        String::from_utf8_lossy(&later.stderr)
    );
    (marks, review)
}

#[test]
fn a_resent_return_stands_only_when_its_report_date_proves_it_newer_on_sqlite() {
    let (marks, review) = report_date_story(&Setup::new(None), true);
    assert_eq!(
        marks,
        "upn,date,session,code,provider\nQ371432121107,2026-03-02,AM,N,bright-futures\nQ371432121107,2026-03-02,PM,B,bright-futures\n"
    );
    assert_eq!(review, ["repeats-replaced BF_resent_2026-03-02.csv"]);
    // Without a report date, nothing proves Thursday's return newer: it waits too.
    let (marks, review) = report_date_story(&Setup::new(None), false);
    assert!(marks.contains("2026-03-02,AM,I,"), "{marks}");
    assert_eq!(
        review,
        [
            "repeats-replaced BF_resent_2026-03-02.csv",
            "repeats-replaced BF_attendance_2026-03-05.csv"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resent_return_stands_only_when_its_report_date_proves_it_newer_on_postgres() {
    let db = support::postgres::test_database().await;
    let setup = Setup::new(Some(db.url().to_string()));
    let (marks, review) = tokio::task::spawn_blocking(move || report_date_story(&setup, true))
        .await
        .unwrap();
    assert!(marks.contains("2026-03-02,AM,N,"), "{marks}");
    assert_eq!(review, ["repeats-replaced BF_resent_2026-03-02.csv"]);
}
