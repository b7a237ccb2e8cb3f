#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

/// The reference table, transcribed independently of the macro: (code, group, category).
const TABLE: &[(&str, CodeGroup, StatCategory)] = {
    use CodeGroup as G;
    use StatCategory as S;
    &[
        ("/", G::Present, S::Attendance),
        ("\\", G::Present, S::Attendance),
        ("L", G::Present, S::Attendance),
        ("K", G::AttendingElsewhere, S::Attendance),
        ("V", G::AttendingElsewhere, S::Attendance),
        ("P", G::AttendingElsewhere, S::Attendance),
        ("W", G::AttendingElsewhere, S::Attendance),
        ("B", G::AttendingElsewhere, S::Attendance),
        ("D", G::AttendingElsewhere, S::NotCounted),
        ("C1", G::LeaveOfAbsence, S::Authorised),
        ("M", G::LeaveOfAbsence, S::Authorised),
        ("J1", G::LeaveOfAbsence, S::Authorised),
        ("S", G::LeaveOfAbsence, S::Authorised),
        ("X", G::LeaveOfAbsence, S::NotCounted),
        ("C2", G::LeaveOfAbsence, S::Authorised),
        ("C", G::LeaveOfAbsence, S::Authorised),
        ("T", G::OtherAuthorised, S::Authorised),
        ("R", G::OtherAuthorised, S::Authorised),
        ("I", G::OtherAuthorised, S::Authorised),
        ("E", G::OtherAuthorised, S::Authorised),
        ("Q", G::UnableToAttend, S::NotCounted),
        ("Y1", G::UnableToAttendExceptional, S::NotCounted),
        ("Y2", G::UnableToAttendExceptional, S::NotCounted),
        ("Y3", G::UnableToAttendExceptional, S::NotCounted),
        ("Y4", G::UnableToAttendExceptional, S::NotCounted),
        ("Y5", G::UnableToAttendExceptional, S::NotCounted),
        ("Y6", G::UnableToAttendExceptional, S::NotCounted),
        ("Y7", G::UnableToAttendExceptional, S::NotCounted),
        ("G", G::Unauthorised, S::Unauthorised),
        ("N", G::Unauthorised, S::Unauthorised),
        ("O", G::Unauthorised, S::Unauthorised),
        ("U", G::Unauthorised, S::Unauthorised),
        ("Z", G::Administrative, S::NotCounted),
        ("#", G::Administrative, S::NotCounted),
    ]
};

#[test]
fn every_code_matches_the_reference_table_in_order() {
    assert_eq!(Code::ALL.len(), TABLE.len());
    for (code, (text, group, category)) in Code::ALL.iter().zip(TABLE) {
        assert_eq!(code.as_str(), *text);
        assert_eq!(code.group(), *group, "{code}");
        assert_eq!(code.category(), *category, "{code}");
        assert!(!code.meaning().is_empty());
        assert!(!code.group().label().is_empty());
    }
}

#[test]
fn parses_every_code_trimmed_and_in_either_case() {
    for code in Code::ALL {
        assert_eq!(code.as_str().parse::<Code>(), Ok(*code));
        assert_eq!(
            format!("  {}\t", code.as_str().to_lowercase()).parse::<Code>(),
            Ok(*code)
        );
        assert_eq!(code.to_string(), code.as_str());
    }
    assert_eq!("c1".parse::<Code>(), Ok(Code::C1));
    assert_eq!("y7".parse::<Code>(), Ok(Code::Y7));
}

#[test]
fn rejects_text_that_is_not_a_code_and_names_it() {
    for bad in ["J", "H", "Y", "Y8", "C3", "BB", "", "present", "X01", "-"] {
        let err = bad.parse::<Code>().unwrap_err();
        assert_eq!(err, UnknownCode(bad.to_string()));
        assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
    }
}

#[test]
fn serialises_as_the_code_string_including_backslash() {
    let json = serde_json::to_string(&[Code::PresentPm, Code::C1, Code::PlannedClosure]).unwrap();
    assert_eq!(json, r##"["\\","C1","#"]"##);
    let back: Vec<Code> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, vec![Code::PresentPm, Code::C1, Code::PlannedClosure]);
    assert_eq!(serde_json::from_str::<Code>(r#"" b ""#).unwrap(), Code::B);
    let err = serde_json::from_str::<Code>(r#""J""#).unwrap_err();
    assert!(err.to_string().contains("`J`"), "{err}");
}

#[test]
fn every_code_round_trips_through_serde() {
    for code in Code::ALL {
        let json = serde_json::to_string(code).unwrap();
        assert_eq!(serde_json::from_str::<Code>(&json).unwrap(), *code);
    }
}

#[test]
fn attendance_and_absence_helpers_follow_the_category() {
    assert!(Code::B.is_attendance());
    assert!(Code::L.is_attendance());
    assert!(!Code::D.is_attendance());
    assert!(Code::I.is_absence());
    assert!(Code::N.is_absence());
    assert!(!Code::Y1.is_absence());
    assert!(!StatCategory::NotCounted.is_possible());
    assert!(StatCategory::Unauthorised.is_possible());
}

#[test]
fn present_code_parses_serialises_and_names_its_code() {
    assert_eq!(" k ".parse::<PresentCode>(), Ok(PresentCode::K));
    assert_eq!(PresentCode::D.code(), Code::D);
    assert_eq!(PresentCode::B.code(), Code::B);
    assert_eq!(PresentCode::default(), PresentCode::B);
    assert_eq!(PresentCode::K.to_string(), "K");
    assert!("L".parse::<PresentCode>().unwrap_err().to_string().contains("`L`"));
    assert_eq!(serde_json::to_string(&PresentCode::K).unwrap(), r#""K""#);
    assert_eq!(serde_json::from_str::<PresentCode>(r#""d""#).unwrap(), PresentCode::D);
    assert!(serde_json::from_str::<PresentCode>(r#""I""#).is_err());
}

#[test]
fn legacy_marks_need_a_person_with_a_reason() {
    for mark in [
        "H", "F", "J", "Y", "X01", "X06", "x3", "7", "8", "9", "=", "[", "]", "-", " j ",
    ] {
        let reason = legacy_code_reason(mark);
        assert!(reason.is_some_and(|r| r.len() > 20), "{mark}: {reason:?}");
    }
    let j = legacy_code_reason("J").unwrap();
    assert!(j.contains("J1") && j.contains("authorised absence"), "{j}");
    assert!(legacy_code_reason("Y").unwrap().contains("Y1 to Y7"));
}

#[test]
fn current_codes_and_other_text_are_not_legacy() {
    for code in Code::ALL {
        assert_eq!(legacy_code_reason(code.as_str()), None, "{code}");
    }
    for other in ["", "  ", "X07", "X00", "X+1", "X001", "Present", "10", "JJ"] {
        assert_eq!(legacy_code_reason(other), None, "{other}");
    }
}

#[test]
fn no_legacy_mark_parses_as_a_current_code() {
    for mark in ["H", "F", "J", "Y", "X01", "7", "=", "[", "]", "-"] {
        assert!(mark.parse::<Code>().is_err(), "{mark}");
    }
}

#[test]
fn group_and_category_serialise_in_snake_case() {
    assert_eq!(
        serde_json::to_string(&CodeGroup::UnableToAttendExceptional).unwrap(),
        r#""unable_to_attend_exceptional""#
    );
    assert_eq!(
        serde_json::to_string(&StatCategory::NotCounted).unwrap(),
        r#""not_counted""#
    );
    assert_eq!(CodeGroup::LeaveOfAbsence.to_string(), "Leave of absence");
}
