//! Format validation reports every problem at once, and the marks vocabulary resolves as the
//! providers mean it.

use super::{format, raw_format};
use crate::pipeline::format::{MarkRule, Resolution};

#[test]
fn every_problem_is_reported_at_once_with_its_key() {
    let f = raw_format(
        r#"
        kind = "json"
        delimiter = ";;"
        sheet = "Attendance"
        records = "data..items"
        date_formats = ["%d/%m", "%Q"]
        [identity]
        name = "student.name"
        [layout]
        style = "wide"
        date = "date"
        session_columns = "{day} {session}"
        [layout.session_values]
        Morning = "AM"
        " morning" = "PM"
        [marks.map]
        P = "present"
        A = "reason"
        J = "J"
        [marks.reasons]
        sick = "reason"
        [marks.reasons_for.P]
        x = "I"
        [limits]
        max_rows = 0
        max_text_bytes = 0
        max_field_bytes = 0
        max_cells_per_row = 0
        "#,
    );
    let issues = f.validate().unwrap_err();
    let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
    for key in [
        "format.delimiter",
        "format.sheet",
        "format.records",
        "format.date_formats[0]",
        "format.date_formats[1]",
        "format.identity.name_order",
        "format.layout.date",
        "format.layout.session_columns",
        "format.layout.session_values",
        "format.marks.map",
        "format.marks.map.\"J\"",
        "format.marks.reasons.\"sick\"",
        "format.marks.reasons_for.\"P\"",
        "format.limits.max_rows",
        "format.limits.max_text_bytes",
        "format.limits.max_field_bytes",
        "format.limits.max_cells_per_row",
    ] {
        assert!(keys.contains(&key), "{key} missing from {issues:#?}");
    }
    let j = issues.iter().find(|i| i.key == "format.marks.map.\"J\"").unwrap();
    assert!(j.message.contains("not a current statutory code"), "{}", j.message);
}

#[test]
fn long_layouts_need_a_mark_and_a_date() {
    let f = raw_format(
        r#"
        kind = "csv"
        [identity]
        [layout]
        style = "long"
        session = "Session"
        am = "AM"
        am_reason = "Why"
        pm_reason = "Why PM"
        "#,
    );
    let issues = f.validate().unwrap_err();
    let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
    for key in [
        "format.identity",
        "format.layout.date",
        "format.layout",
        "format.layout.mark",
        "format.layout.pm_reason",
        "format.marks",
    ] {
        assert!(keys.contains(&key), "{key} missing from {issues:#?}");
    }
}

#[test]
fn weekday_headers_need_a_document_date() {
    let f = raw_format(
        r#"
        kind = "csv"
        [identity]
        upn = "UPN"
        [layout]
        style = "wide"
        session_columns = "{weekday} {session}"
        [marks]
        codes = "dfe"
        "#,
    );
    let issues = f.validate().unwrap_err();
    assert_eq!(issues.len(), 1, "{issues:#?}");
    assert_eq!(issues[0].key, "format.document_date");
}

#[test]
fn vocabularies_resolve_marks_and_reasons() {
    let riverside = format(include_str!("../../../../config/formats/riverside-farm.toml"));
    assert_eq!(riverside.marks.resolve("N", Some("Ill")), Resolution::Code("I".into()));
    assert_eq!(
        riverside.marks.resolve(" n ", Some("  family  HOLIDAY ")),
        Resolution::Code("G".into())
    );
    assert_eq!(riverside.marks.resolve("N", None), Resolution::Code("N".into()));
    assert_eq!(riverside.marks.resolve("y", None), Resolution::Present);
    assert!(
        matches!(riverside.marks.resolve("N", Some("Dentist")), Resolution::Unmapped(m) if m.contains("`Dentist`"))
    );

    let northstar = format(include_str!("../../../../config/formats/northstar.toml"));
    assert_eq!(
        northstar.marks.resolve("late", Some("before_close")),
        Resolution::Present
    );
    assert_eq!(
        northstar.marks.resolve("late", Some("after_close")),
        Resolution::Code("U".into())
    );
    assert_eq!(
        northstar.marks.resolve("absent", Some("sick")),
        Resolution::Code("I".into())
    );
    assert_eq!(northstar.marks.resolve("absent", None), Resolution::Code("N".into()));
    // `late` has its own table, which has no blank reason.
    assert!(matches!(northstar.marks.resolve("late", None), Resolution::Unmapped(_)));

    let bright = format(include_str!("../../../../config/formats/bright-futures.toml"));
    assert_eq!(bright.marks.resolve("/", None), Resolution::Present);
    assert_eq!(bright.marks.resolve("\\", None), Resolution::Present);
    assert_eq!(bright.marks.resolve("L", None), Resolution::Present);
    assert_eq!(bright.marks.resolve("c1", None), Resolution::Code("C1".into()));
    assert!(matches!(bright.marks.resolve("J", None), Resolution::Unmapped(_)));

    let boxing = format(include_str!("../../../../config/formats/boxing-academy.toml"));
    assert_eq!(
        boxing.marks.resolve("absent-illness", None),
        Resolution::Code("I".into())
    );
    assert_eq!(MarkRule::parse("none", true), Ok(MarkRule::NoMark));
}

#[test]
fn the_example_formats_are_valid_and_round_trip_through_toml() {
    for text in [
        include_str!("../../../../config/formats/bright-futures.toml"),
        include_str!("../../../../config/formats/skills-hub.toml"),
        include_str!("../../../../config/formats/riverside-farm.toml"),
        include_str!("../../../../config/formats/boxing-academy.toml"),
        include_str!("../../../../config/formats/northstar.toml"),
    ] {
        let f = format(text);
        assert_eq!(f.validate(), Ok(()));
        let again = format(&toml::to_string(&f).unwrap());
        assert_eq!(again, f);
    }
}

#[test]
fn a_report_date_is_checked_like_a_document_date_and_read_from_a_title_cell() {
    let mut f = raw_format(include_str!("../../../../config/formats/bright-futures.toml"));
    f.report_date = Some(crate::pipeline::format::DocumentDate {
        label: None,
        file_name: Some("BF_{any}.csv".into()),
    });
    let issues = f.validate().unwrap_err();
    assert_eq!(
        issues.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
        ["format.report_date.file_name"],
        "{issues:#?}"
    );
    f.report_date = Some(crate::pipeline::format::DocumentDate {
        label: Some("Generated:".into()),
        file_name: Some("BF_{any}_{date}.csv".into()),
    });
    f.validate().unwrap();
    let csv = "Generated: 05/03/2026\nLearner Ref,UPN,Surname,Forename,Date,Session,Mark,Notes\n";
    let table = crate::pipeline::decode::decode_table(csv.as_bytes(), "x.csv", &f).unwrap();
    let date = |name: &str| crate::pipeline::layout::report_date(&table, &f, name);
    assert_eq!(
        date("anything.csv"),
        chrono::NaiveDate::from_ymd_opt(2026, 3, 5),
        "the title cell"
    );
    let untitled = crate::pipeline::decode::decode_table(&csv.as_bytes()[22..], "x.csv", &f).unwrap();
    assert_eq!(
        crate::pipeline::layout::report_date(&untitled, &f, "BF_attendance_2026-03-04.csv"),
        chrono::NaiveDate::from_ymd_opt(2026, 3, 4),
        "else the file name"
    );
    assert_eq!(crate::pipeline::layout::report_date(&untitled, &f, "other.csv"), None);
}
