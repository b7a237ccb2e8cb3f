use chrono::{DateTime, Utc};

use super::*;
use crate::visits::VisitNotes;

fn now() -> DateTime<Utc> {
    "2026-03-02T12:00:00Z".parse().unwrap()
}

fn input() -> VisitInput {
    VisitInput {
        pupil: Some("2101".into()),
        occurred_at: Some("2026-03-02 10:30".into()),
        staff: Some("Ms Patel".into()),
        kind: Some("On site".into()),
        notes: VisitNotes {
            progress: Some("Settled well.".into()),
            ..VisitNotes::default()
        },
        ..Default::default()
    }
}

#[test]
fn a_local_time_is_in_the_schools_zone() {
    let mut i = input();
    i.occurred_at = Some("2026-06-02T10:30".into());
    let v = check(&i, chrono_tz::Europe::London, "2026-07-01T00:00:00Z".parse().unwrap()).unwrap();
    assert_eq!(v.occurred_at.to_rfc3339(), "2026-06-02T09:30:00+00:00");
    assert_eq!(v.kind, VisitKind::OnSite);
}

/// Found by fuzzing (`fuzz/corpus/visit_json/crash-leap-second-lmt.json`): a leap second in
/// London's local mean time was accepted, then came back from the outbox a second different.
#[test]
fn a_leap_second_is_not_a_time() {
    for when in [
        "0268-03-02T10:30:60",
        "1800-03-02 10:30:60",
        "2026-03-02T10:30:60Z",
        "2026-03-02 10:59:60",
    ] {
        let mut i = input();
        i.occurred_at = Some(when.into());
        let problems = check(&i, chrono_tz::Europe::London, now()).unwrap_err();
        assert_eq!(problems.len(), 1, "{when}: {problems:?}");
        assert_eq!(problems[0].field, "occurred_at", "{when}");
    }
    let mut i = input();
    i.occurred_at = Some("1800-03-02 10:30:59".into());
    let v = check(&i, chrono_tz::Europe::London, now()).unwrap();
    let back: DateTime<Utc> = serde_json::from_str(&serde_json::to_string(&v.occurred_at).unwrap()).unwrap();
    assert_eq!(back, v.occurred_at);
}

#[test]
fn every_problem_is_reported_with_its_field() {
    let i = VisitInput {
        occurred_at: Some("2026-03-03 10:00".into()),
        kind: Some("carrier pigeon".into()),
        follow_up: Some("soon".into()),
        ..Default::default()
    };
    let problems = check(&i, chrono_tz::Europe::London, now()).unwrap_err();
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        ["pupil", "staff", "type", "occurred_at", "follow_up", "progress"]
    );
    assert!(problems[3].message.contains("future"), "{}", problems[3].message);
    assert!(problems[5].message.contains("notes are empty"));
}

#[test]
fn titles_check_their_placeholders() {
    assert_eq!(check_title("Visit by {staff} on {date}"), Ok(()));
    let unknown = check_title("Visit {nope}").unwrap_err();
    assert_eq!(unknown, TitleError::Unknown("nope".into()));
    assert!(
        unknown.to_string().starts_with("`{nope}` is not a placeholder: use {"),
        "{unknown}"
    );
    assert!(unknown.to_string().contains("{staff}"), "{unknown}");
    assert_eq!(check_title("Visit {staff"), Err(TitleError::Unclosed));
}

#[test]
fn the_payload_follows_the_template() {
    let doc = VisitDocument {
        external_id: "visit-1".into(),
        upn: "R371432121100".into(),
        admission_number: "002101".into(),
        provider: Some("skills-hub".into()),
        occurred_at: "2026-03-02T10:30:00Z".parse().unwrap(),
        staff: "Ms Patel".into(),
        kind: VisitKind::Phone,
        notes: VisitNotes {
            pupil_views: Some("Likes the mechanics course.".into()),
            progress: Some("Good".into()),
            behaviour: None,
            welfare: Some("  ".into()),
            actions: Some("Call parent".into()),
        },
        follow_up: Some("2026-03-20".parse().unwrap()),
    };
    let mut t = PayloadTemplate {
        identifiers: vec![PupilIdentifier::AdmissionNumber],
        title: "{type} visit: {provider}".into(),
        ..Default::default()
    };
    t.fields.insert("admission_number".into(), "student.adno".into());
    t.fields.insert("body".into(), "description".into());
    let v = t.render(&doc, chrono_tz::Europe::London);
    assert_eq!(v["student"]["adno"], "002101");
    assert!(v.get("upn").is_none(), "only the configured identifiers are sent");
    assert_eq!(v["title"], "Phone visit: skills-hub");
    assert_eq!(v["external_id"], "visit-1");
    assert_eq!(v["follow_up"], "2026-03-20");
    let body = v["description"].as_str().unwrap();
    assert!(body.contains("Pupil's views:\nLikes") && body.contains("Actions agreed:\nCall parent"));
    assert!(!body.contains("Welfare"), "empty notes are left out: {body}");
}

#[test]
fn csv_rows_keep_their_lines_and_unknown_columns_are_refused() {
    let rows =
        csv::parse(b"Pupil,Occurred At,Staff,Type,Progress\n2101,2026-03-02 10:00,Ms P,phone,ok\n\n2102,x,y,z,\n")
            .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].line, 2);
    assert_eq!(rows[0].input.occurred_at.as_deref(), Some("2026-03-02 10:00"));
    let bad = csv::parse(b"pupil,when,staff,type\n").unwrap_err();
    assert!(bad.iter().any(|p| p.message.contains("unknown column `when`")));
    assert!(bad.iter().any(|p| p.message.contains("no `occurred_at`")));
}

#[test]
fn control_characters_are_refused_on_one_line_and_cleaned_from_notes() {
    let mut i = input();
    i.staff = Some("Ms Patel\r\nlevel=ERROR forged".into());
    i.pupil = Some("2101\0".into());
    let problems = check(&i, chrono_tz::Europe::London, now()).unwrap_err();
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["pupil", "staff"]);
    assert!(problems[0].message.contains("control character"), "{problems:?}");

    let mut i = input();
    i.notes.progress = Some("Line one\r\nline two\rline three\0\u{1b}[31m\tend".into());
    i.notes.welfare = Some("\0\u{7}".into());
    let v = check(&i, chrono_tz::Europe::London, now()).unwrap();
    assert_eq!(
        v.notes.progress.as_deref(),
        Some("Line one\nline two\nline three[31m\tend")
    );
    assert_eq!(v.notes.welfare, None, "only control characters: blank");
}
