#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use super::*;

fn summary(attended: u32, authorised: u32, unauthorised: u32) -> AttendanceSummary {
    AttendanceSummary {
        possible: attended + authorised + unauthorised,
        attended,
        authorised,
        unauthorised,
    }
}

#[test]
fn counts_by_category_and_leaves_not_counted_out_of_possible() {
    let codes = [
        Code::B,
        Code::PresentAm,
        Code::L,
        Code::I,
        Code::M,
        Code::O,
        Code::N,
        Code::D,
        Code::Y2,
        Code::X,
    ];
    let s = AttendanceSummary::from_codes(codes);
    assert_eq!(s, summary(3, 2, 2));
    assert_eq!(s.possible, 7);
    assert_eq!(s.absent(), 4);
}

#[test]
fn possible_is_always_the_sum_for_every_code() {
    let s: AttendanceSummary = Code::ALL.iter().copied().collect();
    assert_eq!(s.possible, s.attended + s.authorised + s.unauthorised);
    // `/ \ L K V P W B` attend; D is not counted; ten authorised; G N O U unauthorised.
    assert_eq!((s.attended, s.authorised, s.unauthorised), (8, 10, 4));
}

#[test]
fn no_possible_sessions_gives_no_percentage() {
    let s = AttendanceSummary::from_codes([Code::D, Code::PlannedClosure]);
    assert_eq!(s, AttendanceSummary::default());
    assert_eq!(s.attendance_pct(), None);
    assert_eq!(s.absence_pct(), None);
    assert!(!s.is_persistent_absence());
    assert!(!s.is_severe_absence());
    assert_eq!(format_pct(s.attendance_pct()), "");
}

#[test]
fn percentages_follow_the_reference() {
    let s = summary(18, 1, 1);
    assert_eq!(s.attendance_pct(), Some(90.0));
    assert_eq!(s.absence_pct(), Some(10.0));
    assert_eq!(format_pct(summary(18, 1, 0).attendance_pct()), "94.7");
    assert_eq!(format_pct(summary(11, 0, 1).attendance_pct()), "91.7");
    assert_eq!(format_pct(summary(9, 1, 2).attendance_pct()), "75.0");
}

#[test]
fn persistent_absence_is_ten_percent_or_more() {
    assert!(summary(18, 2, 0).is_persistent_absence()); // exactly 10%
    assert!(!summary(19, 1, 0).is_persistent_absence()); // 5%
    assert!(summary(171, 10, 9).is_persistent_absence()); // 19/190 exactly 10%
    assert!(!summary(172, 10, 8).is_persistent_absence());
    assert_eq!(PERSISTENT_ABSENCE_PCT, 10);
}

#[test]
fn severe_absence_is_fifty_percent_or_more() {
    assert!(summary(10, 5, 5).is_severe_absence());
    assert!(!summary(11, 5, 4).is_severe_absence());
    assert!(summary(0, 0, 1).is_severe_absence());
    assert_eq!(SEVERE_ABSENCE_PCT, 50);
}

#[test]
fn thresholds_agree_with_attendance_wording_for_every_small_case() {
    for possible in 1..=120u32 {
        for attended in 0..=possible {
            let s = summary(attended, possible - attended, 0);
            // "attendance 90% or below" and "attendance 50% or below", in integers.
            assert_eq!(
                s.is_persistent_absence(),
                attended * 100 <= possible * 90,
                "{attended}/{possible}"
            );
            assert_eq!(
                s.is_severe_absence(),
                attended * 100 <= possible * 50,
                "{attended}/{possible}"
            );
        }
    }
}

#[test]
fn format_pct_rounds_half_away_from_zero() {
    assert_eq!(format_pct(Some(6.25)), "6.3");
    assert_eq!(format_pct(Some(31.25)), "31.3"); // banker's rounding would give 31.2
    assert_eq!(format_pct(Some(12.5)), "12.5");
    assert_eq!(format_pct(Some(0.05)), "0.1");
    assert_eq!(format_pct(Some(100.0)), "100.0");
    assert_eq!(format_pct(Some(0.0)), "0.0");
    assert_eq!(format_pct(Some(-0.01)), "0.0");
    assert_eq!(format_pct(Some(-0.05)), "-0.1");
    assert_eq!(format_pct(Some(f64::NAN)), "");
    assert_eq!(format_pct(None), "");
}

#[test]
fn format_pct_matches_exact_rational_rounding_for_every_fraction() {
    for possible in 1..=800u64 {
        for attended in 0..=possible {
            // Round half up of attended * 1000 / possible, in integers.
            let tenths = (attended * 2000 + possible) / (2 * possible);
            let expected = format!("{}.{}", tenths / 10, tenths % 10);
            let s = AttendanceSummary {
                possible: possible as u32,
                attended: attended as u32,
                authorised: (possible - attended) as u32,
                unauthorised: 0,
            };
            assert_eq!(format_pct(s.attendance_pct()), expected, "{attended}/{possible}");
        }
    }
}

#[test]
fn summaries_add_and_extend() {
    let mut s = AttendanceSummary::from_codes([Code::B, Code::N]);
    s.extend([Code::I, Code::Y1]);
    assert_eq!(s, summary(1, 1, 1));
    assert_eq!(s + summary(2, 0, 0), summary(3, 1, 1));
}

#[test]
fn serialises_with_field_names() {
    let json = serde_json::to_string(&summary(9, 1, 2)).unwrap();
    assert_eq!(json, r#"{"possible":12,"attended":9,"authorised":1,"unauthorised":2}"#);
}

/// The sample register must give exactly the sample attendance report.
#[test]
fn sample_marks_give_the_sample_attendance_report() {
    let marks = include_str!("../../../../samples/expected/marks.csv");
    let expected = include_str!("../../../../samples/expected/attendance.csv");

    let mut lines = marks.lines();
    assert_eq!(lines.next(), Some("upn,date,session,code,provider"));
    let mut by_upn: BTreeMap<&str, AttendanceSummary> = BTreeMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split(',').collect();
        let code: Code = fields[3].parse().unwrap_or_else(|e| panic!("{line}: {e}"));
        by_upn.entry(fields[0]).or_default().record(code);
    }

    let mut report = String::from("upn,possible,attended,authorised,unauthorised,attendance_pct\n");
    for (upn, s) in &by_upn {
        assert_eq!(s.possible, s.attended + s.authorised + s.unauthorised);
        report.push_str(&format!(
            "{upn},{},{},{},{},{}\n",
            s.possible,
            s.attended,
            s.authorised,
            s.unauthorised,
            format_pct(s.attendance_pct())
        ));
    }
    assert_eq!(report.replace("\r\n", "\n"), expected.replace("\r\n", "\n"));
}
