//! `[roles]`, `[email]` and `[alerts]`: who is told what, how mail leaves, and every rule's
//! thresholds; plus a provider's return deadlines and policy dates. Raw shapes and their pure
//! validation live together here; `raw.rs` and `validate.rs` only hook them in.

use std::path::PathBuf;

use chrono::{NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

use super::secret::SecretFile;
use super::validate::Problems;

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

    fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text.trim())
    }
}

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

/// The checked `[roles]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles(pub Vec<(Role, Vec<String>)>);

impl Roles {
    /// The addresses of `role` (none when unconfigured).
    pub fn addresses(&self, role: Role) -> &[String] {
        self.0
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, a)| a.as_slice())
            .unwrap_or(&[])
    }
}

/// `[email]` as written.
#[derive(Debug, Default, Deserialize)]
pub struct RawEmail {
    /// The From address, e.g. `apsync <apsync@school.example>`.
    pub from: Option<String>,
    /// `smtp` or `file`.
    pub transport: Option<String>,
    /// File transport: the folder .eml files are written to (relative to the configuration's folder).
    pub folder: Option<String>,
    /// SMTP server host name (also the name its certificate must carry).
    pub host: Option<String>,
    /// SMTP port: default 587 for STARTTLS, 465 for implicit TLS.
    pub port: Option<u16>,
    /// `starttls` (default), `implicit`, or `none` (loopback only).
    pub tls: Option<String>,
    /// A PEM file of extra certificate authorities to trust (a school's own CA).
    pub ca_file: Option<String>,
    /// The SMTP user name.
    pub username: Option<String>,
    /// A file holding the SMTP password.
    pub password_file: Option<String>,
    /// Seconds to wait for the server before giving up on an attempt. Default 30.
    pub timeout_seconds: Option<u64>,
    /// XOAUTH2 with client-credentials tokens instead of a password.
    pub oauth: Option<RawOAuth>,
}

/// `[email.oauth]` as written.
#[derive(Debug, Default, Deserialize)]
pub struct RawOAuth {
    /// The token endpoint, e.g. `https://login.microsoftonline.com/TENANT/oauth2/v2.0/token`.
    pub token_url: Option<String>,
    /// The application's client id.
    pub client_id: Option<String>,
    /// A file holding the client secret.
    pub client_secret_file: Option<String>,
    /// The scope, e.g. `https://outlook.office365.com/.default`.
    pub scope: Option<String>,
}

/// How mail leaves.
#[derive(Debug, Clone)]
pub enum EmailTransport {
    /// Each message as an .eml file in a folder (the demo, trying things out).
    File {
        /// The folder, as written (relative to the configuration's folder).
        folder: PathBuf,
    },
    /// A real SMTP server.
    Smtp(Box<SmtpConfig>),
}

/// TLS to the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS (port 587); refused if the server cannot.
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS: only allowed to a loopback address.
    None,
}

/// `[email]` for SMTP.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS mode.
    pub tls: TlsMode,
    /// Extra trusted CAs.
    pub ca_file: Option<PathBuf>,
    /// User name for AUTH or XOAUTH2.
    pub username: Option<String>,
    /// The password, for AUTH PLAIN/LOGIN.
    pub password_file: Option<SecretFile>,
    /// Client-credentials tokens for XOAUTH2.
    pub oauth: Option<OAuthConfig>,
    /// Per-attempt timeout.
    pub timeout: std::time::Duration,
}

/// `[email.oauth]`, checked.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// Token endpoint.
    pub token_url: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret_file: SecretFile,
    /// Scope.
    pub scope: String,
}

/// The checked `[email]`.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// The From header.
    pub from: String,
    /// How mail leaves.
    pub transport: EmailTransport,
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
    /// `[alerts.operations]`.
    #[serde(default)]
    pub operations: RawOperations,
    /// `[alerts.digest]`.
    #[serde(default)]
    pub digest: RawDigest,
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
    /// Policy and agreement expiry dates: (what, when).
    pub expiries: Vec<(String, NaiveDate)>,
}

fn time(text: &Option<String>, default: &str, key: &str, p: &mut Problems) -> NaiveTime {
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
        operations: route(o.enabled, &o.roles, &[It], "operations", p),
        connector_failures: positive(o.connector_failures, 3, "alerts.operations.connector_failures", p),
        review_queue_max: positive(o.review_queue_max, 20, "alerts.operations.review_queue_max", p),
        review_max_age_hours: positive(o.review_max_age_hours, 24, "alerts.operations.review_max_age_hours", p),
        digest: route(raw.digest.enabled, &raw.digest.roles, &[Apc], "digest", p),
        digest_weekday,
        digest_time: time(&raw.digest.time, "07:00", "alerts.digest.time", p),
    }
}

fn address_ok(a: &str) -> bool {
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
        out.push((role, list));
    }
    let roles = Roles(out);
    let used = [
        &alerts.absence,
        &alerts.missing_return,
        &alerts.consecutive,
        &alerts.below_target,
        &alerts.stale_n,
        &alerts.unauthorised,
        &alerts.compliance,
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

/// Checks `[email]`.
pub(super) fn email(raw: &Option<RawEmail>, p: &mut Problems) -> Option<EmailConfig> {
    let raw = raw.as_ref()?;
    let from = p.required(
        &raw.from,
        "email.from",
        "the From address, e.g. \"apsync <apsync@school.example>\"",
    )?;
    if !address_ok(from) {
        p.push("email.from", format!("`{from}` is not an email address"));
    }
    let transport = match raw.transport.as_deref().unwrap_or("smtp").trim() {
        "file" => EmailTransport::File {
            folder: PathBuf::from(p.required(&raw.folder, "email.folder", "the folder .eml files are written to")?),
        },
        "smtp" => EmailTransport::Smtp(Box::new(smtp(raw, p)?)),
        other => {
            p.push(
                "email.transport",
                format!("`{other}` is not a transport: use smtp or file"),
            );
            return None;
        }
    };
    Some(EmailConfig {
        from: from.to_string(),
        transport,
    })
}

fn smtp(raw: &RawEmail, p: &mut Problems) -> Option<SmtpConfig> {
    let host = p
        .required(&raw.host, "email.host", "the SMTP server's host name")?
        .to_string();
    let tls = match raw.tls.as_deref().unwrap_or("starttls").trim() {
        "starttls" => TlsMode::StartTls,
        "implicit" => TlsMode::Implicit,
        "none" => {
            if !(host == "localhost" || host.starts_with("127.") || host == "::1") {
                p.push(
                    "email.tls",
                    "`none` sends passwords and pupils' details in clear: it is only allowed to a loopback host",
                );
            }
            TlsMode::None
        }
        other => {
            p.push(
                "email.tls",
                format!("`{other}` is not a TLS mode: use starttls, implicit or none"),
            );
            return None;
        }
    };
    let oauth = match &raw.oauth {
        None => None,
        Some(o) => {
            let token_url = p.required(&o.token_url, "email.oauth.token_url", "the token endpoint");
            let client_id = p.required(&o.client_id, "email.oauth.client_id", "the application's client id");
            let secret = p.required(
                &o.client_secret_file,
                "email.oauth.client_secret_file",
                "a file holding the client secret",
            );
            let scope = p.required(
                &o.scope,
                "email.oauth.scope",
                "the scope, e.g. https://outlook.office365.com/.default",
            );
            if raw.password_file.is_some() {
                p.push("email.password_file", "give a password or [email.oauth], not both");
            }
            match (token_url, client_id, secret, scope) {
                (Some(t), Some(c), Some(s), Some(sc)) => Some(OAuthConfig {
                    token_url: t.to_string(),
                    client_id: c.to_string(),
                    client_secret_file: SecretFile {
                        key: "email.oauth.client_secret_file".into(),
                        path: PathBuf::from(s),
                    },
                    scope: sc.to_string(),
                }),
                _ => None,
            }
        }
    };
    if (raw.password_file.is_some() || oauth.is_some()) && raw.username.is_none() {
        p.push(
            "email.username",
            "missing: the user name to log in to the SMTP server as",
        );
    }
    Some(SmtpConfig {
        port: raw.port.unwrap_or(if tls == TlsMode::Implicit { 465 } else { 587 }),
        host,
        tls,
        ca_file: raw.ca_file.as_ref().map(PathBuf::from),
        username: raw.username.clone(),
        password_file: raw.password_file.as_ref().map(|f| SecretFile {
            key: "email.password_file".into(),
            path: PathBuf::from(f),
        }),
        oauth,
        timeout: std::time::Duration::from_secs(raw.timeout_seconds.unwrap_or(30).max(1)),
    })
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
            expiries.push((what.to_string(), d));
        }
    }
    ProviderAlerts {
        am_deadline,
        pm_deadline,
        expiries,
    }
}
