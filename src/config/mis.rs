//! `[mis]`: the link to the school's MIS (through Wonde), as written and checked.

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::NaiveDate;
use serde::Deserialize;

use super::secret::SecretFile;
use super::validate::Problems;
use crate::domain::Code;
use apsync_core::schedule::Schedule;

/// Wonde's base URL for schools in the UK (and the rest of the world outside Australia and New
/// Zealand).
pub const WONDE_URL: &str = "https://api.wonde.com/v1.0";
/// When the roster is pulled when `roster_schedule` is not given: 06:10 on weekdays.
pub const DEFAULT_ROSTER_SCHEDULE: &str = "10 6 * * 1-5";

/// `[mis]` as written.
#[derive(Debug, Default, Deserialize)]
pub struct RawMis {
    /// Which MIS API: `wonde`.
    pub kind: Option<String>,
    /// The API's base URL (a regional domain for some schools); https, or http to this machine.
    pub url: Option<String>,
    /// The school's id at the MIS API (Wonde's `A1234567890`).
    pub school_id: Option<String>,
    /// A file holding the API token.
    pub token_file: Option<String>,
    /// Whether to pull the roster (pupils) on `roster_schedule`.
    pub roster: Option<bool>,
    /// When to pull the roster, a cron expression in the school's time zone.
    pub roster_schedule: Option<String>,
    /// Whether to write the register's marks back to the MIS.
    pub write_back: Option<bool>,
    /// No mark before this day is ever written back.
    pub write_back_from: Option<String>,
    /// MIS codes apsync may replace when it did not write them (e.g. `B` entered in advance).
    pub replaceable: Option<Vec<String>>,
}

/// Which MIS API the link speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MisKind {
    /// Wonde's API, one API over SIMS, Arbor, Bromcom and others.
    Wonde,
}

/// `[mis]`, checked.
#[derive(Debug, Clone)]
pub struct MisConfig {
    /// Which API.
    pub kind: MisKind,
    /// The API's base URL, without a trailing slash.
    pub url: url::Url,
    /// The school's id at the API.
    pub school_id: String,
    /// The token's file.
    pub token: SecretFile,
    /// Whether the roster is pulled on schedule.
    pub roster: bool,
    /// When it is pulled.
    pub roster_schedule: Schedule,
    /// Whether marks are written back.
    pub write_back: bool,
    /// The first day marks are written back for; `None` is every day (only when write-back is off).
    pub write_back_from: Option<NaiveDate>,
    /// MIS codes apsync may replace though it did not write them.
    pub replaceable: BTreeSet<Code>,
}

/// Checks `[mis]`; `None` when it is absent or wrong (the mistakes are in `p`).
pub(super) fn mis(raw: &Option<RawMis>, p: &mut Problems) -> Option<MisConfig> {
    let raw = raw.as_ref()?;
    let before = p.0.len();
    let kind = match raw.kind.as_deref().map(str::trim) {
        Some("wonde") => Some(MisKind::Wonde),
        None | Some("") => {
            p.push("mis.kind", "missing: the MIS API, kind = \"wonde\"");
            None
        }
        Some(other) => {
            p.push(
                "mis.kind",
                format!("`{other}` is not an MIS API apsync speaks: use \"wonde\""),
            );
            None
        }
    };
    let url_text = raw.url.as_deref().unwrap_or(WONDE_URL).trim();
    let url = match apsync_connector_core::web::check_web_url(url_text, true) {
        Ok(u) => Some(u),
        Err(e) => {
            p.push(
                "mis.url",
                format!("{e} (Wonde's is {WONDE_URL}, or the school's regional domain)"),
            );
            None
        }
    };
    let school_id = p
        .required(
            &raw.school_id,
            "mis.school_id",
            "the school's id at the MIS API, e.g. A1234567890",
        )
        .map(str::to_string);
    if let Some(id) = &school_id
        && !id.chars().all(|c| c.is_ascii_alphanumeric())
    {
        p.push(
            "mis.school_id",
            format!("`{id}` is not a school id: it has only letters and digits, e.g. A1234567890"),
        );
    }
    let token = p
        .required(&raw.token_file, "mis.token_file", "a file holding the MIS API token")
        .map(|f| SecretFile {
            key: "mis.token_file".into(),
            path: PathBuf::from(f),
        });
    let roster_schedule = match Schedule::parse(Some(raw.roster_schedule.as_deref().unwrap_or(DEFAULT_ROSTER_SCHEDULE)))
    {
        Ok(s) => Some(s),
        Err(e) => {
            p.push("mis.roster_schedule", e.to_string());
            None
        }
    };
    let write_back = raw.write_back.unwrap_or(false);
    let write_back_from = raw
        .write_back_from
        .as_deref()
        .and_then(|d| p.date(d, "mis.write_back_from"));
    if write_back && raw.write_back_from.is_none() {
        p.push(
            "mis.write_back_from",
            "missing: write_back = true needs the first day to write, YYYY-MM-DD (nothing earlier is ever written)",
        );
    }
    let mut replaceable = BTreeSet::new();
    for (i, text) in raw.replaceable.iter().flatten().enumerate() {
        match text.parse::<Code>() {
            Ok(c) => {
                replaceable.insert(c);
            }
            Err(e) => p.push(format!("mis.replaceable[{i}]"), e.to_string()),
        }
    }
    if p.0.len() != before {
        return None;
    }
    Some(MisConfig {
        kind: kind?,
        url: url?,
        school_id: school_id?,
        token: token?,
        roster: raw.roster.unwrap_or(false),
        roster_schedule: roster_schedule?,
        write_back,
        write_back_from,
        replaceable,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::parse;
    use crate::config::validate::validate;

    const MINIMAL: &str = "[school]\nname = \"Example Academy\"\n[calendar]\nterms = [{ name = \"Summer 2026\", start = \"2026-04-13\", end = \"2026-07-22\" }]\n";

    fn check(mis: &str) -> Result<crate::config::Config, Vec<String>> {
        let (raw, unknown) =
            parse(&format!("{MINIMAL}[mis]\n{mis}"), Vec::new()).map_err(|e| vec![e[0].message.clone()])?;
        if !unknown.is_empty() {
            return Err(unknown.iter().map(|e| format!("{}: {}", e.key, e.message)).collect());
        }
        validate(raw).map_err(|e| e.iter().map(|e| format!("{}: {}", e.key, e.message)).collect())
    }

    #[test]
    fn the_issue_example_is_valid_and_typed() {
        let c = check(
            "kind = \"wonde\"\nurl = \"https://api.wonde.com/v1.0\"\nschool_id = \"A1234567890\"\ntoken_file = \"wonde-token\"\n\
             roster = true\nroster_schedule = \"10 6 * * 1-5\"\nwrite_back = true\nwrite_back_from = \"2026-09-01\"\nreplaceable = [\"B\"]\n",
        )
        .unwrap();
        let mis = c.mis.unwrap();
        assert_eq!(mis.school_id, "A1234567890");
        assert_eq!(mis.url.as_str(), "https://api.wonde.com/v1.0");
        assert!(mis.roster && mis.write_back);
        assert_eq!(mis.write_back_from, chrono::NaiveDate::from_ymd_opt(2026, 9, 1));
        assert_eq!(mis.replaceable.iter().map(|c| c.as_str()).collect::<Vec<_>>(), ["B"]);
        assert_eq!(mis.token.key, "mis.token_file");
    }

    #[test]
    fn without_the_section_there_is_no_link() {
        let (raw, _) = parse(MINIMAL, Vec::new()).unwrap();
        assert!(validate(raw).unwrap().mis.is_none());
    }

    #[test]
    fn every_mistake_is_reported_at_once() {
        let errs = check(
            "kind = \"arbor\"\nurl = \"http://api.wonde.com/v1.0\"\nschool_id = \"A12/34\"\nroster_schedule = \"10 6 * *\"\n\
             write_back = true\nreplaceable = [\"B\", \"Q9\"]\n",
        )
        .unwrap_err();
        let keys: Vec<&str> = errs.iter().map(|e| e.split(':').next().unwrap_or_default()).collect();
        assert_eq!(
            keys,
            [
                "mis.kind",
                "mis.url",
                "mis.school_id",
                "mis.token_file",
                "mis.roster_schedule",
                "mis.write_back_from",
                "mis.replaceable[1]"
            ],
            "{errs:#?}"
        );
        assert!(errs[1].contains("only to this machine"), "{}", errs[1]);
    }

    #[test]
    fn plain_http_is_for_this_machine_only_and_unknown_keys_are_refused() {
        let ok =
            check("kind = \"wonde\"\nurl = \"http://127.0.0.1:9000/v1.0\"\nschool_id = \"A1\"\ntoken_file = \"t\"\n");
        assert!(ok.is_ok(), "{ok:?}");
        let errs = check("kind = \"wonde\"\nschool_id = \"A1\"\ntoken_file = \"t\"\ntoken = \"abc\"\n").unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].starts_with("mis.token: unknown key"), "{errs:?}");
    }
}
