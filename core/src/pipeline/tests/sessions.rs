//! Sessions told by a time of day (a date-and-time column, a time column beside the date, the
//! AM/PM ranges), sessions as a list inside a JSON record, and the checks on formats that
//! would otherwise read every row wrongly.

use super::{decode_ok, find, format, n, raw_format, row, s, xlsx, ymd};
use crate::domain::Session::{Am, Pm};

const DATETIME: &str = r#"
kind = "csv"
[identity]
provider_ref = "Learner"
[layout]
style = "long"
datetime = "Session Start"
mark = "Attendance"
[marks]
codes = "dfe"
"#;

#[test]
fn a_datetime_column_gives_the_date_and_the_session() {
    let f = format(DATETIME);
    let csv = "Learner,Session Start,Attendance\n\
               OL-1,2026-04-20T09:00:00,/\n\
               OL-1,2026-04-20T13:00:00,N\n\
               OL-2,2026-04-21 11:59,L\n\
               OL-2,2026-04-21 12:00,\\\n";
    let d = decode_ok(csv.as_bytes(), "a.csv", &f);
    assert!(d.problems.is_empty(), "{:#?}", d.problems);
    assert_eq!(d.observations.len(), 4);
    assert_eq!(find(&d, "OL-1", ymd(2026, 4, 20), Am).mark, "/");
    assert_eq!(find(&d, "OL-1", ymd(2026, 4, 20), Pm).mark, "N");
    // The default ranges: before noon is AM, from noon PM.
    assert_eq!(find(&d, "OL-2", ymd(2026, 4, 21), Am).mark, "L");
    assert_eq!(find(&d, "OL-2", ymd(2026, 4, 21), Pm).mark, "\\");
}

#[test]
fn a_datetime_that_cannot_be_read_is_said_once() {
    let f = format(DATETIME);
    let csv = "Learner,Session Start,Attendance\nOL-1,2026-04-20,/\nOL-1,Monday 9am,/\n";
    let d = decode_ok(csv.as_bytes(), "a.csv", &f);
    assert!(d.observations.is_empty());
    let messages: Vec<&str> = d.problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages[0].contains("has a date but no time of day") && !messages[0].contains(';'),
        "{}",
        messages[0]
    );
    assert!(messages[1].contains("is not a date and time"), "{}", messages[1]);
}

#[test]
fn a_time_column_beside_the_date_gives_the_session() {
    let f = format(
        r#"
        kind = "csv"
        date_formats = ["%d/%m/%Y"]
        [identity]
        upn = "UPN"
        [layout]
        style = "long"
        date = "Date"
        time = "Start"
        mark = "Code"
        [marks]
        codes = "dfe"
        "#,
    );
    let csv = "UPN,Date,Start,Code\nA1,20/04/2026,09:00,/\nA1,20/04/2026,1:15 pm,I\nA1,21/04/2026,08:45:00,U\n";
    let d = decode_ok(csv.as_bytes(), "a.csv", &f);
    assert!(d.problems.is_empty(), "{:#?}", d.problems);
    assert_eq!(find(&d, "A1", ymd(2026, 4, 20), Am).mark, "/");
    assert_eq!(find(&d, "A1", ymd(2026, 4, 20), Pm).mark, "I");
    assert_eq!(find(&d, "A1", ymd(2026, 4, 21), Am).mark, "U");
}

#[test]
fn configured_ranges_decide_and_a_time_in_no_range_goes_to_review() {
    let f = format(&format!(
        "{DATETIME}\n[layout.session_times]\nam = \"08:00-12:30\"\npm = \"12:30-16:00\"\n"
    ));
    let csv = "Learner,Session Start,Attendance\n\
               OL-1,2026-04-20T12:15:00,/\n\
               OL-1,2026-04-20T12:30:00,/\n\
               OL-2,2026-04-20T18:30:00,/\n\
               OL-2,2026-04-20T07:00:00,\n";
    let d = decode_ok(csv.as_bytes(), "a.csv", &f);
    // 12:15 is the morning here (it would be the afternoon by the default ranges).
    assert_eq!(find(&d, "OL-1", ymd(2026, 4, 20), Am).locator, "line 2");
    assert_eq!(find(&d, "OL-1", ymd(2026, 4, 20), Pm).locator, "line 3");
    assert_eq!(d.observations.len(), 2);
    // 18:30 is in neither; a blank mark at 07:00 is no mark, whatever its time.
    assert_eq!(d.problems.len(), 1, "{:#?}", d.problems);
    let p = &d.problems[0];
    assert_eq!((p.locator.as_str(), p.identifier.as_deref()), ("line 4", Some("OL-2")));
    assert!(
        p.message.contains("`2026-04-20T18:30:00` is in neither session")
            && p.message.contains("08:00 to 12:30")
            && p.message.contains("12:30 to 16:00"),
        "{}",
        p.message
    );
}

#[test]
fn a_workbook_date_cell_with_a_time_gives_the_session() {
    // 46132.375 is 09:00 and 46132.5625 13:30 on Monday 20 April 2026, in date-styled cells.
    let sheet = [
        row(
            1,
            &[s("A1", "Learner"), s("B1", "Session Start"), s("C1", "Attendance")],
        ),
        row(2, &[s("A2", "OL-1"), n("B2", 46132.375, true), s("C2", "/")]),
        row(3, &[s("A3", "OL-1"), n("B3", 46132.5625, true), s("C3", "I")]),
    ]
    .concat();
    let f = format(&DATETIME.replace("kind = \"csv\"", "kind = \"xlsx\""));
    let d = decode_ok(&xlsx(&[("Sheet1", &sheet)]), "a.xlsx", &f);
    assert!(d.problems.is_empty(), "{:#?}", d.problems);
    assert_eq!(find(&d, "OL-1", ymd(2026, 4, 20), Am).mark, "/");
    let pm = find(&d, "OL-1", ymd(2026, 4, 20), Pm);
    assert_eq!((pm.mark.as_str(), pm.raw_row[1].as_str()), ("I", "2026-04-20 13:30"));
}

const LIST: &str = r#"
kind = "json"
records = "data"
[identity]
provider_ref = "learner.ref"
[layout]
style = "long"
date = "date"
session = "sessions[].period"
mark = "sessions[].code"
reason = "sessions[].reason"
[marks]
codes = "dfe"
"#;

#[test]
fn each_item_of_a_list_of_sessions_is_one_observation() {
    let f = format(LIST);
    let json = r#"{"data": [
        {"learner": {"ref": "NS-1"}, "date": "2026-04-20",
         "sessions": [{"period": "AM", "code": "/"}, {"period": "PM", "code": "N", "reason": "no call"}]},
        {"learner": {"ref": "NS-2"}, "date": "2026-04-20",
         "sessions": [{"period": "Afternoon", "code": "I"}, {"period": "AM", "code": "L"}]},
        {"learner": {"ref": "NS-3"}, "date": "2026-04-20", "sessions": []},
        {"learner": {"ref": "NS-4"}, "date": "2026-04-20"}
    ]}"#;
    let d = decode_ok(json.as_bytes(), "p.json", &f);
    assert!(d.problems.is_empty(), "{:#?}", d.problems);
    assert_eq!(d.observations.len(), 4, "{:#?}", d.observations);
    assert_eq!(find(&d, "NS-1", ymd(2026, 4, 20), Am).mark, "/");
    let pm = find(&d, "NS-1", ymd(2026, 4, 20), Pm);
    assert_eq!((pm.mark.as_str(), pm.reason.as_deref()), ("N", Some("no call")));
    assert_eq!(pm.locator, "record 1 (data[0])");
    // The order of the list does not matter: each item says its own session.
    assert_eq!(find(&d, "NS-2", ymd(2026, 4, 20), Pm).mark, "I");
    assert_eq!(find(&d, "NS-2", ymd(2026, 4, 20), Am).mark, "L");
}

#[test]
fn a_record_listing_only_the_afternoon_marks_only_the_afternoon() {
    let f = format(LIST);
    let json = r#"{"data": [{"learner": {"ref": "NS-1"}, "date": "2026-04-20",
        "sessions": [{"period": "PM", "code": "I"}]}]}"#;
    let d = decode_ok(json.as_bytes(), "changes.json", &f);
    assert_eq!(d.observations.len(), 1, "{:#?}", d.observations);
    let o = &d.observations[0];
    assert_eq!((o.session, o.mark.as_str()), (Pm, "I"));
    // The raw row holds the record's fields and this item's, not the list by position.
    assert!(
        o.raw_row.contains(&"PM".to_string()) && o.raw_row.contains(&"NS-1".to_string()),
        "{:?}",
        o.raw_row
    );

    // Read by position, the same record's afternoon mark is taken for the morning: the format
    // is valid, but `check` warns about it.
    let positional = format(
        "kind = \"json\"\nrecords = \"data\"\n[identity]\nprovider_ref = \"learner.ref\"\n[layout]\nstyle = \"long\"\ndate = \"date\"\nam = \"sessions.0.code\"\npm = \"sessions.1.code\"\n[marks]\ncodes = \"dfe\"",
    );
    let wrong = decode_ok(json.as_bytes(), "changes.json", &positional);
    assert_eq!(wrong.observations[0].session, Am, "the hazard the warning is about");
    let warnings = positional.warnings();
    let keys: Vec<&str> = warnings.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(keys, ["format.layout.am", "format.layout.pm"]);
    assert!(
        warnings[0]
            .message
            .contains("by its place in the list `sessions` (item 0)")
            && warnings[0].message.contains("mark = \"sessions[].<its mark field>\""),
        "{}",
        warnings[0].message
    );
    assert!(f.warnings().is_empty());
}

#[test]
fn a_list_item_with_a_start_time_gives_its_session() {
    let f = format(
        r#"
        kind = "json"
        [identity]
        upn = "upn"
        [layout]
        style = "long"
        datetime = "slots[].start"
        mark = "slots[].mark"
        [layout.session_times]
        pm = "12:00-17:00"
        [marks]
        codes = "dfe"
        "#,
    );
    let json = r#"[{"upn": "A1", "slots": [{"start": "2026-04-20T13:10:00", "mark": "/"}, {"start": "2026-04-20T21:00:00", "mark": "/"}]},
                   {"upn": "A2", "slots": {"start": "2026-04-20T09:00:00", "mark": "/"}}]"#;
    let d = decode_ok(json.as_bytes(), "p.json", &f);
    assert_eq!(d.observations.len(), 1, "{:#?}", d.observations);
    assert_eq!(find(&d, "A1", ymd(2026, 4, 20), Pm).mark, "/");
    let messages: Vec<&str> = d.problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("`2026-04-20T21:00:00` is in neither session")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("`slots` is an object, not a list of sessions")),
        "{messages:?}"
    );
}

#[test]
fn a_column_plays_one_role_unless_it_is_a_datetime() {
    let f = raw_format(
        r#"
        kind = "csv"
        [identity]
        upn = "UPN"
        [layout]
        style = "long"
        date = "Session Start"
        session = "session start"
        mark = "Mark"
        reason = "Notes"
        comment = "Notes"
        [marks]
        codes = "dfe"
        "#,
    );
    let issues = f.validate().unwrap_err();
    assert_eq!(issues.len(), 1, "{issues:#?}");
    assert_eq!(issues[0].key, "format.layout.session");
    assert!(
        issues[0].message.contains("which `layout.date` names already")
            && issues[0].message.contains("name it once as `layout.datetime`"),
        "{}",
        issues[0].message
    );
    assert_eq!(format(DATETIME).validate(), Ok(()));
    let mark_is_upn = raw_format(&DATETIME.replace("mark = \"Attendance\"", "mark = \"Learner\""));
    let issues = mark_is_upn.validate().unwrap_err();
    assert_eq!(issues[0].key, "format.layout.mark", "{issues:#?}");
}

#[test]
fn time_and_list_keys_are_checked_all_at_once() {
    let f = raw_format(
        r#"
        kind = "json"
        [identity]
        upn = "learners[].upn"
        [layout]
        style = "long"
        date = "date"
        datetime = "start"
        time = "sessions[].start"
        am = "slots[].code"
        [layout.session_times]
        am = "08:00-13:00"
        pm = "noon-5"
        [marks]
        codes = "dfe"
        "#,
    );
    let issues = f.validate().unwrap_err();
    let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
    for key in [
        "format.layout.date",
        "format.layout.time",
        "format.layout.session_times.pm",
        "format.identity.upn",
        "format.layout.am",
        "format.layout",
        "format.layout.mark",
    ] {
        assert!(keys.contains(&key), "{key} missing from {issues:#?}");
    }
    let overlap = raw_format(&format!("{DATETIME}\n[layout.session_times]\nam = \"08:00-13:00\"\n"));
    let issues = overlap.validate().unwrap_err();
    assert_eq!(issues.len(), 1, "{issues:#?}");
    assert!(issues[0].message.contains("overlap"), "{}", issues[0].message);
    let unused = raw_format(&format!(
        "{}\n[layout.session_times]\nam = \"08:00-12:00\"\n",
        DATETIME.replace("datetime = ", "date = ")
    ));
    let issues = unused.validate().unwrap_err();
    assert!(
        issues.iter().any(
            |i| i.key == "format.layout.session_times" && i.message.contains("only used with `time` or `datetime`")
        ),
        "{issues:#?}"
    );
}
