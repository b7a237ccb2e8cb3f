//! The checked configuration sections that the rules and emails read: the school, the roles and
//! their addresses, every rule's thresholds, and the approved providers. The `apsync` crate's
//! `config` parses and validates the file into these; nothing here reads a file.

use std::path::PathBuf;

use chrono::{NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

use crate::domain::PresentCode;
use crate::pipeline::CheckedFormat;

/// `[school]`.
#[derive(Debug, Clone)]
pub struct School {
    /// The school's name.
    pub name: String,
    /// The school's time zone; "today" and deadlines are in it.
    pub timezone: chrono_tz::Tz,
    /// The attendance target in percent.
    pub attendance_target: f64,
}

/// One approved provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// Short stable identifier.
    pub id: String,
    /// Name as staff know it.
    pub name: String,
    /// The code recorded when the provider reports the pupil present.
    pub present_code: PresentCode,
    /// Ofsted URN.
    pub urn: Option<String>,
    /// UKPRN.
    pub ukprn: Option<String>,
    /// When the provider's QA approval expires.
    pub qa_approval_expires: Option<NaiveDate>,
    /// Contact email.
    pub contact_email: Option<String>,
    /// How the provider's returns read, when it sends files.
    pub format: Option<CheckedFormat>,
    /// Return deadlines and policy dates, for the rules.
    pub alerts: ProviderAlerts,
}

/// A role of the school's policy that receives email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Updates the register daily; first-day calling.
    AttendanceAdministrator,
    /// Arranges and oversees placements and interventions.
    ApCoordinator,
    /// The Designated Safeguarding Lead.
    Dsl,
    /// The head teacher.
    HeadTeacher,
    /// Whoever runs apsync.
    It,
}

impl Role {
    /// Every role, in the policy's order.
    pub const ALL: [Role; 5] = [
        Role::AttendanceAdministrator,
        Role::ApCoordinator,
        Role::Dsl,
        Role::HeadTeacher,
        Role::It,
    ];

    /// As written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::AttendanceAdministrator => "attendance_administrator",
            Role::ApCoordinator => "ap_coordinator",
            Role::Dsl => "dsl",
            Role::HeadTeacher => "head_teacher",
            Role::It => "it",
        }
    }

    /// From its name in the configuration.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text.trim())
    }
}

/// The checked `[roles]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles(Vec<RoleAddresses>);

/// One role and the addresses that receive its email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAddresses {
    /// The role.
    pub role: Role,
    /// Its addresses, as written.
    pub addresses: Vec<String>,
}

impl Roles {
    /// The roles given, each with its addresses.
    pub fn new(roles: Vec<RoleAddresses>) -> Roles {
        Roles(roles)
    }

    /// The addresses of `role` (none when unconfigured).
    pub fn addresses(&self, role: Role) -> &[String] {
        self.0
            .iter()
            .find(|r| r.role == role)
            .map(|r| r.addresses.as_slice())
            .unwrap_or(&[])
    }
}

/// A rule's switch and audience.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Whether it runs.
    pub enabled: bool,
    /// Who is told.
    pub roles: Vec<Role>,
}

/// The checked `[alerts]`; defaults follow the school's policy and the DfE guidance.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsConfig {
    /// A dashboard link for emails.
    pub dashboard_url: Option<String>,
    /// Template overrides.
    pub templates_folder: Option<PathBuf>,
    /// Absence today.
    pub absence: Route,
    /// Missing return.
    pub missing_return: Route,
    /// Told at the end of the day.
    pub missing_escalate_to: Vec<Role>,
    /// AM deadline default.
    pub am_deadline: NaiveTime,
    /// PM deadline default.
    pub pm_deadline: NaiveTime,
    /// End of the school day.
    pub end_of_day: NaiveTime,
    /// N sessions in a row.
    pub consecutive: Route,
    /// How many.
    pub consecutive_sessions: u32,
    /// Below target.
    pub below_target: Route,
    /// Window, school days.
    pub below_window_days: u32,
    /// Minimum possible sessions.
    pub below_min_sessions: u32,
    /// Hysteresis points.
    pub hysteresis: f64,
    /// Persistent threshold (attendance %).
    pub persistent: f64,
    /// Severe threshold (attendance %).
    pub severe: f64,
    /// Stale N.
    pub stale_n: Route,
    /// School days an N may stand.
    pub stale_n_days: u32,
    /// Unauthorised sessions.
    pub unauthorised: Route,
    /// How many.
    pub unauthorised_sessions: u32,
    /// Within how many school weeks.
    pub unauthorised_weeks: u32,
    /// Provider compliance.
    pub compliance: Route,
    /// Days ahead.
    pub compliance_warn_days: u32,
    /// Visit overdue.
    pub visit_overdue: Route,
    /// Calendar days allowed between visits (or from the placement's start to the first).
    pub visit_interval_days: u32,
    /// Operations.
    pub operations: Route,
    /// Failed runs in a row.
    pub connector_failures: u32,
    /// Review queue limit.
    pub review_queue_max: u32,
    /// Review age limit, hours.
    pub review_max_age_hours: u32,
    /// The weekly digest.
    pub digest: Route,
    /// Its weekday.
    pub digest_weekday: Weekday,
    /// Its time.
    pub digest_time: NaiveTime,
}

/// A provider's alert-relevant dates, from `[[provider]]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderAlerts {
    /// The AM return deadline, if the provider has its own.
    pub am_deadline: Option<NaiveTime>,
    /// The PM return deadline.
    pub pm_deadline: Option<NaiveTime>,
    /// Policy and agreement expiry dates.
    pub expiries: Vec<Expiry>,
}

/// A provider's policy or agreement and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    /// What expires, as staff read it: "safeguarding policy".
    pub what: String,
    /// The last day it holds.
    pub on: NaiveDate,
}
