//! Visit overdue: a pupil placed today with no visit logged within the agreed interval
//! (`[alerts.visit_overdue] interval_days`, calendar days), counted from the later of their last
//! visit and the start of the placement (so a new placement has the whole interval for its first
//! visit).
//!
//! One alert per pupil and provider, keyed `UPN:PROVIDER`: a visit logged resolves it (and that
//! is said); a placement that ends, or a pupil who leaves the roll, takes it out of view and it
//! closes quietly. It is raised on school days only, so nobody is told during a holiday, but an
//! alert already open stays open through one.

use chrono::{Days, NaiveDate};

use super::RuleSettings;
use super::{Condition, Detail, Evaluation, Facts, Rule, day_label, local, pupil_label};
use crate::roster::PlacementRecord;
use crate::roster::StoredPupil;
use crate::visits::LastVisit;

/// A placed pupil whose visit is overdue.
#[derive(Debug, Clone, PartialEq)]
pub struct OverdueVisit<'a> {
    /// The pupil.
    pub pupil: &'a StoredPupil,
    /// The provider they are placed with.
    pub provider_id: &'a str,
    /// The day of their last visit (school time), if one was logged.
    pub last_visit: Option<NaiveDate>,
    /// The start of the placement active today.
    pub placement_start: NaiveDate,
    /// The last day a visit was due by: `interval_days` after the later of the two above.
    pub due: NaiveDate,
}

impl OverdueVisit<'_> {
    /// Whether the interval is counted from the last visit (rather than the placement's start).
    pub fn counts_from_visit(&self) -> bool {
        self.last_visit.is_some_and(|v| v >= self.placement_start)
    }

    /// `last visit Mon 2 Feb`, or `no visit since the placement began Mon 5 Jan`.
    pub fn since_text(&self) -> String {
        match self.last_visit {
            Some(v) if self.counts_from_visit() => format!("last visit {}", day_label(v)),
            _ => format!("no visit since the placement began {}", day_label(self.placement_start)),
        }
    }
}

/// The placed pupils (per `last_visits`, as the store answers for `today`) whose visit is overdue
/// on `today`: no visit for more than `interval_days` since the later of the last visit and the
/// start of the placement active today. In the order of `last_visits`.
pub fn overdue_visits<'a>(
    settings: RuleSettings<'_>,
    today: NaiveDate,
    pupils: &'a [StoredPupil],
    placements: &[PlacementRecord],
    last_visits: &'a [LastVisit],
) -> Vec<OverdueVisit<'a>> {
    let interval = Days::new(u64::from(settings.alerts.visit_interval_days));
    let mut out = Vec::new();
    for lv in last_visits {
        let Some(pupil) = pupils.iter().find(|p| p.on_roll && p.record.upn.as_str() == lv.upn) else {
            continue;
        };
        let Some(placement_start) = placements
            .iter()
            .filter(|p| p.upn.as_str() == lv.upn && p.provider_id == lv.provider_id && p.is_active_on(today))
            .map(|p| p.start)
            .max()
        else {
            continue;
        };
        let last_visit = lv
            .last_visit
            .map(|t| t.with_timezone(&settings.school.timezone).date_naive());
        let since = last_visit.map_or(placement_start, |v| v.max(placement_start));
        let Some(due) = since.checked_add_days(interval) else {
            continue;
        };
        if today > due {
            out.push(OverdueVisit {
                pupil,
                provider_id: &lv.provider_id,
                last_visit,
                placement_start,
                due,
            });
        }
    }
    out
}

/// The key of a placed pupil's alert.
fn key(upn: &str, provider_id: &str) -> String {
    format!("{upn}:{provider_id}")
}

pub(super) fn evaluate(f: &Facts<'_>, out: &mut Evaluation) {
    let a = &f.settings.alerts;
    if !a.visit_overdue.enabled {
        return;
    }
    let (today, _) = local(f.settings, f.now);
    out.in_view.insert(
        Rule::VisitOverdue,
        f.last_visits.iter().map(|lv| key(&lv.upn, &lv.provider_id)).collect(),
    );
    let school_day = f.settings.calendar.is_school_day(today);
    for o in overdue_visits(f.settings, today, f.pupils, f.placements, f.last_visits) {
        let upn = o.pupil.record.upn.as_str();
        let provider = f
            .settings
            .provider(o.provider_id)
            .map_or_else(|| o.provider_id.to_string(), |p| p.name.clone());
        let full = |d: NaiveDate| d.format("%a %-d %b %Y").to_string();
        let days = a.visit_interval_days;
        let what = match o.last_visit {
            Some(v) if o.counts_from_visit() => format!(
                "The last visit logged for this pupil was on {}; visits are agreed at least every {days} days, so the next was due by {}.",
                full(v),
                full(o.due)
            ),
            _ => format!(
                "No visit has been logged since the placement began on {}; visits are agreed at least every {days} days, so the first was due by {}.",
                full(o.placement_start),
                full(o.due)
            ),
        };
        out.conditions.push(Condition {
            rule: Rule::VisitOverdue,
            key: key(upn, o.provider_id),
            level: 0,
            roles: a.visit_overdue.roles.clone(),
            about: None,
            raise: school_day,
            upn: Some(upn.to_string()),
            provider: Some(o.provider_id.to_string()),
            detail: Detail {
                title: format!(
                    "Visit overdue: {} at {provider}, {}",
                    pupil_label(o.pupil),
                    o.since_text()
                ),
                pupil: Some(pupil_label(o.pupil)),
                admission_number: Some(o.pupil.record.admission_number.clone()),
                provider: Some(provider),
                when: Some(format!("due by {}", day_label(o.due))),
                what,
                expected: "Arrange a visit to the pupil at the provision, then log it (the visit form, the API or `apsync visit add`).".into(),
            },
        });
    }
}
