#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn d(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn term(name: &str, start: &str, end: &str) -> Term {
    Term {
        name: name.into(),
        start: d(start),
        end: d(end),
    }
}

/// Spring 2026: two half terms around half-term week, an INSET day and an Easter-ish closure.
fn spring() -> SchoolCalendar {
    SchoolCalendar::new(
        vec![
            term("Spring 2", "2026-02-23", "2026-03-27"),
            term("Spring 1", "2026-01-05", "2026-02-13"),
        ],
        vec![
            Closure::day(d("2026-03-06")),
            Closure::range(d("2026-03-19"), d("2026-03-20")),
        ],
    )
    .unwrap()
}

#[test]
fn school_days_are_weekdays_in_term_and_not_closed() {
    let cal = spring();
    assert!(cal.is_school_day(d("2026-03-02"))); // Monday
    assert!(!cal.is_school_day(d("2026-03-07"))); // Saturday
    assert!(!cal.is_school_day(d("2026-03-08"))); // Sunday
    assert!(!cal.is_school_day(d("2026-03-06"))); // INSET
    assert!(!cal.is_school_day(d("2026-03-19")));
    assert!(!cal.is_school_day(d("2026-03-20")));
    assert!(!cal.is_school_day(d("2026-02-16"))); // half term
    assert!(!cal.is_school_day(d("2026-01-02"))); // before any term
    assert!(cal.is_school_day(d("2026-01-05"))); // first day, inclusive
    assert!(cal.is_school_day(d("2026-03-27"))); // last day, inclusive
    assert!(!cal.is_school_day(d("2026-03-30")));
}

#[test]
fn terms_are_sorted_and_found() {
    let cal = spring();
    assert_eq!(cal.terms()[0].name, "Spring 1");
    assert_eq!(cal.term_of(d("2026-03-07")).map(|t| t.name.as_str()), Some("Spring 2"));
    assert_eq!(cal.term_of(d("2026-02-18")), None);
    assert_eq!(cal.closures().len(), 2);
}

#[test]
fn school_days_iterates_inclusively() {
    let cal = spring();
    let days: Vec<_> = cal.school_days(d("2026-03-02"), d("2026-03-13")).collect();
    assert_eq!(days.len(), 9); // ten weekdays less the INSET day
    assert_eq!(days.first(), Some(&d("2026-03-02")));
    assert_eq!(days.last(), Some(&d("2026-03-13")));
    assert!(!days.contains(&d("2026-03-06")));
    assert_eq!(cal.school_days(d("2026-03-13"), d("2026-03-02")).count(), 0);
    assert_eq!(cal.school_days(d("2026-03-02"), d("2026-03-02")).count(), 1);
    // Across half term: Thursday 12 Feb to Tuesday 24 Feb.
    assert_eq!(cal.school_days(d("2026-02-12"), d("2026-02-24")).count(), 4);
}

#[test]
fn previous_and_next_school_day_skip_weekends_closures_and_holidays() {
    let cal = spring();
    assert_eq!(cal.previous_school_day(d("2026-03-09")), Some(d("2026-03-05"))); // Mon -> Thu (Fri INSET)
    assert_eq!(cal.previous_school_day(d("2026-03-03")), Some(d("2026-03-02")));
    assert_eq!(cal.previous_school_day(d("2026-02-23")), Some(d("2026-02-13"))); // over half term
    assert_eq!(cal.previous_school_day(d("2026-01-05")), None);
    assert_eq!(cal.previous_school_day(d("2025-06-01")), None);
    assert_eq!(cal.next_school_day(d("2026-03-05")), Some(d("2026-03-09")));
    assert_eq!(cal.next_school_day(d("2026-03-27")), None);
    assert_eq!(cal.next_school_day(d("2027-01-01")), None);
    // From a holiday, the next school day is the first of the next term.
    assert_eq!(cal.next_school_day(d("2026-02-18")), Some(d("2026-02-23")));
}

#[test]
fn adds_and_counts_school_days_consistently() {
    let cal = spring();
    // Five school days after Monday 2 March: Tue, Wed, Thu, (Fri INSET), Mon, Tue.
    assert_eq!(cal.add_school_days(d("2026-03-02"), 5), Some(d("2026-03-10")));
    assert_eq!(cal.school_days_between(d("2026-03-02"), d("2026-03-10")), 5);
    assert_eq!(cal.sub_school_days(d("2026-03-10"), 5), Some(d("2026-03-02")));
    assert_eq!(cal.add_school_days(d("2026-03-07"), 0), Some(d("2026-03-07")));
    assert_eq!(cal.school_days_between(d("2026-03-02"), d("2026-03-02")), 0);
    assert_eq!(cal.school_days_between(d("2026-03-10"), d("2026-03-02")), 0);
    assert_eq!(cal.add_school_days(d("2026-03-20"), 100), None);
    for n in 0..40 {
        let later = cal.add_school_days(d("2026-01-05"), n).unwrap();
        assert_eq!(cal.school_days_between(d("2026-01-05"), later), n, "{n}");
        assert_eq!(cal.sub_school_days(later, n), Some(d("2026-01-05")), "{n}");
    }
}

#[test]
fn empty_calendar_has_no_school_days() {
    let cal = SchoolCalendar::new(vec![], vec![]).unwrap();
    assert!(!cal.is_school_day(d("2026-03-02")));
    assert_eq!(cal.next_school_day(d("2026-03-02")), None);
    assert_eq!(cal.previous_school_day(d("2026-03-02")), None);
    assert_eq!(cal.add_school_days(d("2026-03-02"), 0), Some(d("2026-03-02")));
    assert_eq!(cal, SchoolCalendar::default());
}

#[test]
fn refuses_a_term_ending_before_it_starts() {
    let err = SchoolCalendar::new(vec![term("Summer 1", "2026-05-22", "2026-04-13")], vec![]).unwrap_err();
    assert_eq!(err.problems.len(), 1);
    let msg = err.to_string();
    assert!(
        msg.contains("`Summer 1` ends on 2026-04-13, before it starts on 2026-05-22"),
        "{msg}"
    );
}

#[test]
fn refuses_overlapping_terms_naming_both() {
    let err = SchoolCalendar::new(
        vec![
            term("Autumn", "2025-09-01", "2025-12-19"),
            term("Autumn 2", "2025-11-03", "2025-12-19"),
            term("Spring 1", "2026-01-05", "2026-02-13"),
        ],
        vec![],
    )
    .unwrap_err();
    assert_eq!(err.problems.len(), 1);
    let msg = err.to_string();
    assert!(
        msg.contains("`Autumn` (2025-09-01 to 2025-12-19) and `Autumn 2`"),
        "{msg}"
    );
    assert!(msg.contains("overlap"), "{msg}");
}

#[test]
fn terms_sharing_only_an_end_day_overlap() {
    let err = SchoolCalendar::new(
        vec![
            term("A", "2026-01-05", "2026-01-09"),
            term("B", "2026-01-09", "2026-01-16"),
        ],
        vec![],
    )
    .unwrap_err();
    assert_eq!(
        err.problems,
        [CalendarProblem::TermsOverlap {
            first: "A".into(),
            first_start: d("2026-01-05"),
            first_end: d("2026-01-09"),
            second: "B".into(),
            second_start: d("2026-01-09"),
            second_end: d("2026-01-16"),
        }]
    );
    let ok = SchoolCalendar::new(
        vec![
            term("A", "2026-01-05", "2026-01-09"),
            term("B", "2026-01-10", "2026-01-16"),
        ],
        vec![],
    )
    .unwrap();
    assert_eq!(ok.terms().len(), 2);
    assert!(ok.is_school_day(d("2026-01-09")) && !ok.is_school_day(d("2026-01-10")));
    assert!(ok.is_school_day(d("2026-01-12")));
}

#[test]
fn lists_every_problem_at_once() {
    let err = SchoolCalendar::new(
        vec![
            term("Bad", "2026-02-01", "2026-01-01"),
            term("A", "2026-03-01", "2026-04-01"),
            term("B", "2026-03-15", "2026-04-15"),
        ],
        vec![Closure::range(d("2026-03-10"), d("2026-03-09"))],
    )
    .unwrap_err();
    assert_eq!(err.problems.len(), 3, "{err}");
    assert!(matches!(
        err.problems[2],
        CalendarProblem::ClosureEndsBeforeStart { .. }
    ));
    assert!(err.to_string().starts_with("the school calendar has 3 problem(s):"));
}

#[test]
fn terms_and_closures_deserialise_from_config() {
    let terms: Vec<Term> =
        serde_json::from_str(r#"[{"name":"Spring 2","start":"2026-02-23","end":"2026-03-27"}]"#).unwrap();
    let closures: Vec<Closure> =
        serde_json::from_str(r#"[{"start":"2026-03-06","reason":"INSET"},{"start":"2026-03-19","end":"2026-03-20"}]"#)
            .unwrap();
    assert_eq!(closures[0].last_day(), d("2026-03-06"));
    assert_eq!(closures[1].last_day(), d("2026-03-20"));
    let cal = SchoolCalendar::new(terms, closures).unwrap();
    assert!(!cal.is_school_day(d("2026-03-06")));
    assert!(cal.is_school_day(d("2026-03-05")));
}
