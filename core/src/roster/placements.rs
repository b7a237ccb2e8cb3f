//! The placements file: which provider each pupil attends, and which days and sessions it
//! expects them.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::columns::RosterColumns;
use super::error::{RosterFile, RosterFileError, RosterRowProblem};
use super::table::{self, RowCheck};
use crate::domain::{Session, Upn, Weekdays};

/// A pupil's placement with a provider, with the census fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementRecord {
    /// The line of the file the placement came from (header = line 1), for later messages.
    pub line: usize,
    /// The pupil. Whether the school has this pupil is checked against the store, not here.
    pub upn: Upn,
    /// The provider's id, spelt as in apsync's config.
    pub provider_id: String,
    /// The provider's own reference for the pupil.
    pub provider_ref: Option<String>,
    /// The first day of the placement.
    pub start: NaiveDate,
    /// The last day; `None` while it has no end date.
    pub end: Option<NaiveDate>,
    /// The weekdays the pupil is expected.
    pub weekdays: Weekdays,
    /// The sessions expected on those days, AM before PM, never empty.
    pub sessions: Vec<Session>,
    /// The census's primary reason for the placement.
    pub reason: Option<String>,
    /// Whether the placement is full time; `None` when the file does not say.
    pub full_time: Option<bool>,
}

impl PlacementRecord {
    /// Whether `date` falls between the placement's start and end.
    pub fn is_active_on(&self, date: NaiveDate) -> bool {
        self.start <= date && self.end.is_none_or(|end| date <= end)
    }

    /// Whether the placement expects the pupil at this session: active that day, on one of its
    /// weekdays, and one of its sessions. School days are the calendar's business, not this.
    pub fn expects(&self, date: NaiveDate, session: Session) -> bool {
        self.is_active_on(date) && self.weekdays.contains(date.weekday()) && self.sessions.contains(&session)
    }

    /// Sessions per week, as the census counts them.
    pub fn sessions_per_week(&self) -> usize {
        self.weekdays.len() * self.sessions.len()
    }
}

/// Parses the placements file, refusing the whole file if any row is wrong.
///
/// `known_providers` are the provider ids in apsync's config; the file's provider is matched to
/// them ignoring case, and recorded with the config's spelling.
pub fn parse_placements(
    bytes: &[u8],
    cols: &RosterColumns,
    known_providers: &[&str],
) -> Result<Vec<PlacementRecord>, RosterFileError> {
    let fail = |problems| RosterFileError {
        file: RosterFile::Placements,
        problems,
    };
    let mut problems = Vec::new();
    table::check_date_formats(&cols.date_formats, &mut problems);
    let Some(table) = table::read(bytes, &mut problems) else {
        return Err(fail(problems));
    };
    let upn = table.required(&cols.placement_upn, "placement_upn", &mut problems);
    let provider = table.required(&cols.provider, "provider", &mut problems);
    let provider_ref = table.required(&cols.provider_ref, "provider_ref", &mut problems);
    let start = table.required(&cols.start, "start", &mut problems);
    let end = table.required(&cols.end, "end", &mut problems);
    let days = table.required(&cols.days, "days", &mut problems);
    let sessions = table.optional(&cols.sessions, &mut problems);
    let reason = table.optional(&cols.reason, &mut problems);
    let full_time = table.optional(&cols.full_time, &mut problems);
    let (Some(upn), Some(provider), Some(provider_ref), Some(start), Some(end), Some(days)) =
        (upn, provider, provider_ref, start, end, days)
    else {
        return Err(fail(problems));
    };

    let mut placements = Vec::with_capacity(table.rows.len());
    let mut seen: HashMap<(Upn, String, NaiveDate), usize> = HashMap::new();
    for row in &table.rows {
        let mut check = RowCheck::new(&table, row, &cols.date_formats);
        let pupil = check.upn(upn);
        let provider_id = check.required_text(provider).and_then(|text| {
            let known = known_providers.iter().find(|k| k.trim().eq_ignore_ascii_case(text));
            if known.is_none() {
                check.problems.push(RosterRowProblem::UnknownProvider {
                    provider: text.to_string(),
                    known: known_providers.iter().map(|k| k.to_string()).collect(),
                });
            }
            known.map(|k| k.trim().to_string())
        });
        let first_day = check.date(start);
        let last_day = check.optional_date(end);
        if let (Some(first), Ok(Some(last))) = (first_day, last_day)
            && last < first
        {
            check.problems.push(RosterRowProblem::EndBeforeStart {
                start: first,
                end: last,
            });
        }
        let weekdays = check
            .required_text(days)
            .and_then(|text| match text.parse::<Weekdays>() {
                Ok(weekdays) => Some(weekdays),
                Err(error) => {
                    check.problems.push(RosterRowProblem::BadWeekdays {
                        column: check.header(days),
                        error,
                    });
                    None
                }
            });
        let session_list = match sessions.map(|c| check.text(c)).unwrap_or("") {
            "" => Some(Session::BOTH.to_vec()),
            text => parse_sessions(text).or_else(|| {
                let column = sessions.map(|c| check.header(c)).unwrap_or_default();
                check.problems.push(RosterRowProblem::BadSessions {
                    column,
                    text: text.to_string(),
                });
                None
            }),
        };
        let full_time_flag = match full_time.map(|c| check.text(c)).unwrap_or("") {
            "" => Some(None),
            text => parse_yes_no(text).map(Some).or_else(|| {
                let column = full_time.map(|c| check.header(c)).unwrap_or_default();
                check.problems.push(RosterRowProblem::BadFullTime {
                    column,
                    text: text.to_string(),
                });
                None
            }),
        };
        if let (Some(pupil), Some(provider_id), Some(first)) = (&pupil, &provider_id, first_day) {
            let key = (pupil.clone(), provider_id.clone(), first);
            if let Some(&first_line) = seen.get(&key) {
                check.problems.push(RosterRowProblem::DuplicatePlacement { first_line });
            } else {
                seen.insert(key, row.line);
            }
        }

        let row_problems = std::mem::take(&mut check.problems);
        if !row_problems.is_empty() {
            table::push_row_problems(&mut problems, row.line, row_problems);
            continue;
        }
        if let (Some(upn), Some(provider_id), Some(start), Ok(end), Some(weekdays), Some(sessions), Some(full_time)) = (
            pupil,
            provider_id,
            first_day,
            last_day,
            weekdays,
            session_list,
            full_time_flag,
        ) {
            placements.push(PlacementRecord {
                line: row.line,
                upn,
                provider_id,
                provider_ref: check.optional_text(Some(provider_ref)),
                start,
                end,
                weekdays,
                sessions,
                reason: check.optional_text(reason),
                full_time,
            });
        }
    }
    if problems.is_empty() {
        Ok(placements)
    } else {
        Err(fail(problems))
    }
}

/// `AM`, `PM`, `AM PM`, `AM/PM`, `AM,PM` or `both`, in any case; sorted, without repeats.
fn parse_sessions(text: &str) -> Option<Vec<Session>> {
    if matches!(text.trim().to_lowercase().as_str(), "both" | "all" | "all day") {
        return Some(Session::BOTH.to_vec());
    }
    let mut sessions = Vec::new();
    let words = text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '/' | '+' | '&'));
    for word in words.filter(|w| !w.is_empty()) {
        sessions.push(word.parse::<Session>().ok()?);
    }
    sessions.sort();
    sessions.dedup();
    (!sessions.is_empty()).then_some(sessions)
}

/// The usual spellings of yes and no, including full/part time.
fn parse_yes_no(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "y" | "yes" | "true" | "1" | "ft" | "full" | "full time" | "full-time" => Some(true),
        "n" | "no" | "false" | "0" | "pt" | "part" | "part time" | "part-time" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_in_the_usual_spellings() {
        let both = Some(vec![Session::Am, Session::Pm]);
        assert_eq!(parse_sessions("AM PM"), both);
        assert_eq!(parse_sessions("pm/am"), both);
        assert_eq!(parse_sessions("AM, PM, AM"), both);
        assert_eq!(parse_sessions("Both"), both);
        assert_eq!(parse_sessions("am"), Some(vec![Session::Am]));
        assert_eq!(parse_sessions("PM"), Some(vec![Session::Pm]));
        assert_eq!(parse_sessions("morning"), None);
        assert_eq!(parse_sessions(" , "), None);
    }

    #[test]
    fn yes_and_no_in_the_usual_spellings() {
        for yes in ["y", "Y", "Yes", "TRUE", "1", "FT", "Full time"] {
            assert_eq!(parse_yes_no(yes), Some(true), "{yes}");
        }
        for no in ["n", "No", "false", "0", "pt", "part-time"] {
            assert_eq!(parse_yes_no(no), Some(false), "{no}");
        }
        assert_eq!(parse_yes_no("maybe"), None);
    }
}
