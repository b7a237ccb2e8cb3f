use chrono::NaiveDate;

use super::*;
use crate::domain::{Session, Weekdays, WeekdaysError};

fn d(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn parse(text: &str) -> Result<Vec<PlacementRecord>, RosterFileError> {
    parse_placements(text.as_bytes(), &RosterColumns::default(), PROVIDERS)
}

fn refused(text: &str) -> RosterFileError {
    let err = parse(text).unwrap_err();
    assert_eq!(err.file, RosterFile::Placements);
    err
}

const HEADER: &str = "UPN,Provider,Provider Ref,Start,End,Days";

#[test]
fn sample_file_gives_fourteen_placements() {
    let placements = parse(PLACEMENTS).unwrap();
    assert_eq!(placements.len(), 14);
    let p = &placements[2];
    assert_eq!(p.line, 4);
    assert_eq!(p.upn.as_str(), "L371432121114");
    assert_eq!(p.provider_id, "bright-futures");
    assert_eq!(p.provider_ref.as_deref(), Some("BF-112"));
    assert_eq!(p.start, d("2026-01-05"));
    assert_eq!(p.end, Some(d("2026-07-17")));
    assert_eq!(p.weekdays.to_string(), "Mon Tue Wed");
    assert_eq!(p.sessions, vec![Session::Am, Session::Pm]);
    assert_eq!((p.reason.as_deref(), p.full_time), (None, None));
    assert_eq!(p.sessions_per_week(), 6);
    assert!(p.expects(d("2026-03-04"), Session::Am)); // Wednesday
    assert!(!p.expects(d("2026-03-05"), Session::Am)); // Thursday
    assert!(!p.expects(d("2026-01-02"), Session::Pm)); // before the start
    assert!(!p.expects(d("2026-07-20"), Session::Pm)); // after the end
    let weekdays: Vec<String> = placements.iter().map(|p| p.weekdays.to_string()).collect();
    assert!(weekdays.contains(&"Thu Fri".to_string()));
}

#[test]
fn bom_and_crlf_read_the_same() {
    let with_bom = format!("\u{feff}{}", lf(PLACEMENTS).replace('\n', "\r\n"));
    assert_eq!(parse(&with_bom).unwrap(), parse(&lf(PLACEMENTS)).unwrap());
    assert_eq!(parse(PLACEMENTS).unwrap(), parse(&lf(PLACEMENTS)).unwrap());
}

#[test]
fn an_unknown_provider_lists_the_known_ones() {
    let text = replace_line(
        PLACEMENTS,
        3,
        "Q371432121107,bright-future,BF-104,2026-01-05,2026-07-17,Mon",
    );
    let err = refused(&text);
    assert_eq!(
        row_problems(&err),
        vec![(
            3,
            RosterRowProblem::UnknownProvider {
                provider: "bright-future".into(),
                known: PROVIDERS.iter().map(|p| p.to_string()).collect()
            }
        )]
    );
    let msg = err.to_string();
    assert!(
        msg.contains("line 3: provider `bright-future` is not configured"),
        "{msg}"
    );
    assert!(
        msg.contains("`bright-futures`, `skills-hub`, `riverside-farm`"),
        "{msg}"
    );
}

#[test]
fn providers_match_ignoring_case_and_take_the_config_spelling() {
    let text = format!("{HEADER}\nQ371432121107, Bright-Futures ,BF-104,2026-01-05,,Mon\n");
    assert_eq!(parse(&text).unwrap()[0].provider_id, "bright-futures");
}

#[test]
fn no_configured_providers_says_so() {
    let err = parse_placements(PLACEMENTS.as_bytes(), &RosterColumns::default(), &[]).unwrap_err();
    assert_eq!(row_problems(&err).len(), 14);
    assert!(err.to_string().contains("the configured providers are none"), "{err}");
}

#[test]
fn an_end_before_the_start_is_refused() {
    let text = format!("{HEADER}\nQ371432121107,northstar,,2026-03-02,01/03/2026,Mon\n");
    let problems = row_problems(&refused(&text));
    assert_eq!(
        problems,
        vec![(
            2,
            RosterRowProblem::EndBeforeStart {
                start: d("2026-03-02"),
                end: d("2026-03-01")
            }
        )]
    );
}

#[test]
fn a_blank_end_is_open_ended_and_a_one_day_placement_is_fine() {
    let text = format!(
        "{HEADER}\nQ371432121107,northstar,,2026-03-02,,Mon-Fri\nL371432121114,northstar,,2026-03-02,2026-03-02,Mon\n"
    );
    let placements = parse(&text).unwrap();
    assert_eq!(placements[0].end, None);
    assert_eq!(placements[0].provider_ref, None);
    assert_eq!(placements[0].weekdays, Weekdays::MON_TO_FRI);
    assert!(placements[0].is_active_on(d("2030-01-01")));
    assert!(placements[1].expects(d("2026-03-02"), Session::Pm));
}

#[test]
fn bad_dates_and_bad_days_are_named() {
    let text = format!("{HEADER}\nQ371432121107,northstar,NS-1,2026-13-01,soon,Mon Tue Wibble\n");
    let err = refused(&text);
    let problems = row_problems(&err);
    assert_eq!(problems.len(), 3, "{err}");
    assert!(
        matches!(&problems[0].1, RosterRowProblem::BadDate { column, text, .. } if column == "Start" && text == "2026-13-01")
    );
    assert!(
        matches!(&problems[1].1, RosterRowProblem::BadDate { column, text, .. } if column == "End" && text == "soon")
    );
    assert!(matches!(
        &problems[2].1,
        RosterRowProblem::BadWeekdays { error: WeekdaysError::NotADay { word, .. }, .. } if word == "Wibble"
    ));
    assert!(
        err.to_string()
            .contains("line 2: in `Days`: `Wibble` in `Mon Tue Wibble` is not a day of the week"),
        "{err}"
    );
}

#[test]
fn required_values_and_upns_are_checked() {
    let text = format!("{HEADER}\nQ371432121108,,,,,\n,northstar,,2026-01-05,,\n");
    let err = refused(&text);
    let problems = row_problems(&err);
    assert!(matches!(problems[0], (2, RosterRowProblem::InvalidUpn(_))), "{err}");
    let empties: Vec<(usize, String)> = problems
        .iter()
        .filter_map(|(line, p)| match p {
            RosterRowProblem::EmptyField { column } => Some((*line, column.clone())),
            _ => None,
        })
        .collect();
    let expected = [(2, "Provider"), (2, "Start"), (2, "Days"), (3, "UPN"), (3, "Days")];
    assert_eq!(empties, expected.map(|(l, c)| (l, c.to_string())));
}

#[test]
fn optional_columns_are_read_when_present() {
    let text = "upn,provider,provider ref,start,end,days,Sessions,Reason,Full Time\n\
                Q371432121107,skills-hub,SH-1,2026-01-05,,Mon Wed,AM,SEMH,n\n\
                L371432121114,skills-hub,SH-2,2026-01-05,,Tue,,,\n\
                G371432121121,skills-hub,SH-3,2026-01-05,,Fri,pm,\"Social, emotional\",Y\n";
    let placements = parse(text).unwrap();
    assert_eq!(placements[0].sessions, vec![Session::Am]);
    assert_eq!(placements[0].sessions_per_week(), 2);
    assert!(!placements[0].expects(d("2026-03-02"), Session::Pm));
    assert_eq!(placements[0].full_time, Some(false));
    assert_eq!(placements[0].reason.as_deref(), Some("SEMH"));
    assert_eq!(placements[1].sessions, vec![Session::Am, Session::Pm]);
    assert_eq!((placements[1].reason.as_deref(), placements[1].full_time), (None, None));
    assert_eq!(placements[2].sessions, vec![Session::Pm]);
    assert_eq!(placements[2].reason.as_deref(), Some("Social, emotional"));
    assert_eq!(placements[2].full_time, Some(true));
}

#[test]
fn bad_sessions_and_full_time_values_are_named() {
    let text = "UPN,Provider,Provider Ref,Start,End,Days,Sessions,Full Time\n\
                Q371432121107,skills-hub,,2026-01-05,,Mon,morning,sometimes\n";
    let err = refused(text);
    assert_eq!(
        row_problems(&err),
        vec![
            (
                2,
                RosterRowProblem::BadSessions {
                    column: "Sessions".into(),
                    text: "morning".into()
                }
            ),
            (
                2,
                RosterRowProblem::BadFullTime {
                    column: "Full Time".into(),
                    text: "sometimes".into()
                }
            ),
        ]
    );
}

#[test]
fn the_same_placement_twice_is_refused_but_two_providers_are_fine() {
    let text = format!(
        "{HEADER}\nQ371432121107,skills-hub,,2026-01-05,,Mon\nQ371432121107,northstar,,2026-01-05,,Tue\n\
         Q371432121107,Skills-Hub,,05/01/2026,,Wed\n"
    );
    let err = refused(&text);
    assert_eq!(
        row_problems(&err),
        vec![(4, RosterRowProblem::DuplicatePlacement { first_line: 2 })]
    );
}

#[test]
fn a_missing_days_column_is_named() {
    let text = PLACEMENTS.replace(",Days\r\n", ",Weekdays\r\n");
    let err = refused(&text);
    assert!(matches!(
        &err.problems[..],
        [RosterProblem::MissingColumn { column, setting: "days", .. }] if column == "Days"
    ));
}
