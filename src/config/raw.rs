//! The configuration file as written, before validation.
//!
//! Values whose meaning needs checking (time zones, dates, codes) are read as text here so that
//! validation can report every mistake at once instead of stopping at the first.

use serde::Deserialize;

use crate::roster::RosterColumns;
use apsync_core::pipeline::format::Format;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
pub struct RawConfig {
    /// `[school]`.
    #[serde(default)]
    pub school: RawSchool,
    /// `[calendar]`.
    #[serde(default)]
    pub calendar: RawCalendar,
    /// `[database]`.
    #[serde(default)]
    pub database: RawDatabase,
    /// `[roster]`: header names of the MIS export.
    #[serde(default)]
    pub roster: RosterColumns,
    /// `[[provider]]` entries.
    #[serde(default, rename = "provider")]
    pub providers: Vec<RawProvider>,
    /// `[[connector]]` entries.
    #[serde(default, rename = "connector")]
    pub connectors: Vec<RawConnector>,
    /// `[http]`: the visit intake API.
    #[serde(default)]
    pub http: super::visits::RawHttp,
    /// `[visits]`.
    #[serde(default)]
    pub visits: super::visits::RawVisits,
    /// `[[endpoint]]` entries: where visits are pushed.
    #[serde(default, rename = "endpoint")]
    pub endpoints: Vec<super::visits::RawEndpoint>,
    /// `[roles]`: who receives which email.
    #[serde(default)]
    pub roles: super::alerts::RawRoles,
    /// `[email]`: how mail leaves.
    pub email: Option<super::email::RawEmail>,
    /// `[alerts]`: the rules' thresholds and audiences.
    #[serde(default)]
    pub alerts: super::alerts::RawAlerts,
    /// `[mis]`: the link to the school's MIS.
    pub mis: Option<super::mis::RawMis>,
}

/// One `[[connector]]`: where one provider's returns are fetched from. Exactly one transport
/// table (`[connector.folder]`, ...) says how.
#[derive(Debug, Default, Deserialize)]
pub struct RawConnector {
    /// Short stable identifier, used by `sync --connector` and in `status`.
    pub id: Option<String>,
    /// The provider whose returns these are.
    pub provider: Option<String>,
    /// A local folder.
    pub folder: Option<apsync_connector_folder::FolderConfig>,
    /// An SFTP server.
    pub sftp: Option<apsync_connector_sftp::SftpConfig>,
    /// A mailbox, over IMAP.
    pub imap: Option<apsync_connector_imap::ImapConfig>,
    /// A provider's JSON API.
    pub http: Option<apsync_connector_http::HttpConfig>,
    /// When to run, a cron expression in the school's time zone (default `*/30 6-19 * * *`, five fields).
    pub schedule: Option<String>,
    /// After how many runs failing on the same item it is quarantined (default 3).
    pub quarantine_after: Option<u32>,
}

/// `[school]`.
#[derive(Debug, Default, Deserialize)]
pub struct RawSchool {
    /// The school's name, as staff know it.
    pub name: Option<String>,
    /// IANA time zone, default `Europe/London`.
    pub timezone: Option<String>,
    /// The school's attendance target in percent.
    pub attendance_target: Option<f64>,
}

/// `[calendar]`.
#[derive(Debug, Default, Deserialize)]
pub struct RawCalendar {
    /// Terms, each a name with first and last day.
    #[serde(default)]
    pub terms: Vec<RawTerm>,
    /// Closure days inside terms: `YYYY-MM-DD` or `YYYY-MM-DD..YYYY-MM-DD`.
    #[serde(default)]
    pub closures: Vec<String>,
}

/// One term in `[calendar] terms`.
#[derive(Debug, Default, Deserialize)]
pub struct RawTerm {
    /// The term's name, e.g. `Spring 2026`.
    pub name: Option<String>,
    /// First day of the term.
    pub start: Option<String>,
    /// Last day of the term.
    pub end: Option<String>,
}

/// `[database]`.
#[derive(Debug, Default, Deserialize)]
pub struct RawDatabase {
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`.
    pub url: Option<String>,
    /// A file holding the PostgreSQL password (or a systemd credential name).
    pub password_file: Option<String>,
    /// Connections in the pool.
    pub max_connections: Option<u32>,
    /// PostgreSQL TLS: `disable`, `prefer`, `require`, `verify-ca` or `verify-full` (the
    /// default, and the only one accepted without this key, for a server beyond this machine).
    pub ssl_mode: Option<String>,
    /// The CA certificate (PEM) that signed the PostgreSQL server's certificate.
    pub ca_file: Option<String>,
}

/// One `[[provider]]`.
#[derive(Debug, Default, Deserialize)]
pub struct RawProvider {
    /// Short stable identifier used in files, commands and placements.
    pub id: Option<String>,
    /// The provider's name as staff know it.
    pub name: Option<String>,
    /// The code written for a pupil present there: B, K or D.
    pub present_code: Option<String>,
    /// Ofsted unique reference number, if it has one.
    pub urn: Option<String>,
    /// UK provider reference number, if it has one.
    pub ukprn: Option<String>,
    /// When the local authority QA approval expires.
    pub qa_approval_expires: Option<String>,
    /// The provider's contact email.
    pub contact_email: Option<String>,
    /// How this provider's returns read, inline.
    pub format: Option<Format>,
    /// Or: a file holding the format (relative to the configuration file's folder).
    pub format_file: Option<String>,
    /// The AM return deadline (HH:MM): a pupil's session unmarked by then is a missing return.
    pub return_deadline: Option<String>,
    /// The PM return deadline (HH:MM).
    pub pm_return_deadline: Option<String>,
    /// When the provider's safeguarding policy is due for review.
    pub safeguarding_policy_expires: Option<String>,
    /// When its child protection policy is due for review.
    pub child_protection_policy_expires: Option<String>,
    /// When its health and safety policy is due for review.
    pub health_safety_policy_expires: Option<String>,
    /// When its service level agreement ends.
    pub sla_expires: Option<String>,
}
