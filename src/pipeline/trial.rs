//! Trying a provider's format on a file, writing nothing: what `apsync format try` shows.
//!
//! The file is read by the same path as an import ([`Reading`]): the same header search,
//! layout, dates, date checks and normalising, so what the trial says is what an import of the
//! file would do, with the same words. Only what the store decides (a session given two marks
//! in one file, another provider's mark, a repeated return) is not tried.

use chrono::NaiveDate;
use serde::Serialize;

use super::decode::{ReadError, survey};
use super::error::DecodeError;
use super::format::{CheckedFormat, Format, LayoutStyle};
use super::import::{Content, ImportError, RosterSnapshot};
use super::layout::ColumnRole;
use super::normalise::{Becomes, Normaliser};
use super::observation::Observation;
use super::reading::Reading;
use crate::config::{Config, ProviderConfig};
use crate::domain::Session;

/// What reading one file with a format gave.
#[derive(Debug, Clone, Serialize)]
pub struct TrialReport {
    /// The file name.
    pub file: String,
    /// Where the header was found, when it was.
    pub header_at: Option<String>,
    /// Each header column and what it is for.
    pub columns: Vec<ColumnRole>,
    /// The layout the format describes: `long: ...` or `wide: ...`.
    pub layout: String,
    /// The date patterns (and spreadsheet dates) that read the file's dates.
    pub date_patterns: Vec<String>,
    /// The first observations and what each becomes.
    pub observations: Vec<TrialRow>,
    /// How many observations became marks.
    pub marks: usize,
    /// How many rows (or cells) would go to review.
    pub review: usize,
    /// Every row that would go to review, with the words an import gives.
    pub problems: Vec<TrialProblem>,
    /// Why the file cannot be read, as an import would record it; nothing else counts then.
    pub rejected: Option<String>,
}

/// One observation and what it becomes.
#[derive(Debug, Clone, Serialize)]
pub struct TrialRow {
    /// Where in the file.
    pub locator: String,
    /// The session's date.
    pub date: NaiveDate,
    /// The session.
    pub session: Session,
    /// The provider's mark as written.
    pub mark: String,
    /// `code /`, `no mark`, or `review (kind)`.
    pub becomes: String,
    /// The pupil's UPN, when the row's identifiers name one pupil.
    pub upn: Option<String>,
    /// The identifiers that named the pupil (`provider reference BF-104 and UPN ...`), or
    /// why no pupil is named.
    pub matched_by: String,
}

/// A row that would go to review.
#[derive(Debug, Clone, Serialize)]
pub struct TrialProblem {
    /// Where in the file.
    pub locator: String,
    /// The review kind.
    pub kind: String,
    /// The reason, as the review queue would show it.
    pub reason: String,
}

impl TrialReport {
    fn new(file: &str, format: &Format) -> Self {
        TrialReport {
            file: file.to_string(),
            header_at: None,
            columns: Vec::new(),
            layout: describe_layout(format),
            date_patterns: Vec::new(),
            observations: Vec::new(),
            marks: 0,
            review: 0,
            problems: Vec::new(),
            rejected: None,
        }
    }
}

/// Reads one file of `provider` with its current format as an import would, writing nothing.
pub(crate) fn try_file(
    config: &Config,
    roster: &RosterSnapshot,
    provider: &ProviderConfig,
    file_name: &str,
    content: &Content,
    rows: usize,
) -> Result<TrialReport, ImportError> {
    let format = provider
        .format
        .as_ref()
        .ok_or_else(|| ImportError::NoFormat(provider.id.clone()))?;
    let normaliser = roster.normaliser(config, provider, format, None);
    try_format(file_name, content, format, &normaliser, rows).map_err(|source| ImportError::Read {
        file: file_name.to_string(),
        source,
    })
}

/// Reads `content` with `format` and `normaliser` as an import would, keeping the first `rows`
/// observations to show. Only failing to read the bytes at all is an error.
pub(crate) fn try_format(
    file_name: &str,
    content: &Content,
    format: &CheckedFormat,
    normaliser: &Normaliser<'_>,
    rows: usize,
) -> std::io::Result<TrialReport> {
    let mut report = TrialReport::new(file_name, format);
    let reject = |report: &mut TrialReport, problem| {
        report.rejected = Some(
            DecodeError {
                file: file_name.to_string(),
                problem,
            }
            .to_string(),
        );
    };
    let surveyed = survey(|| content.open(), format.encoding)?;
    let mut reading = match Reading::open(&surveyed, || content.open(), format, file_name, normaliser, false) {
        Ok(reading) => reading,
        Err(ReadError::Io(e)) => return Err(e),
        Err(ReadError::Decode(problem)) => {
            reject(&mut report, problem);
            return Ok(report);
        }
    };
    report.header_at = Some(reading.reader().header_at().to_string());
    report.columns = reading.reader().roles().to_vec();
    let mut shown: Vec<Observation> = Vec::new();
    let mut keep = |decoded: &super::observation::Decoded| {
        let room = rows.saturating_sub(shown.len());
        shown.extend(decoded.observations.iter().take(room).cloned());
    };
    loop {
        match reading.next(&mut keep) {
            Ok(Some(window)) => {
                report.marks += window.marks.len();
                report.review += window.reviews.len();
                report.problems.extend(window.reviews.into_iter().map(|r| TrialProblem {
                    locator: r.locator,
                    kind: r.kind.to_string(),
                    reason: r.reason,
                }));
            }
            Ok(None) => break,
            Err(ReadError::Io(e)) => return Err(e),
            Err(ReadError::Decode(problem)) => {
                reject(&mut report, problem);
                break;
            }
        }
    }
    report.date_patterns = reading.reader().dates_used();
    if report.rejected.is_none()
        && let Err(e) = reading.finish()
    {
        match e {
            ReadError::Io(e) => return Err(e),
            ReadError::Decode(problem) => reject(&mut report, problem),
        }
    }
    report.observations = shown.into_iter().map(|obs| explain(obs, normaliser)).collect();
    Ok(report)
}

/// What one observation becomes, and which identifiers named its pupil.
fn explain(obs: Observation, normaliser: &Normaliser<'_>) -> TrialRow {
    let (upn, matched_by) = match normaliser.roster().identify(normaliser.provider_id(), &obs.identity) {
        Ok(m) => (Some(m.pupil.upn.to_string()), m.by),
        Err(e) => (None, format!("no pupil: {}", e.reason)),
    };
    let (locator, date, session, mark) = (obs.locator.clone(), obs.date, obs.session, obs.mark.clone());
    let becomes = match normaliser.observation(obs) {
        Becomes::Mark(m) => format!("code {}", m.code),
        Becomes::NoMark => "no mark".to_string(),
        Becomes::Review(r) => format!("review ({})", r.kind),
    };
    TrialRow {
        locator,
        date,
        session,
        mark,
        becomes,
        upn,
        matched_by,
    }
}

/// The layout the format describes, for a person.
fn describe_layout(format: &Format) -> String {
    let l = &format.layout;
    let q = |c: &Option<String>| c.as_deref().map(|c| format!("`{c}`"));
    match l.style {
        LayoutStyle::Wide => {
            let rows = if format.header_rows == 2 {
                ", two header rows"
            } else {
                ""
            };
            format!(
                "wide: a row per pupil, a column per session with headers like {}{rows}",
                q(&l.session_columns).unwrap_or_default()
            )
        }
        LayoutStyle::Long => {
            let date = match (q(&l.datetime), q(&l.date)) {
                (Some(dt), _) => format!("the date and start time in {dt}"),
                (None, Some(d)) => format!("the date in {d}"),
                (None, None) => "the file's date for every row".to_string(),
            };
            let marks = match (q(&l.am), q(&l.pm), q(&l.session), q(&l.time), q(&l.mark)) {
                (Some(am), Some(pm), ..) => format!("AM marks in {am}, PM marks in {pm}"),
                (_, _, Some(s), _, Some(m)) => format!("the session in {s}, the mark in {m}"),
                (_, _, _, Some(t), Some(m)) => format!("the session by the start time in {t}, the mark in {m}"),
                (_, _, _, _, Some(m)) if l.datetime.is_some() => {
                    format!("the session by the start time, the mark in {m}")
                }
                (_, _, _, _, Some(m)) => format!("a whole day's mark in {m}"),
                _ => "no mark column".to_string(),
            };
            format!("long: a row per pupil per date, {date}, {marks}")
        }
    }
}
