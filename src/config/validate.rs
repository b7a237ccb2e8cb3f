//! Pure validation: the file as written in, a checked [`Config`] or every mistake out.

use std::collections::HashSet;
use std::path::PathBuf;

use chrono::NaiveDate;

use super::error::ConfigError;
use super::raw::RawConnector;
use super::raw::{RawCalendar, RawConfig, RawDatabase, RawProvider, RawSchool};
use super::secret::SecretFile;
use super::{
    Calendar, Config, ConnectorConfig, DatabaseConfig, DatabaseTls, DatabaseUrl, ProviderConfig, School, SslMode,
    Transport,
};
use crate::domain::{Closure, PresentCode, Term};
use apsync_connector_core::web;

/// The school's attendance target when none is configured (the DfE's expectation for all pupils).
pub const DEFAULT_ATTENDANCE_TARGET: f64 = 95.0;
/// The time zone when none is configured.
pub const DEFAULT_TIMEZONE: &str = "Europe/London";
/// The database when none is configured (the systemd `StateDirectory`).
pub const DEFAULT_DATABASE_URL: &str = "sqlite:///var/lib/apsync/apsync.db";

/// Collects mistakes while validation carries on, so that all are reported together.
#[derive(Default)]
pub(crate) struct Problems(pub Vec<ConfigError>);

impl Problems {
    pub(crate) fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigError::new(key, message));
    }

    /// The value, or a "missing" mistake at `key`.
    /// Checks an identifier's spelling and that no earlier `what` has it.
    pub(crate) fn unique_id(&mut self, id: &str, key: &str, seen: &mut HashSet<String>, what: &str) {
        if !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            self.push(key, format!("`{id}` may use only a-z, 0-9 and -"));
        } else if !seen.insert(id.to_string()) {
            self.push(key, format!("`{id}` is used by an earlier {what}: ids must be unique"));
        }
    }

    pub(crate) fn required<'a>(&mut self, value: &'a Option<String>, key: &str, what: &str) -> Option<&'a str> {
        match value.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => Some(v),
            _ => {
                self.push(key, format!("missing: {what}"));
                None
            }
        }
    }

    pub(crate) fn date(&mut self, text: &str, key: &str) -> Option<NaiveDate> {
        match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                self.push(key, format!("`{text}` is not a date: write it as YYYY-MM-DD"));
                None
            }
        }
    }
}

/// Checks the whole file, returning every mistake at once.
pub fn validate(raw: RawConfig) -> Result<Config, Vec<ConfigError>> {
    let mut p = Problems::default();
    let school = school(&raw.school, &mut p);
    let calendar = calendar(&raw.calendar, &mut p);
    let database = database(&raw.database, &mut p);
    let providers = providers(raw.providers, &mut p);
    let connectors = connectors(raw.connectors, &providers, &mut p);
    let http = super::visits::http(&raw.http, &mut p);
    let visits = super::visits::visits(&raw.visits, &mut p);
    let endpoints = super::visits::endpoints(&raw.endpoints, &mut p);
    let alerts = super::alerts::alerts(&raw.alerts, &mut p);
    let email = super::email::email(&raw.email, &mut p);
    let roles = super::alerts::roles_config(&raw.roles, &alerts, email.is_some(), &mut p);
    let mis = super::mis::mis(&raw.mis, &mut p);
    match (school, calendar, database) {
        (Some(school), Some(calendar), Some(database)) if p.0.is_empty() => Ok(Config {
            school,
            calendar,
            database,
            roster: raw.roster,
            providers,
            connectors,
            http,
            visits,
            endpoints,
            roles,
            email,
            alerts,
            mis,
        }),
        _ => Err(p.0),
    }
}

fn school(raw: &RawSchool, p: &mut Problems) -> Option<School> {
    let name = p.required(&raw.name, "school.name", "the school's name, as staff know it");
    let tz_text = raw.timezone.as_deref().unwrap_or(DEFAULT_TIMEZONE);
    let timezone = match tz_text.parse::<chrono_tz::Tz>() {
        Ok(tz) => Some(tz),
        Err(_) => {
            p.push(
                "school.timezone",
                format!("`{tz_text}` is not a time zone: use an IANA name such as Europe/London"),
            );
            None
        }
    };
    let target = raw.attendance_target.unwrap_or(DEFAULT_ATTENDANCE_TARGET);
    if !(target > 0.0 && target <= 100.0) {
        p.push(
            "school.attendance_target",
            format!("{target} is not a percentage: give a number above 0 and at most 100, such as 95"),
        );
        return None;
    }
    Some(School {
        name: name?.to_string(),
        timezone: timezone?,
        attendance_target: target,
    })
}

fn calendar(raw: &RawCalendar, p: &mut Problems) -> Option<Calendar> {
    if raw.terms.is_empty() {
        p.push(
            "calendar.terms",
            "no terms: list the school's terms, e.g. terms = [{ name = \"Spring 2026\", start = \"2026-01-05\", end = \"2026-03-27\" }]",
        );
    }
    let before = p.0.len();
    let mut terms = Vec::new();
    for (i, t) in raw.terms.iter().enumerate() {
        let key = format!("calendar.terms[{i}]");
        let name = p.required(&t.name, &format!("{key}.name"), "the term's name");
        let start = p
            .required(&t.start, &format!("{key}.start"), "the term's first day, YYYY-MM-DD")
            .and_then(|s| p.date(s, &format!("{key}.start")));
        let end = p
            .required(&t.end, &format!("{key}.end"), "the term's last day, YYYY-MM-DD")
            .and_then(|s| p.date(s, &format!("{key}.end")));
        if let (Some(name), Some(start), Some(end)) = (name, start, end) {
            terms.push(Term {
                name: name.to_string(),
                start,
                end,
            });
        }
    }
    let mut closures = Vec::new();
    for (i, c) in raw.closures.iter().enumerate() {
        let key = format!("calendar.closures[{i}]");
        match c.split_once("..") {
            Some((first, last)) => {
                if let (Some(a), Some(b)) = (p.date(first, &key), p.date(last, &key)) {
                    closures.push(Closure::range(a, b));
                }
            }
            None => closures.extend(p.date(c, &key).map(Closure::day)),
        }
    }
    // The terms and closures that did parse are still checked together, so overlapping terms are
    // reported in the same run as a mistyped date.
    match Calendar::new(terms, closures) {
        Ok(c) if p.0.len() == before && !raw.terms.is_empty() => Some(c),
        Ok(_) => None,
        Err(e) => {
            for problem in e.problems {
                p.push("calendar", problem.to_string());
            }
            None
        }
    }
}

fn database(raw: &RawDatabase, p: &mut Problems) -> Option<DatabaseConfig> {
    let text = raw.url.as_deref().unwrap_or(DEFAULT_DATABASE_URL).trim();
    let url = if let Some(path) = text.strip_prefix("sqlite://") {
        if path.is_empty() {
            p.push(
                "database.url",
                "the SQLite URL has no path: write sqlite:///var/lib/apsync/apsync.db",
            );
            return None;
        }
        DatabaseUrl::Sqlite(PathBuf::from(path))
    } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        DatabaseUrl::Postgres(postgres_url(text, p)?)
    } else {
        p.push(
            "database.url",
            format!(
                "`{}` is not a database URL: use sqlite://PATH or postgres://USER@HOST/DATABASE",
                web::redact_url(text)
            ),
        );
        return None;
    };
    let max_connections = raw.max_connections.unwrap_or(5);
    if max_connections == 0 {
        p.push("database.max_connections", "must be at least 1");
        return None;
    }
    let tls = match &url {
        DatabaseUrl::Postgres(text) => database_tls(raw, text, p)?,
        DatabaseUrl::Sqlite(_) => DatabaseTls::default(),
    };
    Some(DatabaseConfig {
        url,
        password_file: raw.password_file.as_ref().map(|f| SecretFile {
            key: "database.password_file".into(),
            path: PathBuf::from(f),
        }),
        max_connections,
        tls,
    })
}

/// A PostgreSQL URL, refused when it holds a password (in the user part or `?password=`): the
/// password belongs in `database.password_file` (or `PGPASSFILE`), never in a URL that ends up
/// in logs and process lists.
fn postgres_url(text: &str, p: &mut Problems) -> Option<String> {
    let url = match url::Url::parse(text) {
        Ok(u) => u,
        Err(e) => {
            p.push(
                "database.url",
                format!(
                    "`{}` is not a URL ({e}): write postgres://USER@HOST/DATABASE",
                    web::redact_url(text)
                ),
            );
            return None;
        }
    };
    let in_query = url.query_pairs().any(|(k, _)| k == "password");
    if url.password().is_some() || in_query {
        p.push(
            "database.url",
            "the URL holds a password: remove it and put the password in a file named by database.password_file (or use PGPASSFILE)",
        );
        return None;
    }
    Some(text.to_string())
}

/// The TLS a PostgreSQL connection must use. A server beyond this machine gets `verify-full`
/// unless `database.ssl_mode` says otherwise; a weaker `sslmode` in its URL is refused, so an
/// unverified connection is always chosen knowingly.
fn database_tls(raw: &RawDatabase, text: &str, p: &mut Problems) -> Option<DatabaseTls> {
    let url = url::Url::parse(text).ok()?;
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    // A `host=` parameter (a socket folder, or a name) wins over the URL's host, as libpq reads it.
    let host = param("host")
        .or_else(|| url.host_str().map(str::to_string))
        .unwrap_or_default();
    let local = host.is_empty() || host.starts_with('/') || web::is_loopback_host(&host);
    let mode = match raw.ssl_mode.as_deref().map(str::trim) {
        Some(m) => match SslMode::parse(m) {
            Some(mode) => Some(mode),
            None => {
                p.push(
                    "database.ssl_mode",
                    format!("`{m}` is not an sslmode: use verify-full, verify-ca, require, prefer or disable"),
                );
                return None;
            }
        },
        None if local => None,
        None => match param("sslmode").as_deref().map(SslMode::parse) {
            None | Some(Some(SslMode::VerifyFull)) => Some(SslMode::VerifyFull),
            Some(_) => {
                p.push(
                    "database.url",
                    format!(
                        "sslmode={} does not check {host}'s certificate and name: beyond this machine apsync requires verify-full \
                         (with database.ca_file for a private CA); to accept less knowingly, set database.ssl_mode",
                        param("sslmode").unwrap_or_default()
                    ),
                );
                return None;
            }
        },
    };
    Some(DatabaseTls {
        mode,
        ca_file: raw.ca_file.as_ref().map(PathBuf::from),
    })
}

fn providers(raw: Vec<RawProvider>, p: &mut Problems) -> Vec<ProviderConfig> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        let key = format!("provider[{i}]");
        let id = p.required(&r.id, &format!("{key}.id"), "a short identifier such as bright-futures");
        if let Some(id) = id {
            p.unique_id(id, &format!("{key}.id"), &mut seen, "provider");
        }
        let name = p.required(&r.name, &format!("{key}.name"), "the provider's name");
        let present_code = match r.present_code.as_deref().map(str::parse::<PresentCode>) {
            None => Some(PresentCode::B),
            Some(Ok(c)) => Some(c),
            Some(Err(_)) => {
                p.push(
                    format!("{key}.present_code"),
                    format!(
                        "`{}` is not a present code: use B (school-arranged provision), K (arranged by the local authority) or D (dual registered)",
                        r.present_code.as_deref().unwrap_or_default()
                    ),
                );
                None
            }
        };
        check_digits(&r.urn, 6, &format!("{key}.urn"), "a URN has 6 digits", p);
        check_digits(&r.ukprn, 8, &format!("{key}.ukprn"), "a UKPRN has 8 digits", p);
        let qa = r
            .qa_approval_expires
            .as_deref()
            .and_then(|d| p.date(d, &format!("{key}.qa_approval_expires")));
        if let Some(email) = r.contact_email.as_deref()
            && (!email.contains('@') || email.contains(char::is_whitespace))
        {
            p.push(
                format!("{key}.contact_email"),
                format!("`{email}` is not an email address"),
            );
        }
        // Checked once here: the runtime decodes with the checked format, never re-validating.
        let format = match r.format.clone().map(apsync_core::pipeline::Format::check) {
            Some(Ok(checked)) => Some(checked),
            Some(Err(issues)) => {
                for issue in issues {
                    p.push(format!("{key}.{}", issue.key), issue.message);
                }
                None
            }
            None => None,
        };
        let alerts = super::alerts::provider(&r, &key, p);
        if let (Some(id), Some(name), Some(present_code)) = (id, name, present_code) {
            out.push(ProviderConfig {
                id: id.to_string(),
                name: name.to_string(),
                present_code,
                urn: r.urn.clone(),
                ukprn: r.ukprn.clone(),
                qa_approval_expires: qa,
                contact_email: r.contact_email.clone(),
                format,
                alerts,
            });
        }
    }
    out
}

fn connectors(raw: Vec<RawConnector>, providers: &[ProviderConfig], p: &mut Problems) -> Vec<ConnectorConfig> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        let key = format!("connector[{i}]");
        let id = p.required(
            &r.id,
            &format!("{key}.id"),
            "a short identifier such as bright-futures-sftp",
        );
        if let Some(id) = id {
            p.unique_id(id, &format!("{key}.id"), &mut seen, "connector");
        }
        let provider = p.required(
            &r.provider,
            &format!("{key}.provider"),
            "the id of the provider whose returns these are",
        );
        if let Some(provider) = provider {
            match providers.iter().find(|pr| pr.id == provider) {
                None => p.push(
                    format!("{key}.provider"),
                    format!("`{provider}` is not a configured provider; add a [[provider]] with that id"),
                ),
                Some(pr) if pr.format.is_none() => p.push(
                    format!("{key}.provider"),
                    format!("provider `{provider}` has no format, so its files cannot be read: add format_file or [provider.format]"),
                ),
                Some(_) => {}
            }
        }
        let transport = transport(
            &key,
            [
                r.folder.map(Transport::Folder),
                r.sftp.map(Transport::Sftp),
                r.imap.map(Transport::Imap),
                r.http.map(Transport::Http),
            ],
            p,
        );
        let schedule = match apsync_core::schedule::Schedule::parse(r.schedule.as_deref()) {
            Ok(s) => Some(s),
            Err(message) => {
                p.push(format!("{key}.schedule"), message.to_string());
                None
            }
        };
        if r.quarantine_after == Some(0) {
            p.push(
                format!("{key}.quarantine_after"),
                "must be at least 1 (the number of failed runs on one item before it is set aside); leave it out for 3",
            );
        }
        if let (Some(id), Some(provider), Some(transport), Some(schedule)) = (id, provider, transport, schedule) {
            out.push(ConnectorConfig {
                id: id.to_string(),
                provider: provider.to_string(),
                transport,
                schedule,
                quarantine_after: r.quarantine_after.unwrap_or(3).max(1),
            });
        }
    }
    out
}

/// Exactly one transport table, with its own problems under its key.
fn transport(key: &str, tables: [Option<Transport>; 4], p: &mut Problems) -> Option<Transport> {
    let mut found: Vec<Transport> = tables.into_iter().flatten().collect();
    for t in &found {
        let (name, problems) = match t {
            Transport::Folder(c) => ("folder", c.validate()),
            Transport::Sftp(c) => ("sftp", c.validate()),
            Transport::Imap(c) => ("imap", c.validate()),
            Transport::Http(c) => ("http", c.validate()),
        };
        for (k, message) in problems {
            p.push(format!("{key}.{name}.{k}"), message);
        }
    }
    match found.len() {
        0 => {
            p.push(
                key,
                "no transport: add one [connector.folder], [connector.sftp], [connector.imap] or [connector.http] table saying where the returns are",
            );
            None
        }
        1 => found.pop(),
        _ => {
            p.push(
                key,
                "more than one transport table: a connector has exactly one; split it into two connectors",
            );
            None
        }
    }
}

fn check_digits(value: &Option<String>, n: usize, key: &str, rule: &str, p: &mut Problems) {
    if let Some(v) = value
        && (v.len() != n || !v.chars().all(|c| c.is_ascii_digit()))
    {
        p.push(key, format!("`{v}` is not valid: {rule}"));
    }
}
