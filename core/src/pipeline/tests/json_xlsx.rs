//! Workbooks (date cells, serial numbers, merged header cells) and JSON pages.

use super::{checked, decode_ok, find, format, n, raw_format, row, s, xlsx, ymd};
use crate::domain::Session::{Am, Pm};
use crate::pipeline::format::Resolution;
use crate::pipeline::{DateOfBirth, DecodeProblem, decode};

const LONG_XLSX: &str = r#"
    kind = "xlsx"
    sheet = "Register"
    [identity]
    name = "Name"
    name_order = "forename_first"
    date_of_birth = "DOB"
    admission_number = "Adno"
    [layout]
    style = "long"
    date = "Date"
    am = "AM"
    pm = "PM"
    reason = "Reason"
    [marks.map]
    Y = "present"
    N = "reason"
    [marks.reasons]
    Ill = "I"
    "" = "N"
"#;

#[test]
fn xlsx_date_cells_and_serial_numbers_in_a_named_sheet() {
    let register = [
        row(1, &[s("A1", "Register &amp; notes")]),
        row(
            3,
            &[
                s("A3", "Name"),
                s("B3", "DOB"),
                s("C3", "Date"),
                s("D3", "AM"),
                s("E3", "PM"),
                s("F3", "Reason"),
                s("G3", "Adno"),
            ],
        ),
        // A date cell, and a plain serial number (a sheet saved without date formatting).
        row(
            4,
            &[
                s("A4", "Connor Walsh"),
                n("B4", 40236.0, true),
                n("C4", 46086.0, true),
                s("D4", "N"),
                s("E4", "Y"),
                s("F4", "Ill"),
                n("G4", 2113.0, false),
            ],
        ),
        row(
            5,
            &[
                s("A5", "Ruby Hargreaves"),
                n("B5", 40610.0, false),
                n("C5", 46087.0, false),
                s("D5", "N"),
            ],
        ),
        row(7, &[s("A7", "Kacper Nowak"), s("C7", "6th March"), s("D7", "Y")]),
    ]
    .concat();
    let book = xlsx(&[("Cover", &row(1, &[s("A1", "Cover sheet")])), ("Register", &register)]);
    let f = format(LONG_XLSX);
    let d = decode_ok(&book, "r.xlsx", &f);
    assert_eq!(d.observations.len(), 3, "{:#?}", d.observations);
    let connor = find(&d, "2113", ymd(2026, 3, 5), Am);
    assert_eq!(connor.locator, "sheet Register row 4");
    assert_eq!(connor.identity.date_of_birth, Some(DateOfBirth::Date(ymd(2010, 2, 27))));
    assert_eq!(connor.reason.as_deref(), Some("Ill"));
    assert_eq!(
        f.marks.resolve(&connor.mark, connor.reason.as_deref()),
        Resolution::Code("I".into())
    );
    let ruby = find(&d, "Ruby Hargreaves", ymd(2026, 3, 6), Am);
    assert_eq!(ruby.identity.date_of_birth, Some(DateOfBirth::Date(ymd(2011, 3, 8))));
    assert_eq!(
        f.marks.resolve(&ruby.mark, ruby.reason.as_deref()),
        Resolution::Code("N".into())
    );
    assert_eq!(d.problems.len(), 1);
    assert_eq!(d.problems[0].locator, "sheet Register row 7");
    assert!(d.problems[0].message.contains("`6th March` is not a date"));
}

#[test]
fn xlsx_first_sheet_by_default_and_missing_sheets_named() {
    let data = [
        row(
            1,
            &[
                s("A1", "Name"),
                s("B1", "DOB"),
                s("C1", "Date"),
                s("D1", "AM"),
                s("E1", "PM"),
                s("F1", "Reason"),
                s("G1", "Adno"),
            ],
        ),
        row(2, &[s("A2", "A B"), s("C2", "2026-03-02"), s("E2", "Y")]),
    ]
    .concat();
    let book = xlsx(&[("Sheet1", &data)]);
    let mut f = raw_format(LONG_XLSX);
    f.sheet = None;
    let d = decode_ok(&book, "r.xlsx", &checked(f.clone()));
    assert_eq!(find(&d, "A B", ymd(2026, 3, 2), Pm).mark, "Y");
    f.sheet = Some("Attendance".into());
    let f = checked(f);
    let err = decode(&book, "r.xlsx", &f).unwrap_err();
    assert!(
        err.to_string()
            .contains("no sheet named `Attendance` (it has `Sheet1`)"),
        "{err}"
    );
    let err = decode(b"Name,Date\n", "r.xlsx", &f).unwrap_err();
    assert!(matches!(err.problem, DecodeProblem::WrongKind { .. }), "{err}");
}

#[test]
fn xlsx_wide_two_header_rows_with_merged_date_cells() {
    // A merged cell keeps its value in the first cell only; the others are absent.
    let data = [
        row(1, &[s("A1", "Learner"), n("B1", 46083.0, true), n("D1", 46084.0, true)]),
        row(2, &[s("B2", "AM"), s("C2", "PM"), s("D2", "AM"), s("E2", "PM")]),
        row(3, &[s("A3", "SH-17"), s("B3", "P"), s("C3", "P"), s("E3", "A")]),
    ]
    .concat();
    let f = format(
        r#"
        kind = "xlsx"
        header_rows = 2
        [identity]
        provider_ref = "Learner"
        [layout]
        style = "wide"
        session_columns = "{date} {session}"
        [marks.map]
        P = "present"
        A = "N"
        "#,
    );
    let d = decode_ok(&xlsx(&[("S", &data)]), "w.xlsx", &f);
    assert_eq!(d.observations.len(), 3, "{:#?}", d.observations);
    let o = find(&d, "SH-17", ymd(2026, 3, 3), Pm);
    assert_eq!(
        (o.mark.as_str(), o.locator.as_str()),
        ("A", "sheet S row 3, column `2026-03-03 PM`")
    );
}

const NORTHSTAR: &str = r#"
    kind = "json"
    records = "result.items"
    [identity]
    provider_ref = "pupil.id"
    [layout]
    style = "long"
    date = "when"
    session = "session"
    mark = "attendance.status"
    reason = "attendance.reason"
    [marks.map]
    present = "present"
    absent = "reason"
    [marks.reasons]
    sick = "I"
    "" = "N"
"#;

#[test]
fn json_records_at_a_nested_path_with_a_session_field() {
    let page = r#"{"result": {"items": [
        {"pupil": {"id": "N1"}, "when": "2026-03-02", "session": "AM", "attendance": {"status": "absent", "reason": null}},
        {"pupil": {"id": "N1"}, "when": "2026-03-02", "session": "PM", "attendance": {"status": "absent", "reason": "sick"}},
        {"pupil": {"id": "N1"}, "when": "2026-03-03", "session": "PM", "attendance": {"status": null}},
        {"pupil": {"id": "N1"}, "when": "not a date", "session": "PM", "attendance": {"status": "present"}},
        "garbage",
        {"pupil": {"id": 7}, "when": "2026-03-04", "session": "pm", "attendance": {"status": "present"}}
    ]}, "meta": {"next_page": null}}"#;
    let f = format(NORTHSTAR);
    let d = decode_ok(page.as_bytes(), "page-1.json", &f);
    assert_eq!(d.observations.len(), 3, "{:#?}", d.observations);
    let am = find(&d, "N1", ymd(2026, 3, 2), Am);
    assert_eq!(am.locator, "record 1 (result.items[0])");
    assert_eq!(
        f.marks.resolve(&am.mark, am.reason.as_deref()),
        Resolution::Code("N".into())
    );
    let pm = find(&d, "N1", ymd(2026, 3, 2), Pm);
    assert_eq!(
        f.marks.resolve(&pm.mark, pm.reason.as_deref()),
        Resolution::Code("I".into())
    );
    find(&d, "7", ymd(2026, 3, 4), Pm);
    let locators: Vec<&str> = d.problems.iter().map(|p| p.locator.as_str()).collect();
    assert_eq!(locators, ["record 5 (result.items[4])", "record 4 (result.items[3])"]);
}

#[test]
fn json_that_cannot_be_read_is_refused() {
    let f = format(NORTHSTAR);
    let err = decode(b"{\"result\": [", "p.json", &f).unwrap_err();
    assert!(err.to_string().contains("cannot be read as json"), "{err}");
    let err = decode(b"{\"data\": []}", "p.json", &f).unwrap_err();
    assert!(
        err.to_string()
            .contains("there is no `result` (the keys there are `data`)"),
        "{err}"
    );
    let err = decode(b"{\"result\": {\"items\": 3}}", "p.json", &f).unwrap_err();
    assert!(err.to_string().contains("found a number instead"), "{err}");
    let mut root = raw_format(NORTHSTAR);
    root.records = None;
    let root = checked(root);
    let d = decode_ok(
        br#"[{"pupil": {"id": "N2"}, "when": "2026-03-02", "session": "AM", "attendance": {"status": "present"}}]"#,
        "p.json",
        &root,
    );
    assert_eq!(d.observations[0].locator, "record 1 ([0])");
}

/// The example in docs/formats.md ("JSON pages"): one record per session, naming its session.
#[test]
fn json_with_one_record_per_session_reads_as_documented() {
    let f = format(
        r#"
        kind = "json"
        records = "results"
        [identity]
        provider_ref = "learner.id"
        [layout]
        style = "long"
        date = "date"
        session = "session"
        mark = "attendance"
        comment = "note"
        [marks.map]
        present = "present"
        absent = "N"
    "#,
    );
    let page = br#"{"results": [
      {"learner": {"id": "NS-0042"}, "date": "2026-03-02", "session": "AM", "attendance": "present"},
      {"learner": {"id": "NS-0042"}, "date": "2026-03-02", "session": "PM", "attendance": "absent",
       "note": "called home"}
     ]}"#;
    let d = decode_ok(page, "page-1.json", &f);
    assert_eq!(d.observations.len(), 2, "{:?}", d.problems);
    let pm = find(&d, "NS-0042", ymd(2026, 3, 2), Pm);
    assert_eq!(
        (pm.mark.as_str(), pm.comment.as_deref()),
        ("absent", Some("called home"))
    );
    assert_eq!(f.marks.resolve("absent", None), Resolution::Code("N".into()));
    assert_eq!(find(&d, "NS-0042", ymd(2026, 3, 2), Am).mark, "present");
}
