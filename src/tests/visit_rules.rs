//! The visit-overdue rule on small hand-made placements, with the example configuration's
//! calendar and interval (the other rules are in `rules.rs`).

use crate::config::Config;
use crate::roster::PlacementRecord;
use crate::rules::*;
use crate::settings::Role;
use crate::store::LastVisit;

use super::rules::{JAYDEN, config, d, of, opened, placement, pupil, t};

/// The visit rule alone (the other rules' conditions are dropped: there are no marks): `placements`
/// and the store's answer for today, `last_visits`.
fn run_visits(
    config: &Config,
    now: &str,
    placements: &[PlacementRecord],
    last_visits: &[LastVisit],
    open: &[OpenAlert],
) -> Evaluation {
    let pupils = [pupil()];
    let mut e = evaluate(&Facts {
        settings: config.rule_settings(),
        now: t(now),
        pupils: &pupils,
        placements,
        marks: &[],
        open,
        ops: &OpsFacts::default(),
        last_visits,
    });
    e.conditions.retain(|c| c.rule == Rule::VisitOverdue);
    e
}

/// What the store answers for a pupil placed today with bright-futures.
fn last_visit(at: Option<&str>) -> Vec<LastVisit> {
    vec![LastVisit {
        upn: JAYDEN.into(),
        admission_number: "002102".into(),
        provider_id: "bright-futures".into(),
        last_visit: at.map(t),
    }]
}

#[test]
fn a_visit_is_overdue_the_day_after_the_interval_from_the_last_visit() {
    let c = config();
    let visited = last_visit(Some("2026-02-02T10:00:00Z"));
    // Mon 2 Feb + 42 days = Mon 16 Mar: still within the interval.
    let e = run_visits(&c, "2026-03-16T12:00:00Z", &[placement()], &visited, &[]);
    assert!(of(&e, Rule::VisitOverdue).is_empty());
    let e = run_visits(&c, "2026-03-17T08:00:00Z", &[placement()], &visited, &[]);
    let overdue = of(&e, Rule::VisitOverdue);
    assert_eq!(overdue.len(), 1);
    let o = overdue[0];
    assert_eq!(o.key, format!("{JAYDEN}:bright-futures"));
    assert_eq!(o.roles, [Role::ApCoordinator]);
    assert!(o.raise);
    assert_eq!(
        o.detail.title,
        "Visit overdue: Jayden C. (Y10) at Bright Futures Training, last visit Mon 2 Feb"
    );
    assert_eq!(o.detail.when.as_deref(), Some("due by Mon 16 Mar"));
    assert_eq!(o.detail.admission_number.as_deref(), Some("002102"));
    let said = serde_json::to_string(&o.detail).unwrap();
    assert!(!said.contains(JAYDEN) && !said.contains("2011"), "{said}");
    assert!(matches!(diff(e, &[]).as_slice(), [Change::Raise(_)]));
}

#[test]
fn a_new_placement_has_the_whole_interval_for_its_first_visit() {
    let c = config();
    let mut p = placement();
    p.start = d("2026-03-02");
    // A visit during an earlier placement does not count: the interval runs from the start.
    let visited = last_visit(Some("2025-12-01T10:00:00Z"));
    assert!(
        of(
            &run_visits(&c, "2026-03-20T12:00:00Z", &[p.clone()], &visited, &[]),
            Rule::VisitOverdue
        )
        .is_empty()
    );
    assert!(
        of(
            &run_visits(&c, "2026-04-13T12:00:00Z", &[p.clone()], &visited, &[]),
            Rule::VisitOverdue
        )
        .is_empty()
    );
    let e = run_visits(&c, "2026-04-14T12:00:00Z", &[p.clone()], &visited, &[]);
    assert_eq!(
        of(&e, Rule::VisitOverdue)[0].detail.title,
        "Visit overdue: Jayden C. (Y10) at Bright Futures Training, no visit since the placement began Mon 2 Mar"
    );
    // Never visited at all: the same.
    let e = run_visits(&c, "2026-04-14T12:00:00Z", &[p], &last_visit(None), &[]);
    assert_eq!(of(&e, Rule::VisitOverdue).len(), 1);
}

#[test]
fn a_logged_visit_resolves_an_overdue_visit_and_a_backdated_one_only_updates_it() {
    let c = config();
    let now = "2026-03-17T08:00:00Z";
    let e = run_visits(&c, now, &[placement()], &last_visit(None), &[]);
    let open = opened(&diff(e, &[]), now);
    assert_eq!(open.len(), 1);
    // Nothing new: nothing to do.
    let again = run_visits(&c, "2026-03-17T15:00:00Z", &[placement()], &last_visit(None), &open);
    assert!(diff(again, &open).is_empty());
    // A visit logged late but dated long ago: still overdue, the same alert, told quietly.
    let old = last_visit(Some("2026-01-20T10:00:00Z"));
    let changes = diff(
        run_visits(&c, "2026-03-17T15:00:00Z", &[placement()], &old, &open),
        &open,
    );
    assert!(matches!(changes.as_slice(), [Change::Update(..)]), "{changes:?}");
    // A visit this morning: resolved, and that is said.
    let today = last_visit(Some("2026-03-17T09:30:00Z"));
    let changes = diff(
        run_visits(&c, "2026-03-17T15:00:00Z", &[placement()], &today, &open),
        &open,
    );
    assert!(
        matches!(changes.as_slice(), [Change::Resolve(a)] if a.rule == Rule::VisitOverdue),
        "{changes:?}"
    );
    assert!(changes[0].is_said());
}

#[test]
fn an_ended_placement_closes_an_overdue_visit_quietly() {
    let c = config();
    let now = "2026-03-17T08:00:00Z";
    let open = opened(
        &diff(run_visits(&c, now, &[placement()], &last_visit(None), &[]), &[]),
        now,
    );
    let mut ended = placement();
    ended.end = Some(d("2026-03-17"));
    // The store no longer lists the pupil as placed the day after.
    let changes = diff(run_visits(&c, "2026-03-18T08:00:00Z", &[ended], &[], &open), &open);
    assert!(matches!(changes.as_slice(), [Change::Lapse(_)]), "{changes:?}");
    assert!(!changes[0].is_said());
}

#[test]
fn an_overdue_visit_is_not_raised_on_a_holiday_but_stays_open_through_one() {
    let c = config();
    // Sat 21 Mar: overdue since 16 Feb, but nobody is told at the weekend.
    let sat = run_visits(&c, "2026-03-21T12:00:00Z", &[placement()], &last_visit(None), &[]);
    assert!(!of(&sat, Rule::VisitOverdue)[0].raise);
    assert!(diff(sat, &[]).is_empty());
    let now = "2026-03-20T12:00:00Z";
    let open = opened(
        &diff(run_visits(&c, now, &[placement()], &last_visit(None), &[]), &[]),
        now,
    );
    let sat = run_visits(&c, "2026-03-21T12:00:00Z", &[placement()], &last_visit(None), &open);
    assert!(diff(sat, &open).is_empty());
}

#[test]
fn the_visit_rule_can_be_turned_off() {
    let mut c = config();
    c.alerts.visit_overdue.enabled = false;
    let e = run_visits(&c, "2026-03-17T08:00:00Z", &[placement()], &last_visit(None), &[]);
    assert!(of(&e, Rule::VisitOverdue).is_empty());
}
