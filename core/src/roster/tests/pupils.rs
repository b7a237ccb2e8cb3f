use chrono::NaiveDate;

use super::*;
use crate::domain::UpnError;

fn parse(text: &str) -> Result<Vec<PupilRecord>, RosterFileError> {
    parse_pupils(text.as_bytes(), &RosterColumns::default())
}

fn refused(text: &str) -> RosterFileError {
    let err = parse(text).unwrap_err();
    assert_eq!(err.file, RosterFile::Pupils);
    err
}

#[test]
fn sample_file_gives_fifteen_pupils() {
    let pupils = parse(PUPILS).unwrap();
    assert_eq!(pupils.len(), 15);
    let first = &pupils[0];
    assert_eq!(first.line, 2);
    assert_eq!(first.upn.as_str(), "R371432121100");
    assert_eq!(first.admission_number, "002101");
    assert_eq!(first.legal_surname, "O’Brien");
    assert_eq!(first.legal_forename, "Zoë");
    assert_eq!(first.preferred_forename, None);
    assert_eq!(first.forename(), "Zoë");
    assert_eq!(first.date_of_birth, NaiveDate::from_ymd_opt(2010, 7, 14).unwrap());
    assert_eq!(first.year_group, Some(11));
    assert_eq!(pupils[14].line, 16);
    // Two pupils share a name: both are kept, told apart by UPN.
    assert_eq!(
        pupils
            .iter()
            .filter(|p| p.legal_surname == "Smith" && p.legal_forename == "Oliver")
            .count(),
        2
    );
}

#[test]
fn bom_and_crlf_read_the_same() {
    let with_bom = format!("\u{feff}{}", lf(PUPILS).replace('\n', "\r\n"));
    assert_eq!(parse(&with_bom).unwrap(), parse(&lf(PUPILS)).unwrap());
    assert_eq!(parse(PUPILS).unwrap(), parse(&lf(PUPILS)).unwrap());
}

#[test]
fn a_bad_check_letter_names_its_row() {
    let text = replace_line(PUPILS, 4, "A371432121114,002103,Hussain,Aaliyah,2010-11-21,11");
    let err = refused(&text);
    assert_eq!(
        row_problems(&err),
        vec![(
            4,
            RosterRowProblem::InvalidUpn(UpnError::WrongCheckLetter {
                text: "A371432121114".into(),
                found: 'A',
                expected: 'L'
            })
        )]
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with("the pupils file has 1 problem, so nothing was imported; fix it and import the file again:"),
        "{msg}"
    );
    assert!(
        msg.contains("line 4: `A371432121114` has the wrong check letter"),
        "{msg}"
    );
    assert!(msg.contains("implies L"), "{msg}");
}

#[test]
fn a_missing_column_is_named_with_the_headers_found() {
    let text = PUPILS.replace("UPN,Adno,", "UPN,Admission Number,");
    let err = refused(&text);
    assert_eq!(err.problems.len(), 1);
    match &err.problems[0] {
        RosterProblem::MissingColumn { column, setting, found } => {
            assert_eq!(column, "Adno");
            assert_eq!(*setting, "admission_number");
            assert_eq!(found[1], "Admission Number");
        }
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("the column `Adno` is missing"), "{msg}");
    assert!(msg.contains("`UPN`, `Admission Number`, `Legal Surname`"), "{msg}");
    assert!(msg.contains("set `admission_number`"), "{msg}");
}

#[test]
fn every_missing_column_is_listed() {
    let err = refused("UPN,Name\nB801200005001,Someone\n");
    let missing: Vec<&str> = err
        .problems
        .iter()
        .filter_map(|p| match p {
            RosterProblem::MissingColumn { column, .. } => Some(column.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(missing, ["Adno", "Legal Surname", "Legal Forename", "DOB", "Year"]);
}

#[test]
fn a_duplicate_upn_names_both_lines() {
    let text = format!("{PUPILS}R371432121100,002199,Other,Pupil,2010-01-01,11\n");
    let err = refused(&text);
    let problems = row_problems(&err);
    assert_eq!(problems.len(), 1);
    assert!(matches!(
        &problems[0],
        (17, RosterRowProblem::DuplicateUpn { first_line: 2, .. })
    ));
    let msg = err.to_string();
    assert!(msg.contains("line 17: UPN R371432121100 is also on line 2"), "{msg}");
}

#[test]
fn admission_numbers_are_unique_ignoring_leading_zeros() {
    let text = format!("{PUPILS}B801200005001,2101,Other,Pupil,2010-01-01,11\n");
    let problems = row_problems(&refused(&text));
    assert_eq!(
        problems,
        vec![(
            17,
            RosterRowProblem::DuplicateAdmissionNumber {
                admission_number: "2101".into(),
                first_line: 2
            }
        )]
    );
}

#[test]
fn bad_dates_show_the_text_and_the_patterns_tried() {
    let text = replace_line(PUPILS, 3, "Q371432121107,002102,Clarke,Jayden,31/02/2011,10");
    let text = replace_line(&text, 5, "G371432121121,002104,Nowak,Kacper,30.05.2011,10");
    let err = refused(&text);
    let problems = row_problems(&err);
    assert_eq!(problems.len(), 2);
    assert_eq!(
        problems[0],
        (
            3,
            RosterRowProblem::BadDate {
                column: "DOB".into(),
                text: "31/02/2011".into(),
                patterns: vec!["%Y-%m-%d".into(), "%d/%m/%Y".into()]
            }
        )
    );
    let msg = err.to_string();
    assert!(
        msg.contains("line 5: `30.05.2011` in `DOB` is not a valid date"),
        "{msg}"
    );
    assert!(
        msg.contains("%Y-%m-%d, like 2026-03-02; %d/%m/%Y, like 02/03/2026"),
        "{msg}"
    );
}

#[test]
fn a_two_digit_year_is_not_read_as_the_first_century() {
    let text = replace_line(PUPILS, 2, "R371432121100,002101,O’Brien,Zoë,14/07/10,11");
    assert!(matches!(
        &row_problems(&refused(&text))[0],
        (2, RosterRowProblem::BadDate { .. })
    ));
}

#[test]
fn uk_dates_and_other_patterns_are_read() {
    let text = replace_line(PUPILS, 2, "R371432121100,002101,O’Brien,Zoë,14/07/2010,11");
    assert_eq!(
        parse(&text).unwrap()[0].date_of_birth,
        NaiveDate::from_ymd_opt(2010, 7, 14).unwrap()
    );
    let cols: RosterColumns = serde_json::from_str(r#"{"date_formats": ["%d.%m.%Y"]}"#).unwrap();
    let text = "UPN,Adno,Legal Surname,Legal Forename,DOB,Year\nB801200005001,1,A,B,14.07.2010,11\n";
    assert_eq!(
        parse_pupils(text.as_bytes(), &cols).unwrap()[0]
            .date_of_birth
            .to_string(),
        "2010-07-14"
    );
}

#[test]
fn windows_1252_is_refused_naming_the_line() {
    let mut bytes = b"UPN,Adno,Legal Surname,Legal Forename,DOB,Year\r\n".to_vec();
    bytes.extend_from_slice(b"R371432121100,002101,O\x92Brien,Zo\xEB,2010-07-14,11\r\n");
    bytes.extend_from_slice(b"Q371432121107,002102,Clarke,Jayden,2011-02-03,10\r\n");
    let err = parse_pupils(&bytes, &RosterColumns::default()).unwrap_err();
    assert_eq!(err.problems, vec![RosterProblem::NotUtf8 { lines: vec![2] }]);
    let msg = err.to_string();
    assert!(msg.contains("not UTF-8 text (line 2)"), "{msg}");
    assert!(msg.contains("save it as \"CSV UTF-8\""), "{msg}");
}

#[test]
fn every_problem_in_the_file_is_listed_at_once() {
    let text = "UPN,Adno,Legal Surname,Legal Forename,DOB,Year\n\
                B801200005001,,Smith,,2010-01-01,Y12\n\
                B80120000500,7,Jones,Ann,yesterday,eleven\n\
                B801200005001,8,Jones,,2010-01-01\n";
    let err = refused(text);
    let lines: Vec<usize> = row_problems(&err).iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [2, 2, 3, 3, 3, 4, 4], "{err}");
    let msg = err.to_string();
    assert!(msg.starts_with("the pupils file has 7 problems"), "{msg}");
    assert!(msg.contains("line 2: `Adno` is empty; it is required"), "{msg}");
    assert!(msg.contains("line 2: `Legal Forename` is empty"), "{msg}");
    assert!(msg.contains("line 3: `B80120000500` has 12 characters"), "{msg}");
    assert!(msg.contains("line 3: `eleven` in `Year` is not a year group"), "{msg}");
    // The short last row has no year, which is allowed; its UPN repeats line 2's.
    assert!(msg.contains("line 4: `Legal Forename` is empty"), "{msg}");
    assert!(msg.contains("line 4: UPN B801200005001 is also on line 2"), "{msg}");
}

#[test]
fn headers_match_ignoring_case_and_spaces_and_preferred_names_are_read() {
    let text = " upn ,ADNO,legal surname,Legal forename,Preferred Forename, dob ,year\n\
                R371432121100,002101,O’Brien,Zoë,Zo,2010-07-14,11\n\
                Q371432121107,002102,Clarke,Jayden,,2011-02-03,\n";
    let pupils = parse(text).unwrap();
    assert_eq!(pupils[0].preferred_forename.as_deref(), Some("Zo"));
    assert_eq!(pupils[0].forename(), "Zo");
    assert_eq!(pupils[1].preferred_forename, None);
    assert_eq!(pupils[1].forename(), "Jayden");
    assert_eq!(pupils[1].year_group, None);
}

#[test]
fn renamed_columns_come_from_settings() {
    let cols: RosterColumns =
        serde_json::from_str(r#"{"pupil_upn": "UPN Number", "admission_number": "Admission No", "unknown_key": 1}"#)
            .unwrap();
    assert_eq!(cols.legal_surname, "Legal Surname");
    let text = PUPILS.replace("UPN,Adno,", "UPN Number,Admission No,");
    assert_eq!(parse_pupils(text.as_bytes(), &cols).unwrap().len(), 15);
}

#[test]
fn quoted_fields_and_multi_line_rows_keep_line_numbers() {
    let text = "UPN,Adno,Legal Surname,Legal Forename,DOB,Year\n\
                R371432121100,002101,\"O'Brien, Jr\",\"Zoë\nAnne\",2010-07-14,11\n\
                A371432121107,002102,Clarke,Jayden,2011-02-03,10\n";
    let err = refused(text);
    assert!(
        matches!(row_problems(&err)[0], (4, RosterRowProblem::InvalidUpn(_))),
        "{err}"
    );
}

#[test]
fn blank_and_empty_cell_rows_are_skipped() {
    let text = format!("{PUPILS}\r\n,,,,,\r\n  ,  ,\r\n\r\n");
    assert_eq!(parse(&text).unwrap().len(), 15);
    assert_eq!(
        parse("UPN,Adno,Legal Surname,Legal Forename,DOB,Year\n").unwrap(),
        vec![]
    );
}

#[test]
fn an_empty_file_has_no_header() {
    assert_eq!(refused("").problems, vec![RosterProblem::NoHeader]);
    assert_eq!(refused("\n\n").problems, vec![RosterProblem::NoHeader]);
}

#[test]
fn a_duplicated_column_is_refused() {
    let text = PUPILS.replace("DOB,Year", "DOB,Year, upn");
    let err = refused(&text);
    assert_eq!(
        err.problems,
        vec![RosterProblem::DuplicateColumn {
            column: "UPN".into(),
            positions: vec![1, 7]
        }]
    );
    assert!(err.to_string().contains("columns 1, 7"), "{err}");
}

#[test]
fn bad_date_settings_are_reported_before_the_rows() {
    let mut cols = RosterColumns {
        date_formats: vec![],
        ..RosterColumns::default()
    };
    let err = parse_pupils(PUPILS.as_bytes(), &cols).unwrap_err();
    assert_eq!(err.problems[0], RosterProblem::NoDateFormats);
    cols.date_formats = vec!["%Y-%m-%d".into(), "%Q".into()];
    let err = parse_pupils(PUPILS.as_bytes(), &cols).unwrap_err();
    assert_eq!(
        err.problems,
        vec![RosterProblem::BadDateFormat { pattern: "%Q".into() }]
    );
}

#[test]
fn a_long_list_of_problems_is_summarised_in_the_message() {
    let mut text = String::from("UPN,Adno,Legal Surname,Legal Forename,DOB,Year\n");
    for i in 0..150 {
        text.push_str(&format!("B801200005001,{i},A,B,bad,11\n"));
    }
    let err = refused(&text);
    assert_eq!(err.problems.len(), 150 + 149);
    let msg = err.to_string();
    assert!(msg.ends_with("... and 199 more"), "{}", &msg[msg.len() - 100..]);
}

#[test]
fn records_serialise_with_their_fields() {
    let pupils = parse(PUPILS).unwrap();
    let json = serde_json::to_value(&pupils[0]).unwrap();
    assert_eq!(json["upn"], "R371432121100");
    assert_eq!(json["date_of_birth"], "2010-07-14");
    assert_eq!(json["year_group"], 11);
}

#[test]
fn line_numbers_are_right_with_crlf_bom_lone_cr_and_blank_lines() {
    let rows = [
        "UPN,Adno,Legal Surname,Legal Forename,DOB,Year",
        "R371432121100,1,A,B,2010-01-01,11",
        "",
        "A371432121107,2,C,D,2010-01-01,11",
    ];
    for (prefix, eol) in [("", "\n"), ("\u{feff}", "\r\n"), ("", "\r"), ("\u{feff}", "\n")] {
        let text = format!("{prefix}{}{eol}", rows.join(eol));
        let err = refused(&text);
        assert_eq!(row_problems(&err)[0].0, 4, "{eol:?}");
    }
}
