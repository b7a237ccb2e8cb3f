//! `apsync mis ...` through the real binary against the Wonde double: the check, the roster pulled
//! from the MIS beside the CSV import of the same pupils, and the write-back plan of the shared
//! samples, with a mark a person entered in the MIS shown as a conflict.

use crate::support::install::{Install as Setup, root};
use crate::support::store::sample_pupils;
use crate::support::wonde::{Fail, SCHOOL, TOKEN, WondeDouble, student};

fn with_mis(s: &Setup, double: &WondeDouble) {
    let mut text = std::fs::read_to_string(s.config()).unwrap();
    text.push_str(&format!(
        "\n[mis]\nkind = \"wonde\"\nurl = \"{}\"\nschool_id = \"{SCHOOL}\"\ntoken_file = \"wonde-token\"\n\
         write_back = true\nwrite_back_from = \"2026-03-01\"\nreplaceable = [\"B\"]\n",
        double.base
    ));
    std::fs::write(s.config(), text).unwrap();
    std::fs::write(s.path("wonde-token"), format!("{TOKEN}\n")).unwrap();
}

fn students() -> Vec<serde_json::Value> {
    sample_pupils()
        .iter()
        .enumerate()
        .map(|(i, p)| {
            student(
                &format!("A{}", 1001 + i),
                p.upn.as_str(),
                &p.admission_number,
                &p.legal_surname,
                &p.legal_forename,
                &p.date_of_birth.to_string(),
                &p.year_group.map(|y| y.to_string()).unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_roster_plan_and_push_against_the_double_on_sqlite() {
    let double = WondeDouble::start(students(), 4).await;
    let s = Setup::new(None);
    tokio::task::spawn_blocking(move || story(&s, &double, true))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_roster_plan_and_push_against_the_double_on_postgres() {
    let double = WondeDouble::start(students(), 4).await;
    let db = crate::support::postgres::test_database().await;
    let s = Setup::new(Some(db.url().to_string()));
    tokio::task::spawn_blocking(move || story(&s, &double, false))
        .await
        .unwrap();
}

/// The story; the conflict is decided by writing the register's mark (`resolve`) or keeping
/// the MIS's.
fn story(s: &Setup, double: &WondeDouble, resolve: bool) {
    with_mis(s, double);
    let check = s.ok(&["mis", "check", "--format", "csv"]);
    assert!(check.contains(&format!("school,Example Academy ({SCHOOL})")), "{check}");
    assert!(check.contains("codes not in the MIS,none"), "{check}");

    s.import_sample_roster();
    let n = sample_pupils().len();
    let pulled = s.ok(&["mis", "roster", "--format", "csv"]);
    assert_eq!(
        pulled,
        format!("what,listed,added,updated,unchanged,left_roll,refused\npupils,{n},0,0,{n},0,0\n"),
        "the MIS's pupils are the CSV's: nothing changes"
    );

    s.import_sample_returns();
    // A person entered I in the MIS for the first expected mark's session.
    let expected = std::fs::read_to_string(root().join("samples/expected/marks.csv")).unwrap();
    let first: Vec<&str> = expected.lines().nth(1).unwrap().split(',').collect();
    let index = sample_pupils().iter().position(|p| p.upn.as_str() == first[0]).unwrap();
    double.hold(&format!("A{}", 1001 + index), first[1], first[2], "C-I");
    let out = s.run(&[
        "mis",
        "plan",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-13",
        "--format",
        "csv",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let plan = String::from_utf8(out.stdout).unwrap();
    let mut planned: Vec<String> = plan
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("write,"))
        .map(|l| l.split(',').skip(1).take(4).collect::<Vec<_>>().join(","))
        .collect();
    planned.sort();
    let mut wanted: Vec<String> = expected
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with(&format!("{},{},{}", first[0], first[1], first[2])))
        .map(|l| l.split(',').take(4).collect::<Vec<_>>().join(","))
        .collect();
    wanted.sort();
    assert_eq!(planned, wanted);
    let conflicts: Vec<&str> = plan.lines().filter(|l| l.starts_with("conflict,")).collect();
    assert_eq!(
        conflicts,
        [format!(
            "conflict,{},{},{},{},I,\"the MIS has I, the provider's return says {}: keep the MIS's mark, or write the provider's\"",
            first[0], first[1], first[2], first[3], first[3]
        )]
    );
    assert!(double.writebacks().is_empty(), "plan writes nothing");

    // The write-back: every planned mark lands in the MIS as its code id, the person's I stays.
    let range = ["--from", "2026-03-02", "--to", "2026-03-13", "--format", "csv"];
    let dates = wanted
        .iter()
        .map(|l| l.split(',').nth(1).unwrap())
        .collect::<std::collections::BTreeSet<_>>();
    // The first date's write is answered 429: it waits (exit 1, retrying 1) and goes next time.
    double.fail_next_writes(vec![Fail::RateLimited(30)]);
    let out = s.run(&[&["mis", "push"][..], &range[..]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{H}\n{},{},{},1,0,1,0\n", dates.len(), wanted.len(), dates.len() - 1)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("outbox list"));
    assert_eq!(double.writebacks().len(), dates.len() - 1);
    // A minute later (past its Retry-After) the waiting date goes; nothing is queued twice.
    let later = (chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
    let pushed = s.ok(&[&["--now", later.as_str(), "mis", "push"][..], &range[..]].concat());
    assert_eq!(pushed, format!("{H}\n0,0,1,0,0,0,1\n"));
    let id_of = |code: &str| match code {
        "/" => "C-PRESENT-AM".to_string(),
        "\\" => "C-PRESENT-PM".to_string(),
        c => format!("C-{c}"),
    };
    let student_of = |upn: &str| {
        let i = sample_pupils().iter().position(|p| p.upn.as_str() == upn).unwrap();
        format!("A{}", 1001 + i)
    };
    let mut in_mis: Vec<String> = double
        .held()
        .iter()
        .map(|h| format!("{},{},{},{}", h.student, h.date, h.session, h.code_id))
        .collect();
    in_mis.sort();
    let mut want_in_mis: Vec<String> = expected
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let code = if f[..3] == first[..3] {
                "C-I".to_string()
            } else {
                id_of(f[3])
            };
            format!("{},{},{},{code}", student_of(f[0]), f[1], f[2])
        })
        .collect();
    want_in_mis.sort();
    assert_eq!(in_mis, want_in_mis);
    assert_eq!(double.writebacks().len(), dates.len(), "one write-back per date");

    // Pushed again, nothing is written twice.
    let again = s.ok(&[&["mis", "push"][..], &range[..]].concat());
    assert_eq!(
        again,
        "queued_dates,queued_marks,delivered,retrying,dead,conflicts,waiting\n0,0,0,0,0,0,1\n"
    );
    assert_eq!(double.writebacks().len(), dates.len());

    // The conflict waits in the review queue; a person decides.
    let items: Vec<serde_json::Value> = serde_json::from_str(&s.ok(&["review", "list", "--format", "json"])).unwrap();
    let item = items
        .iter()
        .find(|i| i["kind"] == "mis-conflict")
        .expect("a mis-conflict item");
    assert!(item.to_string().contains("the MIS has I"), "{item}");
    let id = item["id"].to_string();
    let student = student_of(first[0]);
    let in_mis = |double: &WondeDouble| {
        double
            .held()
            .into_iter()
            .find(|h| h.student == student && h.date == first[1] && h.session == first[2])
            .unwrap()
            .code_id
    };
    if resolve {
        s.ok(&[
            "review",
            "resolve",
            &id,
            "--code",
            first[3],
            "--by",
            "attendance officer",
        ]);
        let after = s.ok(&[&["mis", "push"][..], &range[..]].concat());
        assert_eq!(after, format!("{H}\n1,1,1,0,0,0,0\n"));
        assert_eq!(
            in_mis(double),
            id_of(first[3]),
            "the register's mark written over the person's"
        );
    } else {
        s.ok(&[
            "review",
            "dismiss",
            &id,
            "--by",
            "attendance officer",
            "--note",
            "the MIS is right",
        ]);
        let after = s.ok(&[&["mis", "push"][..], &range[..]].concat());
        assert_eq!(after, format!("{H}\n0,0,0,0,0,0,0\n"));
        assert_eq!(in_mis(double), "C-I", "the MIS's mark kept");
    }
    assert_eq!(
        s.ok(&[&["mis", "push"][..], &range[..]].concat()),
        format!("{H}\n0,0,0,0,0,0,0\n")
    );
}

const H: &str = "queued_dates,queued_marks,delivered,retrying,dead,conflicts,waiting";

/// A write the MIS refuses (422) becomes a dead letter at once, keeping the MIS's words, and is
/// never sent again by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_the_mis_refuses_is_a_dead_letter_with_its_reasons() {
    let double = WondeDouble::start(students(), 50).await;
    let s = Setup::new(None);
    tokio::task::spawn_blocking(move || {
        with_mis(&s, &double);
        s.import_sample_roster();
        s.ok(&["mis", "roster"]);
        s.import_sample_returns();
        double.fail_next_writes(vec![Fail::Invalid(
            serde_json::json!({ "attendance.0.attendance_code_id": ["The selected attendance code id is invalid."] }),
        )]);
        let range = ["--from", "2026-03-02", "--to", "2026-03-02", "--format", "csv"];
        let out = s.run(&[&["mis", "push"][..], &range[..]].concat());
        assert_eq!(out.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&out.stdout).ends_with(",0,0,1,0,0\n"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let listed = s.ok(&["outbox", "list", "--format", "json"]);
        let rows: Vec<serde_json::Value> = serde_json::from_str(&listed).unwrap();
        let dead: Vec<&serde_json::Value> = rows.iter().filter(|r| r.to_string().contains("MIS-REFUSED")).collect();
        assert_eq!(dead.len(), 1, "{listed}");
        assert!(dead[0].to_string().contains("attendance_code_id"), "{listed}");
        let again = s.run(&[&["mis", "push"][..], &range[..]].concat());
        assert!(
            String::from_utf8_lossy(&again.stdout).ends_with("\n0,0,0,0,0,0,0\n"),
            "{}",
            String::from_utf8_lossy(&again.stdout)
        );
        assert!(double.writebacks().is_empty());
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_named_and_exits_1() {
    let double = WondeDouble::start(students(), 4).await;
    let s = Setup::new(None);
    with_mis(&s, &double);
    std::fs::write(s.path("wonde-token"), "stale\n").unwrap();
    let out = s.run(&["mis", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let online = s.run(&["check", "--online"]);
    assert_eq!(online.status.code(), Some(1));
    let said = String::from_utf8_lossy(&online.stdout);
    assert!(
        said.contains(&format!("mis (Wonde school {SCHOOL}): FAILED: MIS-AUTH")),
        "{said}"
    );
    std::fs::write(s.path("wonde-token"), format!("{TOKEN}\n")).unwrap();
    let online = s.run(&["check", "--online"]);
    let said = String::from_utf8_lossy(&online.stdout);
    assert!(
        online.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&online.stderr)
    );
    assert!(
        said.contains(&format!(
            "mis (Wonde school {SCHOOL}): ok (Example Academy, 34 attendance codes; nothing written)"
        )),
        "{said}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("MIS-AUTH") && err.contains("token_file"), "{err}");
    assert!(!err.contains("stale"), "the token is never printed: {err}");
}

/// A correction in the register (a later return from the same provider) is written again, once;
/// the marks already written are not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_is_written_once() {
    let double = WondeDouble::start(students(), 50).await;
    let s = Setup::new(None);
    tokio::task::spawn_blocking(move || {
        with_mis(&s, &double);
        s.import_sample_roster();
        s.ok(&["mis", "roster"]);
        s.import_sample_returns();
        let range = ["--from", "2026-03-02", "--to", "2026-03-02", "--format", "csv"];
        let first = s.ok(&[&["mis", "push"][..], &range[..]].concat());
        let marks: usize = first
            .lines()
            .nth(1)
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        assert!(marks > 1, "{first}");
        assert_eq!(double.writebacks().len(), 1);
        let held = |double: &WondeDouble| {
            double
                .held()
                .into_iter()
                .find(|h| h.student == "A1002" && h.date == "2026-03-02" && h.session == "AM")
                .unwrap()
                .code_id
        };
        assert_eq!(held(&double), "C-B", "a provider's present is B");
        let corrected = s.path("BF_attendance_2026-03-02_corrected.csv");
        std::fs::write(
            &corrected,
            "Learner Ref,UPN,Surname,Forename,Date,Session,Mark,Notes\nBF-104,,Clarke,Jayden,02/03/2026,AM,M,\n",
        )
        .unwrap();
        s.done(&["import", "--provider", "bright-futures", corrected.to_str().unwrap()]);
        let register = s.ok(&["marks", "--from", "2026-03-02", "--to", "2026-03-02", "--format", "csv"]);
        let code = register
            .lines()
            .find(|l| l.starts_with("Q371432121107,2026-03-02,AM,"))
            .unwrap()
            .split(',')
            .nth(3)
            .unwrap()
            .to_string();
        assert_ne!(code, "B", "the correction is in the register: {register}");
        let again = s.ok(&[&["mis", "push"][..], &range[..]].concat());
        assert_eq!(again, format!("{H}\n1,1,1,0,0,0,0\n"));
        assert_eq!(held(&double), format!("C-{code}"));
        let body = &double.writebacks()[1].1;
        assert_eq!(
            body["attendance"].as_array().unwrap().len(),
            1,
            "only the correction: {body}"
        );
        assert_eq!(
            s.ok(&[&["mis", "push"][..], &range[..]].concat()),
            format!("{H}\n0,0,0,0,0,0,0\n")
        );
    })
    .await
    .unwrap();
}
