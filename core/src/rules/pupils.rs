//! The rules about pupils: absence, missing return, consecutive absence, below target, stale N,
//! unauthorised sessions.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::{Condition, Detail, Evaluation, Facts, Rule, Span, day_label, local};
use crate::domain::{AttendanceSummary, Code, Session, StatCategory, format_pct};
use crate::register::Mark;
use crate::roster::PlacementRecord;
use crate::roster::StoredPupil;
use crate::settings::{ProviderConfig, Role};

/// How far back (school days) a run of absences is followed.
pub(super) const CONSECUTIVE_LOOKBACK: u32 = 60;

type MarkMap<'a> = HashMap<(&'a str, NaiveDate, Session), (Code, &'a str)>;

struct Ctx<'a> {
    f: &'a Facts<'a>,
    marks: MarkMap<'a>,
    today: NaiveDate,
    latest: NaiveDate,
    previous: NaiveDate,
}

pub(super) fn evaluate(f: &Facts<'_>, out: &mut Evaluation) {
    let (today, _) = local(f.settings, f.now);
    let cal = &f.settings.calendar;
    let latest = if cal.is_school_day(today) {
        Some(today)
    } else {
        cal.previous_school_day(today)
    };
    let Some(latest) = latest else { return };
    let previous = cal.previous_school_day(latest).unwrap_or(latest);
    let marks: MarkMap<'_> = f
        .marks
        .iter()
        .map(|m| ((m.upn.as_str(), m.date, m.session), (m.code, m.provider.as_str())))
        .collect();
    let ctx = Ctx {
        f,
        marks,
        today,
        latest,
        previous,
    };
    // Absences and missing returns stay in view for the latest school day and the one before, so
    // a correction the next morning still resolves them (and says so).
    out.coverage.insert(Rule::Absence, previous);
    out.coverage.insert(Rule::MissingReturn, previous);
    let a = &f.settings.alerts;
    for pupil in f.pupils.iter().filter(|p| p.on_roll) {
        let upn = pupil.record.upn.as_str();
        let placements: Vec<&PlacementRecord> = f.placements.iter().filter(|p| p.upn.as_str() == upn).collect();
        if placements.is_empty() {
            continue;
        }
        if a.absence.enabled {
            ctx.absence(pupil, out);
        }
        if a.missing_return.enabled {
            ctx.missing(pupil, &placements, out);
        }
        if a.consecutive.enabled {
            ctx.consecutive(pupil, &placements, out);
        }
        if a.below_target.enabled {
            ctx.below_target(pupil, &placements, out);
        }
        if a.stale_n.enabled {
            ctx.stale_n(pupil, out);
        }
        if a.unauthorised.enabled {
            ctx.unauthorised(pupil, &placements, out);
        }
    }
}

/// How emails name a pupil: preferred forename, surname initial and year group, `Jayden C. (Y10)`.
pub fn pupil_label(p: &StoredPupil) -> String {
    let initial = p
        .record
        .legal_surname
        .chars()
        .next()
        .map(|c| format!(" {c}."))
        .unwrap_or_default();
    let year = p.record.year_group.map(|y| format!(" (Y{y})")).unwrap_or_default();
    format!("{}{initial}{year}", p.record.forename())
}

impl Ctx<'_> {
    fn provider(&self, id: &str) -> Option<&ProviderConfig> {
        self.f.settings.provider(id)
    }

    fn provider_name(&self, id: &str) -> String {
        self.provider(id).map_or_else(|| id.to_string(), |p| p.name.clone())
    }

    #[allow(clippy::too_many_arguments)]
    fn condition(
        &self,
        rule: Rule,
        key: String,
        level: u8,
        roles: Vec<Role>,
        pupil: &StoredPupil,
        provider: Option<&str>,
        when: Option<String>,
        title: String,
        what: String,
        expected: &str,
    ) -> Condition {
        Condition {
            rule,
            key,
            level,
            roles,
            about: None,
            raise: true,
            upn: Some(pupil.record.upn.as_str().to_string()),
            provider: provider.map(str::to_string),
            detail: Detail {
                title,
                pupil: Some(pupil_label(pupil)),
                admission_number: Some(pupil.record.admission_number.clone()),
                provider: provider.map(|p| self.provider_name(p)),
                when,
                what,
                expected: expected.to_string(),
            },
        }
    }

    fn absence(&self, pupil: &StoredPupil, out: &mut Evaluation) {
        let upn = pupil.record.upn.as_str();
        let roles = self.f.settings.alerts.absence.roles.clone();
        for date in [self.previous, self.latest] {
            for session in Session::BOTH {
                let Some((code, provider)) = self.marks.get(&(upn, date, session)) else {
                    continue;
                };
                if !code.is_absence() {
                    continue;
                }
                let when = format!("{} {session}", day_label(date));
                let title = format!(
                    "Absent: {} at {}, {when}",
                    pupil_label(pupil),
                    self.provider_name(provider)
                );
                let mut c = self.condition(
                    Rule::Absence,
                    format!("{upn}:{date}:{session}"),
                    0,
                    roles.clone(),
                    pupil,
                    Some(provider),
                    Some(when),
                    title,
                    "The provider reports the pupil absent from this session.".into(),
                    "Contact the parents today (first-day calling) and record the reason in the school's register.",
                );
                c.about = Some(date);
                c.raise = date == self.latest;
                out.conditions.push(c);
            }
        }
    }

    fn missing(&self, pupil: &StoredPupil, placements: &[&PlacementRecord], out: &mut Evaluation) {
        let a = &self.f.settings.alerts;
        let (_, time) = local(self.f.settings, self.f.now);
        let upn = pupil.record.upn.as_str();
        let cal = &self.f.settings.calendar;
        for date in [self.previous, self.latest] {
            if !cal.is_school_day(date) {
                continue;
            }
            for session in Session::BOTH {
                let Some(placement) = placements.iter().find(|p| p.expects(date, session)) else {
                    continue;
                };
                if self.marks.contains_key(&(upn, date, session)) {
                    continue;
                }
                let provider = self.provider(&placement.provider_id);
                let deadline = match session {
                    Session::Am => provider.and_then(|p| p.alerts.am_deadline).unwrap_or(a.am_deadline),
                    Session::Pm => provider.and_then(|p| p.alerts.pm_deadline).unwrap_or(a.pm_deadline),
                };
                let past_day = date < self.today;
                if !past_day && time < deadline {
                    continue;
                }
                let escalated = past_day || time >= a.end_of_day;
                let mut roles = a.missing_return.roles.clone();
                if escalated {
                    roles.extend(a.missing_escalate_to.iter().copied());
                    roles.sort();
                    roles.dedup();
                }
                let when = format!("{} {session}", day_label(date));
                let name = self.provider_name(&placement.provider_id);
                let (title, expected) = if escalated {
                    (
                        format!("Still no return: {} at {name}, {when}", pupil_label(pupil)),
                        "The school day has ended and the school still does not know where this pupil was: DSL, decide what to do now.",
                    )
                } else {
                    (
                        format!("No return: {} at {name}, {when}", pupil_label(pupil)),
                        "Ask the provider now whether the pupil is there; if nobody knows, follow the missing-pupil procedure.",
                    )
                };
                let what = format!(
                    "The provider has not said whether the pupil attended this session; its deadline was {}.",
                    deadline.format("%H:%M")
                );
                let mut c = self.condition(
                    Rule::MissingReturn,
                    format!("{upn}:{date}:{session}"),
                    u8::from(escalated),
                    roles,
                    pupil,
                    Some(&placement.provider_id),
                    Some(when),
                    title,
                    what,
                    expected,
                );
                c.about = Some(date);
                c.raise = date == self.latest;
                out.conditions.push(c);
            }
        }
    }

    /// The pupil's expected sessions, latest first, back to the lookback.
    fn expected_backwards(&self, placements: &[&PlacementRecord], days: u32) -> Vec<(NaiveDate, Session)> {
        let cal = &self.f.settings.calendar;
        let mut out = Vec::new();
        let mut date = Some(self.latest);
        for _ in 0..days {
            let Some(d) = date else { break };
            for session in [Session::Pm, Session::Am] {
                if placements.iter().any(|p| p.expects(d, session)) {
                    out.push((d, session));
                }
            }
            date = cal.previous_school_day(d);
        }
        out
    }

    fn consecutive(&self, pupil: &StoredPupil, placements: &[&PlacementRecord], out: &mut Evaluation) {
        let a = &self.f.settings.alerts;
        let upn = pupil.record.upn.as_str();
        let mut run: Vec<(NaiveDate, Session, &str)> = Vec::new();
        let mut seen_mark = false;
        for (date, session) in self.expected_backwards(placements, CONSECUTIVE_LOOKBACK) {
            match self.marks.get(&(upn, date, session)) {
                // Sessions not yet returned at the end do not break (or start) a run.
                None if !seen_mark => continue,
                None => break,
                Some((code, provider)) => {
                    seen_mark = true;
                    match code.category() {
                        StatCategory::NotCounted => continue,
                        c if c.is_absence() => run.push((date, session, provider)),
                        _ => break,
                    }
                }
            }
        }
        let n = u32::try_from(run.len()).unwrap_or(u32::MAX);
        if n < a.consecutive_sessions {
            return;
        }
        let Some(&(start_date, start_session, provider)) = run.last() else {
            return;
        };
        let since = format!("{} {start_session}", day_label(start_date));
        let title = format!(
            "Absent {n} sessions in a row: {} at {}, since {since}",
            pupil_label(pupil),
            self.provider_name(provider)
        );
        out.conditions.push(self.condition(
            Rule::ConsecutiveAbsence,
            format!("{upn}:{start_date}:{start_session}"),
            0,
            a.consecutive.roles.clone(),
            pupil,
            Some(provider),
            Some(format!("since {since}")),
            title,
            format!("The pupil has been absent from {n} expected sessions in a row."),
            "Check the pupil is safe: contact the family and the provider, and consider a home visit.",
        ));
    }

    /// The pupil's attendance over the last `days` school days to the latest school day, as every
    /// report counts it ([`super::Periods::window`]), so the alert's figure is the digest's.
    fn summary(&self, upn: &str, days: u32) -> AttendanceSummary {
        let span = Span::last_school_days(self.f.settings.calendar, self.latest, days);
        span.summary(
            self.marks
                .iter()
                .filter(|((u, ..), _)| *u == upn)
                .map(|((_, d, _), (c, _))| (*d, c)),
        )
    }

    fn below_target(&self, pupil: &StoredPupil, placements: &[&PlacementRecord], out: &mut Evaluation) {
        let a = &self.f.settings.alerts;
        let upn = pupil.record.upn.as_str();
        let s = self.summary(upn, a.below_window_days);
        let Some(pct) = s.attendance_pct().filter(|_| s.possible >= a.below_min_sessions) else {
            return;
        };
        let thresholds = [self.f.settings.school.attendance_target, a.persistent, a.severe];
        // Level 1 below target, 2 persistent, 3 severe; the target is "below", the others "at or below".
        let raw = match pct {
            p if p <= a.severe => 3,
            p if p <= a.persistent => 2,
            p if p < thresholds[0] => 1,
            _ => 0,
        };
        let open = self
            .f
            .open
            .iter()
            .find(|o| o.rule == Rule::BelowTarget && o.key == upn)
            .map_or(0, |o| o.level.min(3));
        let level = hysteresis(raw, open, pct, &thresholds, a.hysteresis);
        if level == 0 {
            return;
        }
        let provider = placements.last().map(|p| p.provider_id.as_str());
        let name = provider.map(|p| self.provider_name(p)).unwrap_or_default();
        let heading = ["", "Below target", "Persistent absence", "Severe absence"][usize::from(level)];
        let pct_text = format_pct(Some(pct));
        let title = format!(
            "{heading}: {} at {name}, {pct_text}% over {} school days",
            pupil_label(pupil),
            a.below_window_days
        );
        let what = format!(
            "Attendance at the provision was {pct_text}% ({} of {} sessions) over the last {} school days; the school's target is {}%.",
            s.attended,
            s.possible,
            a.below_window_days,
            format_pct(Some(thresholds[0]))
        );
        out.conditions.push(self.condition(
            Rule::BelowTarget,
            upn.to_string(),
            level,
            a.below_target.roles.clone(),
            pupil,
            provider,
            None,
            title,
            what,
            "Arrange or review the attendance intervention for this pupil with the provider and the family.",
        ));
    }

    fn stale_n(&self, pupil: &StoredPupil, out: &mut Evaluation) {
        let a = &self.f.settings.alerts;
        let upn = pupil.record.upn.as_str();
        let cal = &self.f.settings.calendar;
        let mut stale: Vec<_> = self
            .f
            .marks
            .iter()
            .filter(|m| {
                m.upn == upn && m.code == Code::N && cal.school_days_between(m.date, self.today) >= a.stale_n_days
            })
            .collect();
        stale.sort_by_key(|m| (m.date, m.session));
        for Mark {
            date,
            session,
            provider,
            ..
        } in stale
        {
            let when = format!("{} {session}", day_label(*date));
            let title = format!(
                "N not replaced: {} at {}, {when}",
                pupil_label(pupil),
                self.provider_name(provider)
            );
            out.conditions.push(self.condition(
                Rule::StaleN,
                format!("{upn}:{date}:{session}"),
                0,
                a.stale_n.roles.clone(),
                pupil,
                Some(provider),
                Some(when),
                title,
                format!(
                    "This session is still recorded as N (reason not yet provided) after {} school days or more.",
                    a.stale_n_days
                ),
                "Establish the reason with the family or the provider and record the right code.",
            ));
        }
    }

    fn unauthorised(&self, pupil: &StoredPupil, placements: &[&PlacementRecord], out: &mut Evaluation) {
        let a = &self.f.settings.alerts;
        let upn = pupil.record.upn.as_str();
        let s = self.summary(upn, a.unauthorised_weeks.saturating_mul(5));
        if s.unauthorised < a.unauthorised_sessions {
            return;
        }
        let provider = placements.last().map(|p| p.provider_id.as_str());
        let title = format!(
            "{} unauthorised sessions in {} school weeks: {}",
            s.unauthorised,
            a.unauthorised_weeks,
            pupil_label(pupil)
        );
        out.conditions.push(self.condition(
            Rule::Unauthorised,
            upn.to_string(),
            0,
            a.unauthorised.roles.clone(),
            pupil,
            provider,
            None,
            title,
            format!(
                "The pupil has {} unauthorised absences within the last {} school weeks (the national threshold for considering a penalty notice is {}).",
                s.unauthorised, a.unauthorised_weeks, a.unauthorised_sessions
            ),
            "Review the case under the school's attendance policy and the local authority's code of conduct.",
        ));
    }
}

/// The level to hold, given the level the figure alone says (`raw`), the level open now, and the
/// thresholds (target, persistent, severe): a worse level is taken at once; an open level is left
/// only once the figure is `band` points clear of its threshold.
pub(super) fn hysteresis(raw: u8, open: u8, pct: f64, thresholds: &[f64; 3], band: f64) -> u8 {
    if raw >= open {
        return raw;
    }
    let mut level = open;
    while level > raw {
        let threshold = thresholds[usize::from(level - 1)];
        let clear = if level == 1 {
            pct >= threshold + band
        } else {
            pct > threshold + band
        };
        if !clear {
            break;
        }
        level -= 1;
    }
    level
}

#[cfg(test)]
mod tests {
    use super::hysteresis;

    #[test]
    fn below_target_holds_its_level_inside_the_hysteresis_band() {
        let th = [95.0, 90.0, 50.0];
        assert_eq!(hysteresis(1, 0, 94.0, &th, 2.0), 1, "worse is taken at once");
        assert_eq!(hysteresis(0, 1, 96.0, &th, 2.0), 1, "95 + 2 not reached: stays");
        assert_eq!(hysteresis(0, 1, 97.0, &th, 2.0), 0, "clear");
        assert_eq!(hysteresis(1, 2, 91.0, &th, 2.0), 2, "persistent until above 92");
        assert_eq!(hysteresis(1, 2, 93.0, &th, 2.0), 1);
        assert_eq!(hysteresis(0, 3, 99.0, &th, 2.0), 0);
        assert_eq!(hysteresis(3, 1, 40.0, &th, 2.0), 3);
    }
}
