//! Every rule on small hand-made registers, with the example configuration's calendar (Spring
//! 2026 term, half term 16-20 February).

use chrono::{DateTime, NaiveDate, Utc};

use crate::config::Config;
use crate::domain::{Code, Session, Upn};
use crate::roster::{PlacementRecord, PupilRecord, StoredPupil};
use crate::rules::*;
use crate::settings::Role;

const EXAMPLE: &str = include_str!("../../config/apsync.example.toml");
pub(super) const JAYDEN: &str = "Q371432121107";

pub(super) fn config() -> Config {
    let (raw, _) = crate::config::parse(EXAMPLE, vec![]).unwrap();
    crate::config::validate::validate(raw).unwrap()
}

pub(super) fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub(super) fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub(super) fn pupil() -> StoredPupil {
    StoredPupil {
        record: PupilRecord {
            line: 0,
            upn: Upn::parse(JAYDEN).unwrap(),
            admission_number: "002102".into(),
            legal_surname: "Clarke".into(),
            legal_forename: "Jayden".into(),
            preferred_forename: None,
            date_of_birth: d("2011-02-03"),
            year_group: Some(10),
        },
        on_roll: true,
    }
}

pub(super) fn placement() -> PlacementRecord {
    PlacementRecord {
        line: 0,
        upn: Upn::parse(JAYDEN).unwrap(),
        provider_id: "bright-futures".into(),
        provider_ref: Some("BF-104".into()),
        start: d("2026-01-05"),
        end: None,
        weekdays: "Mon Tue Wed Thu Fri".parse().unwrap(),
        sessions: vec![Session::Am, Session::Pm],
        reason: None,
        full_time: None,
    }
}

use crate::register::Mark;

pub(super) fn mark(date: &str, session: Session, code: Code) -> Mark {
    Mark {
        upn: JAYDEN.into(),
        date: d(date),
        session,
        code,
        provider: "bright-futures".into(),
    }
}

/// Present marks for every session from `from` to `to` (school days only).
fn present(config: &Config, from: &str, to: &str) -> Vec<Mark> {
    config
        .calendar
        .school_days(d(from), d(to))
        .flat_map(|day| Session::BOTH.map(|s| mark(&day.to_string(), s, Code::B)))
        .collect()
}

fn set(marks: &mut Vec<Mark>, m: Mark) {
    marks.retain(|x| !(x.date == m.date && x.session == m.session));
    marks.push(m);
}

fn run(config: &Config, now: &str, marks: &[Mark], open: &[OpenAlert]) -> Evaluation {
    run_ops(config, now, marks, open, &OpsFacts::default())
}

fn run_ops(config: &Config, now: &str, marks: &[Mark], open: &[OpenAlert], ops: &OpsFacts) -> Evaluation {
    let pupils = [pupil()];
    let placements = [placement()];
    evaluate(&Facts {
        settings: config.rule_settings(),
        now: t(now),
        pupils: &pupils,
        placements: &placements,
        marks,
        open,
        ops,
        last_visits: &[],
    })
}

pub(super) fn of(e: &Evaluation, rule: Rule) -> Vec<&Condition> {
    e.conditions.iter().filter(|c| c.rule == rule).collect()
}

/// The alerts a set of raises would leave open.
pub(super) fn opened(changes: &[Change], at: &str) -> Vec<OpenAlert> {
    changes
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            Change::Raise(c) => Some(OpenAlert {
                id: i64::try_from(i).unwrap(),
                rule: c.rule,
                key: c.key.clone(),
                level: c.level,
                roles: c.roles.clone(),
                about: c.about,
                first_seen: t(at),
                upn: c.upn.clone(),
                provider: c.provider.clone(),
                detail: c.detail.clone(),
            }),
            _ => None,
        })
        .collect()
}

#[test]
fn an_absence_today_is_raised_and_a_later_present_mark_resolves_it() {
    let c = config();
    let mut marks = present(&c, "2026-01-05", "2026-03-02");
    set(&mut marks, mark("2026-03-02", Session::Am, Code::N));
    let e = run(&c, "2026-03-02T09:30:00Z", &marks, &[]);
    let absences = of(&e, Rule::Absence);
    assert_eq!(absences.len(), 1);
    assert_eq!(absences[0].key, format!("{JAYDEN}:2026-03-02:AM"));
    assert_eq!(
        absences[0].detail.title,
        "Absent: Jayden C. (Y10) at Bright Futures Training, Mon 2 Mar AM"
    );
    assert_eq!(absences[0].roles, [Role::AttendanceAdministrator]);
    let changes = diff(e, &[]);
    let open = opened(&changes, "2026-03-02T09:30:00Z");
    assert_eq!(open.len(), 1, "{changes:?}");

    // Evaluated again with nothing new: nothing changes.
    assert!(diff(run(&c, "2026-03-02T09:45:00Z", &marks, &open), &open).is_empty());

    // The provider corrects the session to present: resolved, and that is said.
    set(&mut marks, mark("2026-03-02", Session::Am, Code::B));
    let changes = diff(run(&c, "2026-03-02T11:00:00Z", &marks, &open), &open);
    assert!(
        matches!(changes.as_slice(), [Change::Resolve(a)] if a.rule == Rule::Absence),
        "{changes:?}"
    );
}

#[test]
fn an_absence_leaves_view_quietly_two_school_days_later() {
    let c = config();
    let mut marks = present(&c, "2026-01-05", "2026-03-04");
    set(&mut marks, mark("2026-03-02", Session::Am, Code::I));
    let open = opened(
        &diff(run(&c, "2026-03-02T12:00:00Z", &marks, &[]), &[]),
        "2026-03-02T12:00:00Z",
    );
    // Tuesday: still in view (a correction would still resolve it), nothing to do.
    assert!(diff(run(&c, "2026-03-03T12:00:00Z", &marks, &open), &open).is_empty());
    // Wednesday: out of view: closed quietly, no email.
    let changes = diff(run(&c, "2026-03-04T12:00:00Z", &marks, &open), &open);
    assert!(matches!(changes.as_slice(), [Change::Lapse(_)]), "{changes:?}");
    assert!(!changes[0].is_said());
}

#[test]
fn a_missing_return_waits_for_the_deadline_then_escalates_to_the_dsl_at_the_end_of_the_day() {
    let c = config();
    let marks = present(&c, "2026-02-23", "2026-02-27");
    assert!(of(&run(&c, "2026-03-02T09:59:00Z", &marks, &[]), Rule::MissingReturn).is_empty());

    let e = run(&c, "2026-03-02T10:01:00Z", &marks, &[]);
    let missing = of(&e, Rule::MissingReturn);
    assert_eq!(missing.len(), 1, "AM only: the PM deadline (14:00) has not passed");
    assert_eq!(missing[0].level, 0);
    assert!(!missing[0].roles.contains(&Role::Dsl));
    assert!(missing[0].detail.title.starts_with("No return: Jayden C. (Y10)"));
    let open = opened(&diff(e, &[]), "2026-03-02T10:01:00Z");

    // 16:00: still nothing for either session: AM escalates, PM is raised already escalated.
    let changes = diff(run(&c, "2026-03-02T16:00:00Z", &marks, &open), &open);
    assert_eq!(changes.len(), 2, "{changes:?}");
    for change in &changes {
        match change {
            Change::Escalate(a, c) => {
                assert_eq!((a.level, c.level), (0, 1));
                assert!(c.roles.contains(&Role::Dsl));
                assert!(c.detail.title.starts_with("Still no return"));
            }
            Change::Raise(c) => assert_eq!((c.key.ends_with("PM"), c.level), (true, 1)),
            other => panic!("{other:?}"),
        }
    }

    // The return arrives: resolved.
    let mut marks = marks;
    set(&mut marks, mark("2026-03-02", Session::Am, Code::B));
    let changes = diff(run(&c, "2026-03-02T11:00:00Z", &marks, &open), &open);
    assert!(matches!(changes.as_slice(), [Change::Resolve(_)]), "{changes:?}");
}

#[test]
fn consecutive_absences_count_school_sessions_across_half_term() {
    let c = config();
    // Thu 12 Feb PM, Fri 13 Feb AM and PM, then half term, then Mon 23 Feb AM: four in a row.
    let mut marks = present(&c, "2026-02-02", "2026-02-23");
    for (day, s) in [
        ("2026-02-12", Session::Pm),
        ("2026-02-13", Session::Am),
        ("2026-02-13", Session::Pm),
        ("2026-02-23", Session::Am),
    ] {
        set(&mut marks, mark(day, s, Code::O));
    }
    // Monday PM not returned yet: it neither breaks nor extends the run.
    marks.retain(|m| !(m.date == d("2026-02-23") && m.session == Session::Pm));
    let e = run(&c, "2026-02-23T13:00:00Z", &marks, &[]);
    let runs = of(&e, Rule::ConsecutiveAbsence);
    assert_eq!(runs.len(), 1, "{:?}", e.conditions);
    assert_eq!(runs[0].key, format!("{JAYDEN}:2026-02-12:PM"));
    assert!(runs[0].detail.title.starts_with("Absent 4 sessions in a row"));
    assert_eq!(runs[0].roles, [Role::Dsl, Role::ApCoordinator]);

    // Three are not enough.
    set(&mut marks, mark("2026-02-12", Session::Pm, Code::B));
    assert!(of(&run(&c, "2026-02-23T13:00:00Z", &marks, &[]), Rule::ConsecutiveAbsence).is_empty());
}

#[test]
fn below_target_levels_follow_the_window() {
    let c = config();
    // 20 school days to Fri 13 Mar: 40 sessions; 4 absences = 90% (persistent, "at or below").
    let mut marks = present(&c, "2026-02-09", "2026-03-13");
    for day in ["2026-03-02", "2026-03-03"] {
        set(&mut marks, mark(day, Session::Am, Code::I));
        set(&mut marks, mark(day, Session::Pm, Code::I));
    }
    let e = run(&c, "2026-03-13T17:00:00Z", &marks, &[]);
    let below = of(&e, Rule::BelowTarget);
    assert_eq!(below.len(), 1);
    assert_eq!(below[0].level, 2);
    assert_eq!(
        below[0].detail.title,
        "Persistent absence: Jayden C. (Y10) at Bright Futures Training, 90.0% over 20 school days"
    );
    // One absence (97.5%) and an alert open at "below target": 97.5 >= 95 + 2, so it clears.
    let mut marks = present(&c, "2026-02-09", "2026-03-13");
    set(&mut marks, mark("2026-03-02", Session::Am, Code::I));
    let open = vec![OpenAlert {
        id: 1,
        rule: Rule::BelowTarget,
        key: JAYDEN.into(),
        level: 1,
        roles: vec![Role::ApCoordinator],
        about: None,
        first_seen: t("2026-03-01T00:00:00Z"),
        upn: Some(JAYDEN.into()),
        provider: None,
        detail: Detail::default(),
    }];
    assert!(of(&run(&c, "2026-03-13T17:00:00Z", &marks, &open), Rule::BelowTarget).is_empty());
    // Two absences (95%): inside the band, the open alert holds.
    set(&mut marks, mark("2026-03-02", Session::Pm, Code::I));
    let held = run(&c, "2026-03-13T17:00:00Z", &marks, &open);
    assert_eq!(of(&held, Rule::BelowTarget)[0].level, 1);
}

#[test]
fn an_n_goes_stale_after_five_school_days() {
    let c = config();
    let mut marks = present(&c, "2026-03-02", "2026-03-13");
    set(&mut marks, mark("2026-03-06", Session::Am, Code::N));
    assert!(of(&run(&c, "2026-03-12T12:00:00Z", &marks, &[]), Rule::StaleN).is_empty());
    let stale = run(&c, "2026-03-13T12:00:00Z", &marks, &[]);
    assert_eq!(of(&stale, Rule::StaleN)[0].key, format!("{JAYDEN}:2026-03-06:AM"));
}

#[test]
fn ten_unauthorised_sessions_in_ten_school_weeks() {
    let c = config();
    let mut marks = present(&c, "2026-01-05", "2026-03-13");
    let days: Vec<NaiveDate> = c
        .calendar
        .school_days(d("2026-01-12"), d("2026-03-13"))
        .step_by(4)
        .collect();
    for day in days.iter().take(9) {
        set(&mut marks, mark(&day.to_string(), Session::Am, Code::O));
    }
    assert!(of(&run(&c, "2026-03-13T17:00:00Z", &marks, &[]), Rule::Unauthorised).is_empty());
    set(&mut marks, mark("2026-03-13", Session::Pm, Code::G));
    let e = run(&c, "2026-03-13T17:00:00Z", &marks, &[]);
    assert_eq!(
        of(&e, Rule::Unauthorised)[0].detail.title,
        "10 unauthorised sessions in 10 school weeks: Jayden C. (Y10)"
    );
}

#[test]
fn provider_approval_expiring_then_expired() {
    let c = config();
    // Riverside Farm's QA approval expires 2026-12-31 in the example.
    let soon = run(&c, "2026-12-10T12:00:00Z", &[], &[]);
    let rf: Vec<_> = of(&soon, Rule::ProviderCompliance)
        .into_iter()
        .filter(|x| x.key.starts_with("riverside-farm"))
        .collect();
    assert_eq!(rf.len(), 1);
    assert_eq!(
        (rf[0].level, rf[0].detail.title.as_str()),
        (0, "QA approval expires 31 Dec 2026: Riverside Farm")
    );
    let late = run(&c, "2027-01-04T12:00:00Z", &[], &[]);
    let rf: Vec<_> = of(&late, Rule::ProviderCompliance)
        .into_iter()
        .filter(|x| x.key.starts_with("riverside-farm"))
        .collect();
    assert_eq!(rf[0].level, 1);
    assert!(of(&run(&c, "2026-03-02T12:00:00Z", &[], &[]), Rule::ProviderCompliance).is_empty());
}

/// Only the changes to operations alerts.
fn ops_only(changes: Vec<Change>) -> Vec<Change> {
    changes
        .into_iter()
        .filter(|c| match c {
            Change::Raise(c) => c.rule == Rule::Operations,
            Change::Escalate(a, _) | Change::Update(a, _) | Change::Resolve(a) | Change::Lapse(a) => {
                a.rule == Rule::Operations
            }
        })
        .collect()
}

#[test]
fn operations_go_to_it() {
    let c = config();
    let ops = OpsFacts {
        connector_failures: vec![
            ("bf-sftp".into(), 3, Some("auth refused".into())),
            ("rf".into(), 2, None),
        ],
        dead_deliveries: vec![(7, "[apsync] Absent: ...".into())],
        review_open: 3,
        review_oldest: Some(t("2026-03-01T08:00:00Z")),
        refused_today: Vec::new(),
        endpoints_refusing: Vec::new(),
    };
    let e = run_ops(&c, "2026-03-02T12:00:00Z", &[], &[], &ops);
    let keys: Vec<&str> = of(&e, Rule::Operations).iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["connector:bf-sftp", "dead-letter:7", "review-queue"]);
    assert!(of(&e, Rule::Operations).iter().all(|c| c.roles == [Role::It]));
}

#[test]
fn refused_mail_is_one_alert_per_sender_per_day_with_strangers_together_and_it_lapses_next_day() {
    let c = config();
    let refused = |sender: Option<&str>, count| RefusedToday {
        connector: "oak-mail".into(),
        sender: sender.map(str::to_string),
        strangers: sender.is_none(),
        count,
        reason: "mx.school.example did not authenticate the sender (dmarc=fail)".into(),
    };
    let ops = OpsFacts {
        refused_today: vec![refused(None, 40), refused(Some("learning@oakfarm.example"), 1)],
        ..OpsFacts::default()
    };
    let e = run_ops(&c, "2026-03-02T12:00:00Z", &[], &[], &ops);
    let found = of(&e, Rule::Operations);
    let keys: Vec<&str> = found.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "refused:oak-mail:strangers:2026-03-02",
            "refused:oak-mail:learning@oakfarm.example:2026-03-02"
        ]
    );
    assert!(
        found
            .iter()
            .all(|c| c.roles == [Role::It] && c.about == Some(d("2026-03-02")))
    );
    assert!(
        found[0]
            .detail
            .what
            .starts_with("40 items from senders not in its list")
    );
    // A day later the alert is out of view: it closes quietly, with no "resolved" email.
    let open = opened(&[Change::Raise(found[1].clone())], "2026-03-02T12:00:00Z").remove(0);
    let next_day = run_ops(&c, "2026-03-03T12:00:00Z", &[], &[], &OpsFacts::default());
    let changes = ops_only(diff(next_day, std::slice::from_ref(&open)));
    assert!(matches!(changes.as_slice(), [Change::Lapse(_)]), "{changes:?}");
    // Later refusals the same day change the count quietly.
    let more = OpsFacts {
        refused_today: vec![refused(Some("learning@oakfarm.example"), 3)],
        ..OpsFacts::default()
    };
    let changes = ops_only(diff(run_ops(&c, "2026-03-02T15:00:00Z", &[], &[], &more), &[open]));
    assert!(matches!(changes.as_slice(), [Change::Update(..)]), "{changes:?}");
}

#[test]
fn a_refusing_endpoint_is_one_alert_a_day_to_it_resolved_by_a_success() {
    let c = config();
    let ops = OpsFacts {
        endpoints_refusing: vec![EndpointRefusing {
            endpoint: "cpoms".into(),
            reason: "HTTP 401: the endpoint refused apsync's credentials; check [endpoint.auth]".into(),
            since: t("2026-03-02T09:00:00Z"),
        }],
        ..OpsFacts::default()
    };
    let e = run_ops(&c, "2026-03-02T12:00:00Z", &[], &[], &ops);
    let found = of(&e, Rule::Operations);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].key, "endpoint:cpoms:2026-03-02");
    assert_eq!(found[0].roles, [Role::It]);
    assert!(found[0].detail.what.contains("HTTP 401"), "{:?}", found[0].detail);
    let open = opened(&[Change::Raise(found[0].clone())], "2026-03-02T12:00:00Z").remove(0);
    // Still refusing later that day: nothing new; a success: resolved.
    let later = ops_only(diff(
        run_ops(&c, "2026-03-02T15:00:00Z", &[], &[], &ops),
        std::slice::from_ref(&open),
    ));
    assert!(later.is_empty(), "{later:?}");
    let fixed = ops_only(diff(
        run_ops(&c, "2026-03-02T16:00:00Z", &[], &[], &OpsFacts::default()),
        std::slice::from_ref(&open),
    ));
    assert!(matches!(fixed.as_slice(), [Change::Resolve(_)]), "{fixed:?}");
    // Still refusing the next day: yesterday's closes quietly and today's is raised, so IT
    // hears once a day.
    let next_day = ops_only(diff(run_ops(&c, "2026-03-03T09:00:00Z", &[], &[], &ops), &[open]));
    assert!(
        matches!(next_day.as_slice(), [Change::Raise(c), Change::Lapse(_)] if c.key == "endpoint:cpoms:2026-03-03"),
        "{next_day:?}"
    );
}

#[test]
fn the_digest_is_due_once_a_week_from_monday_morning() {
    let c = config();
    assert_eq!(digest_due(c.rule_settings(), t("2026-03-09T06:59:00Z")), None);
    assert_eq!(
        digest_due(c.rule_settings(), t("2026-03-09T07:00:00Z")).as_deref(),
        Some("digest:2026-W11")
    );
    assert_eq!(
        digest_due(c.rule_settings(), t("2026-03-13T16:00:00Z")).as_deref(),
        Some("digest:2026-W11")
    );
}

#[test]
fn one_set_of_periods_for_the_digest_the_rule_and_the_report() {
    use crate::rules::{Periods, Span};
    let c = config();
    let cal = &c.calendar;
    let span = |from: &str, to: &str| Span {
        from: d(from),
        to: d(to),
    };
    // A Friday send: every period runs to Friday, the week is this one.
    let friday = Periods::on(cal, d("2026-03-13"), 20).unwrap();
    assert_eq!(friday.day, d("2026-03-13"));
    assert_eq!(friday.week, span("2026-03-09", "2026-03-13"));
    assert_eq!(friday.term, span("2026-01-05", "2026-03-13"));
    assert_eq!(friday.window, Span::last_school_days(cal, d("2026-03-13"), 20));
    assert_eq!(cal.school_days(friday.window.from, friday.window.to).count(), 20);
    assert_eq!(friday.term_weeks().last(), Some(&friday.week));
    assert_eq!(friday.term_weeks().first().map(|w| w.from), Some(d("2026-01-05")));
    // A Monday-morning send reports the week just ended; term and window run to today.
    let monday = Periods::on(cal, d("2026-03-16"), 20).unwrap();
    assert_eq!(monday.week, span("2026-03-09", "2026-03-15"));
    assert_eq!(monday.term, span("2026-01-05", "2026-03-16"));
    assert_eq!(monday.term_weeks().last(), Some(&monday.week));
    // A Saturday: the latest school day is Friday.
    let saturday = Periods::on(cal, d("2026-03-14"), 20).unwrap();
    assert_eq!(
        (saturday.day, saturday.week),
        (d("2026-03-13"), span("2026-03-09", "2026-03-13"))
    );
}
