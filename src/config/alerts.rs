//! `[roles]` and `[alerts]`: who is told what, and every rule's thresholds; plus a provider's
//! return deadlines and policy dates (`[email]`, how mail leaves, is in `email.rs`). Raw shapes and their pure
//! validation live together here; `raw.rs` and `validate.rs` only hook them in.

use std::path::PathBuf;

use apsync_core::settings::{AlertsConfig, Expiry, ProviderAlerts, Role, RoleAddresses, Roles, Route};
use chrono::{NaiveTime, Weekday};
use serde::Deserialize;

use super::validate::Problems;

/// `[roles]` as written: each role's addresses.
#[derive(Debug, Default, Deserialize)]
pub struct RawRoles {
    /// Attendance administrator addresses.
    pub attendance_administrator: Option<Vec<String>>,
    /// AP coordinator addresses.
    pub ap_coordinator: Option<Vec<String>>,
    /// DSL addresses.
    pub dsl: Option<Vec<String>>,
    /// Head teacher addresses.
    pub head_teacher: Option<Vec<String>>,
    /// IT addresses.
    pub it: Option<Vec<String>>,
}

/// A rule's table with no thresholds of its own (`[alerts.absence]`): on or off, and who is told.
/// Each rule has its own table type, so a threshold written under the wrong rule is an unknown key.
#[derive(Debug, Default, Deserialize)]
pub struct RawRule {
    /// Whether the rule runs. Default true.
    pub enabled: Option<bool>,
    /// Roles told.
    pub roles: Option<Vec<String>>,
}

macro_rules! raw_rule {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident: $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Default, Deserialize)]
        pub struct $name {
            /// Whether the rule runs. Default true.
            pub enabled: Option<bool>,
            /// Roles told.
            pub roles: Option<Vec<String>>,
            $($(#[$fdoc])* pub $field: Option<$ty>,)*
        }
    };
}

raw_rule!(
    /// `[alerts.missing_return]`.
    RawMissingReturn {
        /// Roles told at the end of the day if still missing.
        escalate_to: Vec<String>,
        /// Default AM deadline (HH:MM) for providers without `return_deadline`.
        am_deadline: String,
        /// Default PM deadline (HH:MM) for providers without `pm_return_deadline`.
        pm_deadline: String,
        /// When the school day ends (HH:MM): still missing then escalates.
        end_of_day: String,
    }
);
raw_rule!(
    /// `[alerts.consecutive_absence]`.
    RawConsecutive {
        /// Sessions in a row.
        sessions: u32,
    }
);
raw_rule!(
    /// `[alerts.below_target]`.
    RawBelowTarget {
        /// The rolling window in school days.
        window_school_days: u32,
        /// Fewer possible sessions than this in the window say nothing.
        min_sessions: u32,
        /// Percentage points above a threshold needed to clear it.
        hysteresis: f64,
        /// The persistent-absence attendance threshold.
        persistent: f64,
        /// The severe-absence attendance threshold.
        severe: f64,
    }
);
raw_rule!(
    /// `[alerts.stale_n]`.
    RawStaleN {
        /// School days an N may stand.
        school_days: u32,
    }
);
raw_rule!(
    /// `[alerts.unauthorised]`.
    RawUnauthorised {
        /// Unauthorised sessions.
        sessions: u32,
        /// Within this many school weeks.
        school_weeks: u32,
    }
);
raw_rule!(
    /// `[alerts.provider_compliance]`.
    RawCompliance {
        /// Days ahead to warn.
        warn_days: u32,
    }
);
raw_rule!(
    /// `[alerts.visit_overdue]`.
    RawVisitOverdue {
        /// Calendar days a placed pupil may go without a logged visit, counted from the later of
        /// the last visit and the placement's start.
        interval_days: u32,
    }
);
raw_rule!(
    /// `[alerts.operations]`.
    RawOperations {
        /// Failed runs in a row of a connector.
        connector_failures: u32,
        /// Open review items above this.
        review_queue_max: u32,
        /// Oldest open review item older than this (hours).
        review_max_age_hours: u32,
    }
);
raw_rule!(
    /// `[alerts.digest]`.
    RawDigest {
        /// Day of the week (Mon..Sun).
        weekday: String,
        /// Time of day (HH:MM).
        time: String,
    }
);

/// `[alerts]` as written.
#[derive(Debug, Default, Deserialize)]
pub struct RawAlerts {
    /// A dashboard link put in emails.
    pub dashboard_url: Option<String>,
    /// A folder whose templates override the built-in ones.
    pub templates_folder: Option<String>,
    /// `[alerts.absence]`.
    #[serde(default)]
    pub absence: RawRule,
    /// `[alerts.missing_return]`.
    #[serde(default)]
    pub missing_return: RawMissingReturn,
    /// `[alerts.consecutive_absence]`.
    #[serde(default)]
    pub consecutive_absence: RawConsecutive,
    /// `[alerts.below_target]`.
    #[serde(default)]
    pub below_target: RawBelowTarget,
    /// `[alerts.stale_n]`.
    #[serde(default)]
    pub stale_n: RawStaleN,
    /// `[alerts.unauthorised]`.
    #[serde(default)]
    pub unauthorised: RawUnauthorised,
    /// `[alerts.provider_compliance]`.
    #[serde(default)]
    pub provider_compliance: RawCompliance,
    /// `[alerts.visit_overdue]`.
    #[serde(default)]
    pub visit_overdue: RawVisitOverdue,
    /// `[alerts.operations]`.
    #[serde(default)]
    pub operations: RawOperations,
    /// `[alerts.digest]`.
    #[serde(default)]
    pub digest: RawDigest,
}

pub(super) fn time(text: &Option<String>, default: &str, key: &str, p: &mut Problems) -> NaiveTime {
    let t = text.as_deref().unwrap_or(default).trim();
    NaiveTime::parse_from_str(t, "%H:%M").unwrap_or_else(|_| {
        p.push(
            key,
            format!("`{t}` is not a time of day: write it as HH:MM, e.g. 10:00"),
        );
        NaiveTime::MIN
    })
}

fn roles(list: &Option<Vec<String>>, default: &[Role], key: &str, p: &mut Problems) -> Vec<Role> {
    let Some(list) = list else { return default.to_vec() };
    let mut out = Vec::new();
    for name in list {
        match Role::parse(name) {
            Some(r) => out.push(r),
            None => p.push(
                key,
                format!(
                    "`{name}` is not a role: use attendance_administrator, ap_coordinator, dsl, head_teacher or it"
                ),
            ),
        }
    }
    out
}

fn positive(v: Option<u32>, default: u32, key: &str, p: &mut Problems) -> u32 {
    let v = v.unwrap_or(default);
    if v == 0 {
        p.push(key, "must be at least 1");
    }
    v
}

fn pct(v: Option<f64>, default: f64, key: &str, p: &mut Problems) -> f64 {
    let v = v.unwrap_or(default);
    if !(0.0..=100.0).contains(&v) {
        p.push(key, format!("{v} is not a percentage between 0 and 100"));
    }
    v
}

fn route(enabled: Option<bool>, list: &Option<Vec<String>>, default: &[Role], key: &str, p: &mut Problems) -> Route {
    Route {
        enabled: enabled.unwrap_or(true),
        roles: roles(list, default, &format!("alerts.{key}.roles"), p),
    }
}

use Role::{ApCoordinator as Apc, AttendanceAdministrator as Admin, Dsl, HeadTeacher as Head, It};

/// Checks `[alerts]`.
pub(super) fn alerts(raw: &RawAlerts, p: &mut Problems) -> AlertsConfig {
    let m = &raw.missing_return;
    let b = &raw.below_target;
    let o = &raw.operations;
    let u = &raw.unauthorised;
    let weekday = raw.digest.weekday.as_deref().unwrap_or("Mon");
    let digest_weekday = weekday.parse::<Weekday>().unwrap_or_else(|_| {
        p.push(
            "alerts.digest.weekday",
            format!("`{weekday}` is not a weekday: write Mon, Tue, ..."),
        );
        Weekday::Mon
    });
    let persistent = pct(b.persistent, 90.0, "alerts.below_target.persistent", p);
    let severe = pct(b.severe, 50.0, "alerts.below_target.severe", p);
    if severe > persistent {
        p.push(
            "alerts.below_target.severe",
            "must not be above alerts.below_target.persistent",
        );
    }
    if let Some(url) = &raw.dashboard_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        p.push(
            "alerts.dashboard_url",
            format!("`{url}` is not a web address: start it with https://"),
        );
    }
    AlertsConfig {
        dashboard_url: raw.dashboard_url.clone(),
        templates_folder: raw.templates_folder.as_ref().map(PathBuf::from),
        absence: route(raw.absence.enabled, &raw.absence.roles, &[Admin], "absence", p),
        missing_return: route(m.enabled, &m.roles, &[Admin, Apc], "missing_return", p),
        missing_escalate_to: roles(&m.escalate_to, &[Dsl], "alerts.missing_return.escalate_to", p),
        am_deadline: time(&m.am_deadline, "10:00", "alerts.missing_return.am_deadline", p),
        pm_deadline: time(&m.pm_deadline, "14:00", "alerts.missing_return.pm_deadline", p),
        end_of_day: time(&m.end_of_day, "16:00", "alerts.missing_return.end_of_day", p),
        consecutive: route(
            raw.consecutive_absence.enabled,
            &raw.consecutive_absence.roles,
            &[Dsl, Apc],
            "consecutive_absence",
            p,
        ),
        consecutive_sessions: positive(
            raw.consecutive_absence.sessions,
            4,
            "alerts.consecutive_absence.sessions",
            p,
        ),
        below_target: route(b.enabled, &b.roles, &[Apc], "below_target", p),
        below_window_days: positive(b.window_school_days, 20, "alerts.below_target.window_school_days", p),
        below_min_sessions: positive(b.min_sessions, 6, "alerts.below_target.min_sessions", p),
        hysteresis: pct(b.hysteresis, 2.0, "alerts.below_target.hysteresis", p),
        persistent,
        severe,
        stale_n: route(raw.stale_n.enabled, &raw.stale_n.roles, &[Admin], "stale_n", p),
        stale_n_days: positive(raw.stale_n.school_days, 5, "alerts.stale_n.school_days", p),
        unauthorised: route(u.enabled, &u.roles, &[Admin, Head], "unauthorised", p),
        unauthorised_sessions: positive(u.sessions, 10, "alerts.unauthorised.sessions", p),
        unauthorised_weeks: positive(u.school_weeks, 10, "alerts.unauthorised.school_weeks", p),
        compliance: route(
            raw.provider_compliance.enabled,
            &raw.provider_compliance.roles,
            &[Apc, Head],
            "provider_compliance",
            p,
        ),
        compliance_warn_days: positive(
            raw.provider_compliance.warn_days,
            30,
            "alerts.provider_compliance.warn_days",
            p,
        ),
        visit_overdue: route(
            raw.visit_overdue.enabled,
            &raw.visit_overdue.roles,
            &[Apc],
            "visit_overdue",
            p,
        ),
        visit_interval_days: positive(
            raw.visit_overdue.interval_days,
            42,
            "alerts.visit_overdue.interval_days",
            p,
        ),
        operations: route(o.enabled, &o.roles, &[It], "operations", p),
        connector_failures: positive(o.connector_failures, 3, "alerts.operations.connector_failures", p),
        review_queue_max: positive(o.review_queue_max, 20, "alerts.operations.review_queue_max", p),
        review_max_age_hours: positive(o.review_max_age_hours, 24, "alerts.operations.review_max_age_hours", p),
        digest: route(raw.digest.enabled, &raw.digest.roles, &[Apc], "digest", p),
        digest_weekday,
        digest_time: time(&raw.digest.time, "07:00", "alerts.digest.time", p),
    }
}

pub(super) fn address_ok(a: &str) -> bool {
    a.parse::<lettre::message::Mailbox>().is_ok()
}

/// Checks `[roles]`; when email is configured, every role a rule uses must have an address.
pub(super) fn roles_config(raw: &RawRoles, alerts: &AlertsConfig, emailing: bool, p: &mut Problems) -> Roles {
    let given = [
        (Admin, &raw.attendance_administrator),
        (Apc, &raw.ap_coordinator),
        (Dsl, &raw.dsl),
        (Head, &raw.head_teacher),
        (It, &raw.it),
    ];
    let mut out = Vec::new();
    for (role, list) in given {
        let list = list.clone().unwrap_or_default();
        for a in &list {
            if !address_ok(a) {
                p.push(
                    format!("roles.{}", role.as_str()),
                    format!("`{a}` is not an email address"),
                );
            }
        }
        out.push(RoleAddresses { role, addresses: list });
    }
    let roles = Roles::new(out);
    let used = [
        &alerts.absence,
        &alerts.missing_return,
        &alerts.consecutive,
        &alerts.below_target,
        &alerts.stale_n,
        &alerts.unauthorised,
        &alerts.compliance,
        &alerts.visit_overdue,
        &alerts.operations,
        &alerts.digest,
    ];
    let mut needed: Vec<Role> = used
        .iter()
        .filter(|r| r.enabled)
        .flat_map(|r| r.roles.clone())
        .collect();
    needed.extend(alerts.missing_escalate_to.iter().copied());
    needed.sort();
    needed.dedup();
    for role in needed {
        if emailing && roles.addresses(role).is_empty() {
            p.push(
                format!("roles.{}", role.as_str()),
                "no address: a rule sends to this role; give its addresses, e.g. [\"name@school.example\"]",
            );
        }
    }
    roles
}

/// Checks a provider's deadlines and policy dates.
pub(super) fn provider(raw: &super::raw::RawProvider, key: &str, p: &mut Problems) -> ProviderAlerts {
    let deadline = |v: &Option<String>, k: &str, p: &mut Problems| {
        v.as_ref().map(|t| time(&Some(t.clone()), "", &format!("{key}.{k}"), p))
    };
    let am_deadline = deadline(&raw.return_deadline, "return_deadline", p);
    let pm_deadline = deadline(&raw.pm_return_deadline, "pm_return_deadline", p);
    let mut expiries = Vec::new();
    for (what, k, v) in [
        (
            "safeguarding policy",
            "safeguarding_policy_expires",
            &raw.safeguarding_policy_expires,
        ),
        (
            "child protection policy",
            "child_protection_policy_expires",
            &raw.child_protection_policy_expires,
        ),
        (
            "health and safety policy",
            "health_safety_policy_expires",
            &raw.health_safety_policy_expires,
        ),
        ("service level agreement", "sla_expires", &raw.sla_expires),
    ] {
        if let Some(d) = v.as_deref().and_then(|d| p.date(d, &format!("{key}.{k}"))) {
            expiries.push(Expiry {
                what: what.to_string(),
                on: d,
            });
        }
    }
    ProviderAlerts {
        am_deadline,
        pm_deadline,
        expiries,
    }
}
