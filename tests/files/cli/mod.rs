//! The command line contract, exercised through the real binary: exit codes, the roster import,
//! `status`, and the listing formats. The roster story runs on SQLite and on PostgreSQL (through the
//! `APSYNC__DATABASE__URL` override IT would use).

mod format_try;

/// What the register knows: each mark's history, who decided, reports by provider, and which
/// re-sent return wins.
mod register;

/// The example configuration's connectors, secret files and old names.
mod example_config;

/// `mis check`, `mis roster`, `mis plan` against the Wonde double.
mod mis;

use std::path::Path;
use std::process::Command;

use crate::support;
use crate::support::install::{Install as Setup, root};

fn status_json(s: &Setup) -> serde_json::Value {
    serde_json::from_str(&s.ok(&["status", "--format", "json"])).unwrap()
}

fn roster_story(s: &Setup) {
    let pupils = root().join("samples").join("roster/pupils.csv");
    let placements = root().join("samples").join("roster/placements.csv");
    let args = [
        "roster",
        "import",
        "--pupils",
        pupils.to_str().unwrap(),
        "--placements",
        placements.to_str().unwrap(),
        "--format",
        "csv",
    ];
    assert_eq!(
        s.ok(&args),
        "what,added,updated,unchanged,left_roll\npupils,15,0,0,0\nplacements,14,0,0,\n"
    );
    let status = status_json(s);
    assert_eq!(
        (status["pupils_on_roll"].as_i64(), status["placements"].as_i64()),
        (Some(15), Some(14))
    );

    // Again: nothing changes.
    assert_eq!(
        s.ok(&args),
        "what,added,updated,unchanged,left_roll\npupils,0,0,15,0\nplacements,0,0,14,\n"
    );
    assert_eq!(status_json(s), status);

    // A pupils file with one wrong check letter is refused, naming its line; nothing changes.
    let bad = s.path("bad-pupils.csv");
    let text = std::fs::read_to_string(&pupils)
        .unwrap()
        .replace("G371432121177", "A371432121177");
    std::fs::write(&bad, text).unwrap();
    let out = s.run(&["roster", "import", "--pupils", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 13") && err.contains("A371432121177") && err.contains("check letter"),
        "{err}"
    );
    assert_eq!(status_json(s), status);

    // The listings exist and are empty before any return is imported.
    assert_eq!(s.ok(&["marks", "--format", "csv"]), "upn,date,session,code,provider\n");
    assert_eq!(
        s.ok(&["report", "attendance", "--format", "csv"]),
        "upn,name,possible,attended,authorised,unauthorised,attendance_pct\n"
    );
    assert_eq!(s.ok(&["review", "list", "--format", "json"]).trim(), "[]");
}

#[test]
fn roster_import_and_status_on_sqlite() {
    roster_story(&Setup::new(None));
}

#[tokio::test(flavor = "multi_thread")]
async fn roster_import_and_status_on_postgres() {
    let db = support::postgres::test_database().await;
    let setup = Setup::new(Some(db.url().to_string()));
    tokio::task::spawn_blocking(move || roster_story(&setup)).await.unwrap();
    let status: serde_json::Value = {
        let s = Setup::new(Some(db.url().to_string()));
        status_json(&s)
    };
    assert_eq!(status["backend"], "postgres");
}

#[test]
fn the_example_configuration_checks_clean() {
    let out = Command::new(env!("CARGO_BIN_EXE_apsync"))
        .args(["check", "--config"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/apsync.example.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn three_mistakes_exit_2_and_are_all_named() {
    let s = Setup::new(None);
    let text = std::fs::read_to_string(s.config())
        .unwrap()
        .replace(
            "timezone = \"Europe/London\"",
            "timezone = \"Europe/Londn\"\nmotto = \"Aim high\"",
        )
        .replacen("present_code = \"B\"", "present_code = \"Q\"", 1);
    std::fs::write(s.config(), text).unwrap();
    let out = s.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("3 problems"), "{err}");
    for needle in [
        "`school.motto`: unknown key",
        "`school.timezone`",
        "Europe/Londn",
        "`provider \"bright-futures\".present_code`",
        "`Q`",
    ] {
        assert!(err.contains(needle), "{needle} missing from: {err}");
    }
    assert!(err.contains(s.config().to_str().unwrap()), "names the file: {err}");
    // Commands that need the configuration refuse it the same way.
    assert_eq!(s.run(&["status"]).status.code(), Some(2));
}

#[test]
fn bad_usage_exits_2() {
    let s = Setup::new(None);
    assert_eq!(s.run(&["marks", "--bogus"]).status.code(), Some(2));
    assert_eq!(
        s.run(&["marks", "--pupil", "A801200005001"]).status.code(),
        Some(2),
        "bad check letter"
    );
    assert_eq!(
        s.run(&["review", "resolve", "1", "--code", "ZZ"]).status.code(),
        Some(2)
    );
}

#[test]
fn review_of_an_unknown_item_fails_with_exit_1() {
    let s = Setup::new(None);
    let out = s.run(&["review", "dismiss", "42"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no review item 42"));
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["check", "--help"],
        vec!["roster", "import", "--help"],
        vec!["marks", "--help"],
        vec!["report", "attendance", "--help"],
        vec!["review", "list", "--help"],
        vec!["status", "--help"],
        vec!["demo", "--help"],
        vec!["format", "try", "--help"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_apsync")).args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage: apsync"),
            "{args:?}"
        );
    }
}

#[test]
fn demo_runs_on_embedded_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_apsync"))
        .args(["demo", "--dir"])
        .arg(dir.path().join("demo"))
        .env_remove("APSYNC_CONFIG")
        .env_remove("CARGO")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "pupils      16",
        "oak-farm          3      41     2",
        "not a school day",
        "below the school's attendance target",
    ] {
        assert!(
            text.contains(needle),
            "{needle} missing from the demo's output:\n{text}"
        );
    }
    assert!(dir.path().join("demo/apsync.db").exists());
    assert!(
        dir.path()
            .join("demo/inbox/oak-farm/processed/OakFarm_Attendance_2026-06-08.csv")
            .exists()
    );
    // Without --now the demo runs on its data's last day, and says so; the commands it prints
    // work from here (no `apsync` on the PATH); the marks read add up to the register's.
    assert!(
        text.contains("runs as at Friday 19 June 2026, 17:30 (school time)") && text.contains("--now"),
        "{text}"
    );
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_apsync")).unwrap();
    assert!(
        text.contains(&format!("The register: {} --config ", exe.display())),
        "{text}"
    );
    assert!(!text.contains("\nThe register: apsync "), "{text}");
    assert!(
        text.lines().any(|l| l
            == "219 marks read; 2 of them replaced an earlier mark for the same session (a later return wins; \
                the earlier one is kept in the pupil's history), so the register holds 217."),
        "{text}"
    );
    let written = text
        .lines()
        .find(|l| l.contains(".eml file"))
        .unwrap_or_else(|| panic!("no email line: {text}"));
    assert!(
        written.contains("written as") && !written.contains("file(s)"),
        "{written}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let raised: u32 = stderr
        .split("alerts: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no alerts line: {stderr}"));
    assert!(
        raised > 10,
        "the last day's absences and missing returns raise alerts: {stderr}"
    );
    // Run twice: the same data again changes nothing and still succeeds, and writes no email.
    let again = Command::new(env!("CARGO_BIN_EXE_apsync"))
        .args(["demo", "--dir"])
        .arg(dir.path().join("demo"))
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let again = String::from_utf8_lossy(&again.stdout);
    assert!(
        !again.contains("written as") && again.contains("No new email"),
        "{again}"
    );
    // Under `cargo run` in the project, the commands are cargo's.
    assert!(again.contains("The register: cargo run -- --config "), "{again}");
}

/// The shipped unit: resource bounds set, and `systemd-analyze security` (offline, on the file)
/// scores its exposure 1.5 or better.
#[test]
fn the_unit_is_bounded_and_its_exposure_is_at_most_one_and_a_half() {
    let unit = std::fs::read_to_string(root().join("systemd/apsync.service")).unwrap();
    for key in ["MemoryMax=", "TasksMax=", "LimitNOFILE=", "ProtectSystem=strict"] {
        assert!(unit.lines().any(|l| l.starts_with(key)), "{key} is set");
    }
    let analyze = Path::new("/usr/bin/systemd-analyze");
    if !analyze.exists() {
        eprintln!("systemd-analyze is missing: the exposure score is not checked");
        return;
    }
    let out = Command::new(analyze)
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(root().join("systemd/apsync.service"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let score: f64 = text
        .lines()
        .find_map(|l| l.split("Overall exposure level for apsync.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no score in: {text}{}", String::from_utf8_lossy(&out.stderr)));
    assert!(score <= 1.5, "exposure {score}: {text}");
}

/// `check` warns when a folder connector's folder is outside what the unit lets the service
/// write, and says what to add; with `ReadWritePaths=` for it, it does not.
#[test]
fn check_warns_about_a_folder_the_unit_does_not_let_it_write() {
    let setup = Setup::new(None);
    let inbox = setup.path("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    setup.add_connector(
        "drop",
        "bright-futures",
        &format!(
            "[connector.folder]\npath = \"{}\"\nprocessed = \"done\"\n",
            inbox.display()
        ),
    );
    let shipped = std::fs::read_to_string(root().join("systemd/apsync.service")).unwrap();
    let unit = setup.path("apsync.service");
    let check = || {
        let out = Command::new(env!("CARGO_BIN_EXE_apsync"))
            .arg("--config")
            .arg(setup.config())
            .arg("check")
            .env_remove("APSYNC_CONFIG")
            .env("APSYNC_UNIT", &unit)
            .output()
            .unwrap();
        assert!(out.status.success(), "a warning, not a failure");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    std::fs::write(&unit, &shipped).unwrap();
    let warned = check();
    assert!(
        warned.contains("connector drop:")
            && warned.contains(&format!("ReadWritePaths={}", inbox.display()))
            && warned.contains(&format!("ReadWritePaths={}", inbox.join("done").display())),
        "{warned}"
    );
    let allowed = shipped.replace(
        "# Hardening.",
        &format!("ReadWritePaths={}\n# Hardening.", inbox.display()),
    );
    std::fs::write(&unit, allowed).unwrap();
    let quiet = check();
    assert!(!quiet.contains("warning"), "{quiet}");
}

/// The demo writes only into a folder of its own: never over someone's files, never into the
/// service's folders, never into a database an `APSYNC__` override in the shell names.
#[test]
fn the_demo_refuses_a_folder_that_is_not_its_own_and_never_touches_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let demo = |target: &Path, env: &[(&str, &Path)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_apsync"));
        cmd.args(["demo", "--dir"]).arg(target).env_remove("APSYNC_CONFIG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    // Someone's own configuration and roster: refused, untouched.
    let theirs = dir.path().join("school");
    std::fs::create_dir_all(&theirs).unwrap();
    std::fs::write(theirs.join("apsync.toml"), "# the school's own\n").unwrap();
    std::fs::write(theirs.join("pupils.csv"), "upn,admission_number\n").unwrap();
    let out = demo(&theirs, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not empty") && err.contains(".apsync-demo"), "{err}");
    assert_eq!(
        std::fs::read_to_string(theirs.join("apsync.toml")).unwrap(),
        "# the school's own\n"
    );
    assert_eq!(std::fs::read_dir(&theirs).unwrap().count(), 2, "nothing added");

    // The service's folders, and the folder APSYNC_CONFIG names: refused before anything is made.
    for service in [Path::new("/etc/apsync/demo"), Path::new("/var/lib/apsync")] {
        let existed = service.exists();
        let out = demo(service, &[]);
        assert_eq!(out.status.code(), Some(2), "{service:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("the installed service uses"));
        assert_eq!(service.exists(), existed, "{service:?} was not created");
    }
    let config = theirs.join("apsync.toml");
    let out = demo(&theirs.join("demo"), &[("APSYNC_CONFIG", &config)]);
    assert_eq!(out.status.code(), Some(2), "inside the configured service's folder");

    // An override in the shell pointing at the service's database is ignored.
    let real_db = dir.path().join("real.db");
    let url = format!("sqlite://{}", real_db.display());
    let fresh = dir.path().join("fresh");
    let out = demo(&fresh, &[("APSYNC__DATABASE__URL", Path::new(&url))]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!real_db.exists(), "the overridden database was never opened");
    assert!(fresh.join("apsync.db").exists() && fresh.join(".apsync-demo").exists());
}

/// `import` says by its status what happened: 0 when every row became a mark (or was held
/// already), 3 when some rows wait for a person (named on standard error), 1 when a file could
/// not be read; the worst wins.
#[test]
fn import_exits_0_3_or_1_by_what_became_of_the_rows() {
    let s = Setup::new(None);
    s.import_sample_roster();
    let bf = root().join("samples/returns/bright-futures");
    let file = |name: &str| bf.join(name).to_str().unwrap().to_string();
    let import = |files: &[&str]| {
        let mut args = vec!["import", "--provider", "bright-futures"];
        args.extend(files);
        s.run(&args)
    };
    let clean = file("BF_attendance_2026-03-02.csv");
    let held = file("BF_attendance_2026-03-03.csv");
    let out = import(&[&clean]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = import(&[&clean, &held]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("1 row waits for a person, from BF_attendance_2026-03-03.csv (1)"),
        "{stderr}"
    );
    // Both held already: nothing new for a person.
    assert_eq!(import(&[&clean, &held]).status.code(), Some(0));
    let junk = s.path("BF_attendance_2026-03-05.csv");
    std::fs::write(&junk, b"\x00\x01 not a return").unwrap();
    let out = import(&[&file("BF_attendance_2026-03-04.csv"), junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
}

/// IT writes the format wrong the first time: one return is rejected (a mark column that is not
/// there) and one is read with day and month swapped (marks on the wrong days, rows in review).
/// After the fix, `documents reread --provider` reads the stored bytes again: the register and
/// the open review items end exactly as if the format had been right from the start, and the
/// ledger keeps both reads.
fn reread_story(s: &Setup) {
    s.import_sample_roster();
    let bf = root().join("samples/returns/bright-futures");
    let files: Vec<String> = [
        "BF_attendance_2026-03-02.csv",
        "BF_attendance_2026-03-03.csv",
        "BF_attendance_2026-03-04.csv",
    ]
    .iter()
    .map(|f| bf.join(f).to_str().unwrap().to_string())
    .collect();
    let format = s.path("formats/bright-futures.toml");
    let right = std::fs::read_to_string(&format).unwrap();
    let import = |file: &str| s.run(&["import", "--provider", "bright-futures", file]);

    std::fs::write(&format, right.replace("mark = \"Mark\"", "mark = \"Marks\"")).unwrap();
    let out = import(&files[0]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("apsync documents reread"),
        "the rejection names the way back: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&format, right.replace("%d/%m/%Y", "%m/%d/%Y")).unwrap();
    for f in &files[1..] {
        assert_ne!(import(f).status.code(), Some(1));
    }
    let listed = s.json(&["documents", "list", "--status", "rejected", "--format", "json"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let reference = Setup::new(None);
    reference.import_sample_roster();
    reference.done(&[
        "import",
        "--provider",
        "bright-futures",
        &files[0],
        &files[1],
        &files[2],
    ]);
    assert_ne!(s.marks(), reference.marks(), "the wrong format gave a wrong register");

    std::fs::write(&format, &right).unwrap();
    let out = s.run(&[
        "documents",
        "reread",
        "--provider",
        "bright-futures",
        "--format",
        "json",
    ]);
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reread: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reread.as_array().map(Vec::len), Some(3), "{reread}");

    let reference = Setup::new(None);
    reference.import_sample_roster();
    reference.done(&[
        "import",
        "--provider",
        "bright-futures",
        &files[0],
        &files[1],
        &files[2],
    ]);
    assert_eq!(
        s.marks(),
        reference.marks(),
        "the register as if the format had been right"
    );
    let open = |i: &Setup| -> Vec<(String, String, String)> {
        let items = i.json(&["review", "list", "--format", "json"]);
        let mut v: Vec<_> = items
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["file"].to_string(), r["locator"].to_string(), r["kind"].to_string()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(open(s), open(&reference), "the earlier reads' review items are closed");
    let all = s.json(&["review", "list", "--all", "--format", "json"]);
    assert!(
        all.as_array().unwrap().iter().any(|r| r["status"] == "dismissed"),
        "superseded items are kept, dismissed: {all}"
    );
    let docs = s.json(&["documents", "list", "--format", "json"]);
    for d in docs.as_array().unwrap() {
        assert_eq!(d["earlier_reads"], 1, "{d}");
        assert_ne!(d["status"], "rejected", "{d}");
    }
    // Reading again what is right already changes nothing.
    s.done(&["documents", "reread", "--provider", "bright-futures"]);
    assert_eq!(s.marks(), reference.marks());
}

#[test]
fn a_stored_return_is_read_again_after_its_format_is_fixed_on_sqlite() {
    reread_story(&Setup::new(None));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stored_return_is_read_again_after_its_format_is_fixed_on_postgres() {
    let db = support::postgres::test_database().await;
    let setup = Setup::new(Some(db.url().to_string()));
    tokio::task::spawn_blocking(move || reread_story(&setup)).await.unwrap();
}
