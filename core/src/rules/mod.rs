//! The alert rules, pure: the register's facts, the calendar, the placements, the thresholds and
//! "now" in; the conditions that hold out, each under a stable key. [`diff`] compares them with
//! the alerts already open and says what to raise, escalate, resolve (said in an email) or let
//! lapse (closed quietly, because it fell out of the window the rule looks at).
//!
//! Nothing here reads a clock or a database; `crate::alerts` (the runtime) does both.

mod ops;
mod periods;
mod pupils;
mod visits;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::SchoolCalendar;
use crate::settings::{AlertsConfig, ProviderConfig, Role, School};

use crate::register::Mark;
use crate::roster::PlacementRecord;
use crate::roster::StoredPupil;
use crate::visits::LastVisit;

pub use ops::{EndpointRefusing, OpsFacts, RefusedToday, digest_due};
pub use periods::{Periods, Span, monday};
pub use pupils::pupil_label;
pub use visits::{OverdueVisit, overdue_visits};

/// The rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// An absence mark for the latest school day (first-day calling).
    Absence,
    /// An expected session unmarked after the provider's deadline.
    MissingReturn,
    /// N absent sessions in a row.
    ConsecutiveAbsence,
    /// Attendance over a rolling window below target, persistent or severe.
    BelowTarget,
    /// An N not replaced after some school days.
    StaleN,
    /// Many unauthorised sessions within some school weeks.
    Unauthorised,
    /// A placed pupil with no visit logged within the agreed interval.
    VisitOverdue,
    /// A provider's QA approval or policy expiring or expired.
    ProviderCompliance,
    /// Something IT must look at.
    Operations,
}

impl Rule {
    /// Every rule.
    pub const ALL: [Rule; 9] = [
        Rule::Absence,
        Rule::MissingReturn,
        Rule::ConsecutiveAbsence,
        Rule::BelowTarget,
        Rule::StaleN,
        Rule::Unauthorised,
        Rule::VisitOverdue,
        Rule::ProviderCompliance,
        Rule::Operations,
    ];

    /// As stored: `missing-return`.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Absence => "absence",
            Rule::MissingReturn => "missing-return",
            Rule::ConsecutiveAbsence => "consecutive-absence",
            Rule::BelowTarget => "below-target",
            Rule::StaleN => "stale-n",
            Rule::Unauthorised => "unauthorised",
            Rule::VisitOverdue => "visit-overdue",
            Rule::ProviderCompliance => "provider-compliance",
            Rule::Operations => "operations",
        }
    }

    /// The rule stored as `text`.
    pub fn parse(text: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// What an email may say about an alert: never a UPN, a date of birth, an absence reason or
/// safeguarding text. Pupils are named by preferred forename and surname initial, with the
/// school's admission number and year group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detail {
    /// The subject line without the `[apsync]` prefix: sortable, specific.
    pub title: String,
    /// `Jayden C. (Y10)`.
    pub pupil: Option<String>,
    /// The school's admission number.
    pub admission_number: Option<String>,
    /// The provider's name.
    pub provider: Option<String>,
    /// The date and session, e.g. `Mon 2 Mar AM`.
    pub when: Option<String>,
    /// What happened.
    pub what: String,
    /// What is expected of the reader.
    pub expected: String,
}

/// A condition that holds now.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The rule.
    pub rule: Rule,
    /// Stable within the rule: the same situation always gets the same key.
    pub key: String,
    /// 0 normally; higher is worse (escalated at end of day, persistent, severe, expired).
    pub level: u8,
    /// Who is told.
    pub roles: Vec<Role>,
    /// The school day it is about, for lapsing.
    pub about: Option<NaiveDate>,
    /// Whether to raise it if not open (false for conditions only kept to be resolved).
    pub raise: bool,
    /// The pupil (internal only: never in an email).
    pub upn: Option<String>,
    /// The provider's id.
    pub provider: Option<String>,
    /// What the email says.
    pub detail: Detail,
}

/// An alert already open.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenAlert {
    /// Its row.
    pub id: i64,
    /// The rule.
    pub rule: Rule,
    /// Its key.
    pub key: String,
    /// Its level.
    pub level: u8,
    /// Who was told.
    pub roles: Vec<Role>,
    /// The day it is about.
    pub about: Option<NaiveDate>,
    /// When it was raised.
    pub first_seen: DateTime<Utc>,
    /// The pupil.
    pub upn: Option<String>,
    /// The provider.
    pub provider: Option<String>,
    /// What the last email said.
    pub detail: Detail,
}

/// What one evaluation found: the conditions, and per rule what it still looks at: the first
/// day, or the keys of the subjects it watches (open alerts about earlier days, or about subjects
/// no longer watched, lapse quietly instead of being declared resolved).
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// Conditions that hold.
    pub conditions: Vec<Condition>,
    /// Per rule, the earliest day still in view.
    pub coverage: HashMap<Rule, NaiveDate>,
    /// Per rule that watches subjects (a placed pupil), the keys of those it still watches.
    pub in_view: HashMap<Rule, HashSet<String>>,
}

/// The parts of the checked configuration the rules read: the school (its time zone and
/// attendance target), the calendar, every rule's thresholds and roles, and the providers (return
/// deadlines, policy dates). The `apsync` crate's `Config::rule_settings` lends them.
#[derive(Debug, Clone, Copy)]
pub struct RuleSettings<'a> {
    /// `[school]`.
    pub school: &'a School,
    /// `[calendar]`.
    pub calendar: &'a SchoolCalendar,
    /// `[alerts]`.
    pub alerts: &'a AlertsConfig,
    /// `[[provider]]`.
    pub providers: &'a [ProviderConfig],
}

impl<'a> RuleSettings<'a> {
    /// The provider with this id.
    pub fn provider(&self, id: &str) -> Option<&'a ProviderConfig> {
        self.providers.iter().find(|p| p.id == id)
    }
}

/// What the register and the roster say, for the pupil rules.
pub struct Facts<'a> {
    /// The school, calendar, thresholds and providers.
    pub settings: RuleSettings<'a>,
    /// "Now".
    pub now: DateTime<Utc>,
    /// Pupils (off-roll ones are ignored).
    pub pupils: &'a [StoredPupil],
    /// Placements.
    pub placements: &'a [PlacementRecord],
    /// Marks since [`Facts::marks_from`].
    pub marks: &'a [Mark],
    /// The alerts open now (for hysteresis).
    pub open: &'a [OpenAlert],
    /// Connector, outbox and review facts.
    pub ops: &'a OpsFacts,
    /// Each pupil placed today with their latest visit (`Store::last_visit_per_placed_pupil`).
    pub last_visits: &'a [LastVisit],
}

impl Facts<'_> {
    /// The first day whose marks the rules need, given the configuration and now.
    pub fn marks_from(settings: RuleSettings<'_>, now: DateTime<Utc>) -> NaiveDate {
        let today = local(settings, now).0;
        let a = &settings.alerts;
        let span = a
            .below_window_days
            .max(a.unauthorised_weeks.saturating_mul(5))
            .max(pupils::CONSECUTIVE_LOOKBACK)
            .max(a.stale_n_days.saturating_mul(4));
        settings
            .calendar
            .sub_school_days(today, span)
            .unwrap_or_else(|| settings.calendar.terms().first().map_or(today, |t| t.start))
    }
}

/// The school's local date and time at `now`.
pub fn local(settings: RuleSettings<'_>, now: DateTime<Utc>) -> (NaiveDate, NaiveTime) {
    let t = now.with_timezone(&settings.school.timezone);
    (t.date_naive(), t.time())
}

/// Evaluates every enabled rule.
pub fn evaluate(facts: &Facts<'_>) -> Evaluation {
    let mut out = Evaluation::default();
    pupils::evaluate(facts, &mut out);
    visits::evaluate(facts, &mut out);
    ops::evaluate(facts, &mut out);
    out
}

/// What to do about one alert.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Newly true: open it and tell its roles.
    Raise(Condition),
    /// Worse than when raised: tell the (possibly wider) roles.
    Escalate(OpenAlert, Condition),
    /// Better but not cleared (hysteresis band), or same level with new details: update quietly.
    Update(OpenAlert, Condition),
    /// Cleared: close it and say so to those told.
    Resolve(OpenAlert),
    /// Out of the rule's view (an earlier day): close it quietly.
    Lapse(OpenAlert),
}

impl Change {
    /// Whether the change is said in an email.
    pub fn is_said(&self) -> bool {
        matches!(self, Change::Raise(_) | Change::Escalate(..) | Change::Resolve(_))
    }
}

/// Compares what holds with what is open. Alerts still holding at the same level and with the
/// same details produce no change at all.
pub fn diff(evaluation: Evaluation, open: &[OpenAlert]) -> Vec<Change> {
    let by_key: HashMap<(Rule, &str), &OpenAlert> = open.iter().map(|a| ((a.rule, a.key.as_str()), a)).collect();
    let mut holding = HashSet::new();
    let mut changes = Vec::new();
    for c in evaluation.conditions {
        holding.insert((c.rule, c.key.clone()));
        match by_key.get(&(c.rule, c.key.as_str())) {
            Some(a) if c.level > a.level => changes.push(Change::Escalate((*a).clone(), c)),
            Some(a) if c.level < a.level || c.detail != a.detail => changes.push(Change::Update((*a).clone(), c)),
            Some(_) => {}
            None if c.raise => changes.push(Change::Raise(c)),
            None => {}
        }
    }
    for a in open {
        if holding.contains(&(a.rule, a.key.clone())) {
            continue;
        }
        let before_view = match (evaluation.coverage.get(&a.rule), a.about) {
            (Some(first), Some(about)) => about < *first,
            _ => false,
        };
        let unwatched = evaluation
            .in_view
            .get(&a.rule)
            .is_some_and(|keys| !keys.contains(&a.key));
        let out_of_view = before_view || unwatched;
        changes.push(if out_of_view {
            Change::Lapse(a.clone())
        } else {
            Change::Resolve(a.clone())
        });
    }
    changes
}

/// `Mon 2 Mar`.
pub fn day_label(d: NaiveDate) -> String {
    d.format("%a %-d %b").to_string()
}
