//! The MIS link against the Wonde double: the client's paging, failures and write-back, and the
//! roster pulled from the MIS into real stores on both backends, equal to the CSV import of the
//! same pupils.

use std::time::Duration;

use apsync::config::{MisConfig, MisKind, Secret, SecretFile};
use apsync::mis::roster::{RosterPullError, pull};
use apsync::mis::wonde::Wonde;
use apsync::mis::{MarkToWrite, MisError, MisLink};
use apsync::store::Store;
use apsync_core::domain::Session;
use chrono::NaiveDate;
use serde_json::Value;

use crate::support::store::{Guard, postgres_store, providers, sample_pupils, sqlite_store, t};
use crate::support::wonde::{Fail, SCHOOL, TOKEN, WondeDouble, student};

fn config(double: &WondeDouble) -> MisConfig {
    MisConfig {
        kind: MisKind::Wonde,
        url: double.base.parse().unwrap(),
        school_id: SCHOOL.into(),
        token: SecretFile {
            key: "mis.token_file".into(),
            path: "wonde-token".into(),
        },
        roster: true,
        roster_schedule: apsync_core::schedule::Schedule::parse(Some("10 6 * * 1-5")).unwrap(),
        write_back: true,
        write_back_from: NaiveDate::from_ymd_opt(2026, 1, 1),
        replaceable: Default::default(),
    }
}

fn client(double: &WondeDouble, token: &str) -> Wonde {
    Wonde::new(&config(double), Secret::new(token.to_string())).unwrap()
}

/// The sample roster as Wonde lists it, student ids `A1001`, `A1002`, ...
fn sample_students() -> Vec<Value> {
    sample_pupils()
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let year = p.year_group.map(|y| y.to_string()).unwrap_or_default();
            student(
                &format!("A{}", 1001 + i),
                p.upn.as_str(),
                &p.admission_number,
                &p.legal_surname,
                &p.legal_forename,
                &p.date_of_birth.to_string(),
                &year,
            )
        })
        .collect()
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, d).unwrap()
}

#[tokio::test]
async fn students_are_read_page_by_page_with_their_details() {
    let double = WondeDouble::start(sample_students(), 2).await;
    let wonde = client(&double, TOKEN);
    let school = wonde.school().await.unwrap();
    assert_eq!((school.id.as_str(), school.name.as_str()), (SCHOOL, "Example Academy"));
    let students = wonde.students().await.unwrap();
    assert_eq!(students.len(), sample_pupils().len());
    let pages = double.requests().iter().filter(|r| r.contains("/students?")).count();
    assert_eq!(pages, sample_pupils().len().div_ceil(2), "{:#?}", double.requests());
    assert!(
        double
            .requests()
            .iter()
            .any(|r| r.contains("include=extended_details,education_details,year")),
        "{:#?}",
        double.requests()
    );
    let first = &students[0];
    assert_eq!(first.id, "A1001");
    assert_eq!(first.upn.as_deref(), Some(sample_pupils()[0].upn.as_str()));
    assert_eq!(first.admission_number.as_deref(), Some("002101"));
    assert_eq!(first.date_of_birth.as_deref(), Some("2010-07-14 00:00:00.000000"));
    assert_eq!(first.year_group.as_deref(), Some("11"));
    let codes = wonde.codes().await.unwrap();
    assert!(codes.iter().any(|c| c.id == "C-N" && c.code == "N"), "{codes:?}");
}

#[tokio::test]
async fn each_failure_is_named_as_the_api_gave_it() {
    let double = WondeDouble::start(sample_students(), 50).await;
    let bad = client(&double, "not-the-token");
    assert_eq!(bad.school().await.unwrap_err(), MisError::Unauthorised);
    let wonde = client(&double, TOKEN);
    double.fail_next(vec![Fail::Status(403), Fail::RateLimited(7), Fail::Status(500)]);
    let forbidden = wonde.school().await.unwrap_err();
    assert_eq!(forbidden, MisError::Forbidden { school: SCHOOL.into() });
    assert!(!forbidden.is_transient());
    assert!(forbidden.to_string().contains("approve apsync's access"), "{forbidden}");
    let limited = wonde.students().await.unwrap_err();
    assert_eq!(
        limited,
        MisError::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert!(limited.is_transient());
    let down = wonde.codes().await.unwrap_err();
    assert_eq!(
        down,
        MisError::Status {
            status: 500,
            transient: true
        }
    );
    // The script is used up: the next call is answered normally.
    assert_eq!(wonde.codes().await.unwrap().len(), 34);
}

#[tokio::test]
async fn marks_written_are_kept_and_read_back_and_a_refusal_names_the_field() {
    let double = WondeDouble::start(sample_students(), 50).await;
    let wonde = client(&double, TOKEN);
    let marks = vec![
        MarkToWrite {
            student_id: "A1001".into(),
            date: day(8),
            session: Session::Am,
            code_id: "C-B".into(),
            comment: None,
        },
        MarkToWrite {
            student_id: "A1002".into(),
            date: day(9),
            session: Session::Pm,
            code_id: "C-N".into(),
            comment: Some("from apsync".into()),
        },
    ];
    assert_eq!(wonde.write_sessions(&marks).await.unwrap(), "WB-1");
    let body = &double.writebacks()[0].1;
    assert_eq!(body["attendance"][1]["comment"], "from apsync");
    assert_eq!(body["attendance"][0]["session"], "AM");
    assert_eq!(body["attendance"][0]["date"], "2026-06-08");
    double.hold("A1003", "2026-06-10", "AM", "C-I");
    let read = wonde.session_marks(day(8), day(9)).await.unwrap();
    let got: Vec<(&str, NaiveDate, Session, &str)> = read
        .iter()
        .map(|m| (m.student_id.as_str(), m.date, m.session, m.code_id.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("A1001", day(8), Session::Am, "C-B"),
            ("A1002", day(9), Session::Pm, "C-N")
        ]
    );
    let wrong = MarkToWrite {
        code_id: "C-NOPE".into(),
        ..marks[0].clone()
    };
    let refused = wonde.write_sessions(&[wrong]).await.unwrap_err();
    let MisError::Validation(text) = &refused else {
        panic!("{refused:?}")
    };
    assert!(text.contains("attendance.0.attendance_code_id"), "{text}");
    assert_eq!(double.writebacks().len(), 1, "a refused write keeps nothing");
}

async fn pulled_roster_equals_the_csv_import(store: Store, _guard: Guard) {
    store
        .sync_providers(&providers(), t("2026-03-01T08:00:00Z"))
        .await
        .unwrap();
    let mut students = sample_students();
    // One student whose UPN has the wrong check letter: reported, the rest still load.
    let mut bad = students[0].clone();
    bad["id"] = "A9999".into();
    bad["extended_details"]["data"]["upn"] = "A371432121114".into();
    bad["education_details"]["data"]["admission_number"] = "009999".into();
    students.push(bad);
    let double = WondeDouble::start(students.clone(), 3).await;
    let wonde = client(&double, TOKEN);
    let pulled = pull(&wonde, &store, t("2026-03-01T08:00:00Z")).await.unwrap();
    assert_eq!(pulled.students, sample_pupils().len() + 1);
    assert_eq!(pulled.changes.pupils_added as usize, sample_pupils().len());
    assert_eq!(pulled.problems.len(), 1, "{:?}", pulled.problems);
    assert_eq!(pulled.problems[0].mis_id, "A9999");
    assert!(
        pulled.problems[0].problem.contains("check letter"),
        "{}",
        pulled.problems[0]
    );

    let (csv_store, _csv_guard) = sqlite_store().await;
    csv_store
        .sync_providers(&providers(), t("2026-03-01T08:00:00Z"))
        .await
        .unwrap();
    csv_store
        .import_roster(&sample_pupils(), None, t("2026-03-01T08:00:00Z"))
        .await
        .unwrap();
    assert_eq!(store.pupils().await.unwrap(), csv_store.pupils().await.unwrap());
    let ids = store.mis_ids().await.unwrap();
    assert_eq!(ids.len(), sample_pupils().len());
    assert!(ids.contains(&(sample_pupils()[0].upn.as_str().to_string(), "A1001".to_string())));

    // The same list again changes nothing; a student gone from the MIS is kept, off roll.
    let again = pull(&wonde, &store, t("2026-03-02T08:00:00Z")).await.unwrap();
    assert_eq!(again.changes.pupils_unchanged as usize, sample_pupils().len());
    students.remove(1);
    double.set_students(students);
    let later = pull(&wonde, &store, t("2026-03-03T08:00:00Z")).await.unwrap();
    assert_eq!(later.changes.pupils_left_roll, 1);
    let pupils = store.pupils().await.unwrap();
    assert_eq!(pupils.len(), sample_pupils().len(), "nobody deleted");
    let gone = pupils.iter().find(|p| p.record.upn == sample_pupils()[1].upn).unwrap();
    assert!(!gone.on_roll);

    // A list of no loadable student is a fault, never every pupil off roll.
    double.set_students(Vec::new());
    let empty = pull(&wonde, &store, t("2026-03-04T08:00:00Z")).await.unwrap_err();
    assert!(matches!(empty, RosterPullError::Empty { students: 0 }), "{empty}");
    assert_eq!(
        store.pupils().await.unwrap().iter().filter(|p| p.on_roll).count(),
        sample_pupils().len() - 1
    );
}

#[tokio::test]
async fn the_roster_pulled_from_the_mis_equals_the_csv_import_on_sqlite() {
    let (store, guard) = sqlite_store().await;
    pulled_roster_equals_the_csv_import(store, guard).await;
}

#[tokio::test]
async fn the_roster_pulled_from_the_mis_equals_the_csv_import_on_postgres() {
    let (store, guard) = postgres_store().await;
    pulled_roster_equals_the_csv_import(store, guard).await;
}
