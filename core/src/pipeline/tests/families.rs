//! Hand-written returns for each family of layouts, including combinations the samples lack.

use super::{decode_ok, find, format, ymd};
use crate::domain::Session::{Am, Pm};
use crate::pipeline::format::NameOrder;
use crate::pipeline::{DateOfBirth, DecodeProblem, decode};

#[test]
fn long_tab_delimited_with_morning_afternoon_and_titles() {
    let f = format(
        r#"
        kind = "csv"
        date_formats = ["%d %B %Y"]
        skip_rows_starting_with = ["Total"]
        [identity]
        upn = "Pupil UPN"
        [layout]
        style = "long"
        date = "Day"
        session = "Part of day"
        mark = "Code"
        comment = "Notes"
        [layout.session_values]
        "All day" = "both"
        [marks]
        codes = "dfe"
        "#,
    );
    let text = "Weekly return\t\t\t\n\
                \n\
                Code\tPart of day\tDay\tPupil UPN\tNotes\n\
                /\tMorning\t2 March 2026\tA123\t\n\
                \\\tAFTERNOON\t2 March 2026\tA123\tleft \"early\", collected\n\
                N\tall day\t3 March 2026\tA123\t\n\
                \tMorning\t4 March 2026\tA123\t\n\
                O\tEvening\t4 March 2026\tA123\t\n\
                O\tMorning\t31 February 2026\tA123\t\n\
                Code\tPart of day\tDay\tPupil UPN\tNotes\n\
                Total\t5\t\t\t\n";
    let d = decode_ok(text.as_bytes(), "return.tsv", &f);
    assert_eq!(d.observations.len(), 4, "{:#?}", d.observations);
    let am = find(&d, "A123", ymd(2026, 3, 2), Am);
    assert_eq!((am.mark.as_str(), am.locator.as_str()), ("/", "line 4"));
    let pm = find(&d, "A123", ymd(2026, 3, 2), Pm);
    assert_eq!(pm.comment.as_deref(), Some("left \"early\", collected"));
    assert_eq!(find(&d, "A123", ymd(2026, 3, 3), Pm).mark, "N");
    assert_eq!(d.problems.len(), 2, "{:#?}", d.problems);
    assert_eq!(d.problems[0].locator, "line 8");
    assert!(
        d.problems[0].message.contains("`Evening` is not a session"),
        "{}",
        d.problems[0].message
    );
    assert_eq!(d.problems[0].identifier.as_deref(), Some("A123"));
    assert!(d.problems[1].message.contains("`31 February 2026` is not a date"));
}

#[test]
fn long_am_pm_columns_with_own_reasons_and_two_name_columns() {
    let f = format(
        r#"
        kind = "csv"
        date_formats = ["%d.%m.%y"]
        [identity]
        surname = "Last name"
        forename = "First name"
        date_of_birth = "DOB"
        [layout]
        style = "long"
        date = "Date"
        am = "Morning"
        am_reason = "Morning reason"
        pm = "Afternoon"
        pm_reason = "Afternoon reason"
        [marks.map]
        X = "reason"
        OK = "present"
        [marks.reasons]
        flu = "I"
        "#,
    );
    let text = "First name,Last name,DOB,Date,Morning,Morning reason,Afternoon,Afternoon reason\r\n\
                Zoë,O’Brien,14.07.10,02.03.26,X,flu,OK,\r\n\
                Amira,Begum,not known,03.03.26,,,X,\r\n";
    let d = decode_ok(text.as_bytes(), "r.csv", &f);
    assert_eq!(d.observations.len(), 3);
    let am = find(&d, "O’Brien, Zoë", ymd(2026, 3, 2), Am);
    assert_eq!((am.mark.as_str(), am.reason.as_deref()), ("X", Some("flu")));
    assert_eq!(am.identity.date_of_birth, Some(DateOfBirth::Date(ymd(2010, 7, 14))));
    assert_eq!(find(&d, "O’Brien, Zoë", ymd(2026, 3, 2), Pm).reason, None);
    let amira = find(&d, "Begum, Amira", ymd(2026, 3, 3), Pm);
    assert_eq!(
        amira.identity.date_of_birth,
        Some(DateOfBirth::Text("not known".to_string()))
    );
    assert_eq!(
        f.marks.resolve("x", Some(" FLU ")),
        crate::pipeline::format::Resolution::Code("I".into())
    );
}

#[test]
fn long_whole_day_marks_dated_by_the_file_name() {
    let f = format(
        r#"
        kind = "csv"
        [document_date]
        file_name = "daily_{date}.csv"
        [identity]
        admission_number = "Adno"
        name = "Pupil"
        name_order = "surname_first"
        [layout]
        style = "long"
        mark = "Attendance"
        [marks]
        codes = "dfe"
        "#,
    );
    let d = decode_ok(
        b"Adno,Pupil,Attendance\n2105,\"Whitaker, Mason\",B\n",
        "in/daily_2026-03-05.csv",
        &f,
    );
    assert_eq!(d.observations.len(), 2);
    let o = find(&d, "2105", ymd(2026, 3, 5), Pm);
    assert_eq!(
        o.identity.full_name.as_ref().map(|n| n.order),
        Some(NameOrder::SurnameFirst)
    );
    let err = decode(b"Adno,Pupil,Attendance\n2105,x,B\n", "daily.csv", &f).unwrap_err();
    assert!(
        matches!(err.problem, DecodeProblem::DocumentDateNotFound { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("`daily.csv`"), "{err}");
}

#[test]
fn wide_dated_headers_with_a_bad_date_column() {
    let f = format(
        r#"
        kind = "csv"
        date_formats = ["%d/%m/%Y"]
        [identity]
        provider_ref = "Ref"
        [layout]
        style = "wide"
        session_columns = "{date} {session}"
        reason = "Why"
        [marks]
        codes = "dfe"
        "#,
    );
    let text = "Ref,02/03/2026 AM,02/03/2026 PM,31/02/2026 AM,Total AM,Why\n\
                R1,/,\\,,3,\n\
                R2,N,,I,2,flu\n\
                ,,,,5,\n";
    let d = decode_ok(text.as_bytes(), "grid.csv", &f);
    assert_eq!(d.observations.len(), 3, "{:#?}", d.observations);
    let o = find(&d, "R2", ymd(2026, 3, 2), Am);
    assert_eq!(o.locator, "line 3, column `02/03/2026 AM`");
    assert_eq!(o.reason.as_deref(), Some("flu"));
    assert_eq!(d.problems.len(), 1);
    assert!(
        d.problems[0].message.contains("column `31/02/2026 AM`"),
        "{}",
        d.problems[0].message
    );
}

#[test]
fn wide_weekdays_dated_by_a_week_ending_label_in_the_same_cell() {
    let f = format(
        r#"
        kind = "csv"
        date_formats = ["%d/%m/%y"]
        [document_date]
        label = "Week ending"
        [identity]
        provider_ref = "ID"
        [layout]
        style = "wide"
        session_columns = "{weekday}-{session}"
        [marks.map]
        Y = "present"
        "#,
    );
    let text = "Provider X,Week ending: 06/03/26\nID,Mon-AM,Mon-PM,Friday - pm\nP9,Y,,Y\n";
    let d = decode_ok(text.as_bytes(), "x.csv", &f);
    assert_eq!(d.observations.len(), 2);
    assert_eq!(find(&d, "P9", ymd(2026, 3, 2), Am).locator, "line 3, column `Mon-AM`");
    find(&d, "P9", ymd(2026, 3, 6), Pm);
}

#[test]
fn wide_weekdays_dated_by_the_file_name_when_the_label_is_missing() {
    let f = format(
        r#"
        kind = "csv"
        date_formats = ["%Y%m%d"]
        [document_date]
        label = "Week commencing"
        file_name = "{any}_{date}.{any}"
        [identity]
        provider_ref = "ID"
        [layout]
        style = "wide"
        session_columns = "{weekday} {session}"
        [marks.map]
        Y = "present"
        "#,
    );
    let d = decode_ok(b"ID,Tue AM\nP9,Y\n", "week_20260309.csv", &f);
    find(&d, "P9", ymd(2026, 3, 10), Am);
}

#[test]
fn wide_two_header_rows_with_the_date_above_am_pm() {
    let f = format(
        r#"
        kind = "csv"
        header_rows = 2
        date_formats = ["%a %d/%m/%Y"]
        [identity]
        name = "Learner"
        name_order = "forename_first"
        [layout]
        style = "wide"
        session_columns = "{date} {session}"
        [marks.map]
        "/" = "present"
        "#,
    );
    let text = "Attendance,,,,\n\
                Learner,Mon 02/03/2026,,Tue 03/03/2026,\n\
                ,AM,PM,AM,PM\n\
                Kai Thompson,/,/,,/\n";
    let d = decode_ok(text.as_bytes(), "two.csv", &f);
    assert_eq!(d.observations.len(), 3, "{:#?}", d.observations);
    let o = find(&d, "Kai Thompson", ymd(2026, 3, 3), Pm);
    assert_eq!(o.locator, "line 4, column `Tue 03/03/2026 PM`");
}

#[test]
fn header_not_found_names_what_is_missing() {
    let f = format(
        r#"
        kind = "csv"
        [identity]
        provider_ref = "Learner Ref"
        [layout]
        style = "long"
        date = "Date"
        session = "Session"
        mark = "Mark"
        [marks]
        codes = "dfe"
        "#,
    );
    let err = decode(b"Title\nLearner Ref,Date,Sess,Mark\nA,02/03/2026,AM,/\n", "f.csv", &f).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err.problem, DecodeProblem::HeaderNotFound { .. }));
    assert!(text.contains("line 2, lacks `Session`"), "{text}");
    // Column names ignore case and spaces.
    let d = decode_ok(b"LEARNERREF , date,SESSION,mark\nA,2026-03-02,am,/\n", "f.csv", &f);
    assert_eq!(d.observations.len(), 1);
}

#[test]
fn files_of_the_wrong_kind_are_refused_with_advice() {
    let f = format(
        r#"
        kind = "csv"
        [identity]
        upn = "UPN"
        [layout]
        style = "long"
        mark = "Mark"
        date = "Date"
        [marks]
        codes = "dfe"
        "#,
    );
    let workbook = super::xlsx(&[("Sheet1", "")]);
    let err = decode(&workbook, "return.csv", &f).unwrap_err();
    assert!(err.to_string().contains("looks like a zip archive"), "{err}");
    assert_eq!(decode(b"", "e.csv", &f).unwrap_err().problem, DecodeProblem::Empty);
    let err = decode(b"\x00\x01\x02binary", "b.csv", &f).unwrap_err();
    assert!(err.to_string().contains("binary"), "{err}");
}

#[test]
fn position_columns_without_a_header() {
    let f = format(
        r##"
        kind = "csv"
        header_rows = 0
        [identity]
        upn = "#1"
        [layout]
        style = "long"
        date = "#2"
        am = "#3"
        pm = "#4"
        [marks]
        codes = "dfe"
        "##,
    );
    let d = decode_ok(b"U1,2026-03-02,/,\\\n", "f.csv", &f);
    assert_eq!(d.observations.len(), 2);
    assert_eq!(find(&d, "U1", ymd(2026, 3, 2), Pm).mark, "\\");
}

#[test]
fn utf16_text_with_serial_dates_and_whole_day_columns() {
    let f = format(
        r#"
        kind = "csv"
        date_formats = ["%d/%m/%Y"]
        [identity]
        upn = "UPN"
        [layout]
        style = "wide"
        session_columns = "Day {date}"
        [marks]
        codes = "dfe"
        "#,
    );
    let text = "UPN\tDay 02/03/2026\tDay 46084\r\nU1\tB\tI\r\n";
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let d = decode_ok(&utf16, "u.txt", &f);
    assert_eq!(d.observations.len(), 4, "{:#?}", d.observations);
    assert_eq!(find(&d, "U1", ymd(2026, 3, 2), Pm).mark, "B");
    assert_eq!(find(&d, "U1", ymd(2026, 3, 3), Am).mark, "I");
}

#[test]
fn old_or_encrypted_workbooks_are_named_as_such() {
    let f = format(
        r#"
        kind = "xlsx"
        [identity]
        upn = "UPN"
        [layout]
        style = "long"
        date = "Date"
        mark = "Mark"
        [marks]
        codes = "dfe"
        "#,
    );
    let err = decode(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0], "old.xls", &f).unwrap_err();
    assert!(
        err.to_string()
            .contains("old-style .xls or password-protected workbook"),
        "{err}"
    );
}
