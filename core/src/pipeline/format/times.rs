//! Sessions told by a time of day: the ranges of times that mean AM and PM.

use serde::{Deserialize, Serialize};

use crate::domain::Session;

/// The morning range when the format gives none: from midnight to noon.
const DEFAULT_AM: &str = "00:00-12:00";
/// The afternoon range when the format gives none: from noon to midnight.
const DEFAULT_PM: &str = "12:00-24:00";

/// `[layout.session_times]`: which start times mean the morning and which the afternoon, each a
/// range `"HH:MM-HH:MM"` that includes its first minute and stops before its last
/// (`"12:00-24:00"` runs to midnight). A time in neither range goes to review.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct SessionTimes {
    /// The morning's range. Default `"00:00-12:00"` (before noon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub am: Option<String>,
    /// The afternoon's range. Default `"12:00-24:00"` (from noon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pm: Option<String>,
}

/// A range of times of day, in seconds from midnight: `from` included, `until` not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    from: u32,
    until: u32,
}

/// Why a session's time range cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeRangeError {
    /// Not two times with a dash between.
    #[error("`{0}` is not a range of times: write it as \"HH:MM-HH:MM\", such as \"08:00-12:30\"")]
    Shape(String),
    /// The end is not after the start.
    #[error("`{0}` ends before it starts: the first time must be the earlier (a session does not run past midnight)")]
    Backwards(String),
}

impl TimeRange {
    /// Reads `"08:00-12:30"` (spaces around the dash do not matter; `24:00` ends at midnight).
    pub fn parse(text: &str) -> Result<TimeRange, TimeRangeError> {
        let shape = || TimeRangeError::Shape(text.to_string());
        let (from, until) = text.split_once(['-', '\u{2013}']).ok_or_else(shape)?;
        let (from, until) = (clock(from).ok_or_else(shape)?, clock(until).ok_or_else(shape)?);
        if from >= until {
            return Err(TimeRangeError::Backwards(text.to_string()));
        }
        Ok(TimeRange { from, until })
    }

    /// Whether a time of day (seconds from midnight) is in the range.
    pub fn contains(&self, seconds: u32) -> bool {
        (self.from..self.until).contains(&seconds)
    }

    /// Whether two ranges share any time.
    pub fn overlaps(&self, other: &TimeRange) -> bool {
        self.from < other.until && other.from < self.until
    }
}

impl std::fmt::Display for TimeRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hm = |s: u32| format!("{:02}:{:02}", s / 3600, s / 60 % 60);
        write!(f, "{} to {}", hm(self.from), hm(self.until))
    }
}

/// `HH:MM` (one or two digits of hour) as seconds from midnight, `24:00` included.
fn clock(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    let digits = |s: &str, most: usize| !s.is_empty() && s.len() <= most && s.chars().all(|c| c.is_ascii_digit());
    if !digits(h, 2) || !digits(m, 2) || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(24 * 3600),
        (0..=23, 0..=59) => Some(h * 3600 + m * 60),
        _ => None,
    }
}

impl SessionTimes {
    /// Each session's range, the defaults where the format gives none; the first range that
    /// cannot be read is the error, with its key under `session_times`.
    pub fn ranges(&self) -> Result<[(Session, TimeRange); 2], (&'static str, TimeRangeError)> {
        let range = |key: &'static str, given: &Option<String>, default: &str| {
            TimeRange::parse(given.as_deref().unwrap_or(default)).map_err(|why| (key, why))
        };
        Ok([
            (Session::Am, range("am", &self.am, DEFAULT_AM)?),
            (Session::Pm, range("pm", &self.pm, DEFAULT_PM)?),
        ])
    }

    /// The session a start time (seconds from midnight) falls in, or why it falls in none, for
    /// a person (`shown` is the time as the file wrote it).
    pub fn session_at(&self, seconds: u32, shown: &str) -> Result<Session, String> {
        let ranges = self
            .ranges()
            .map_err(|(key, why)| format!("layout.session_times.{key}: {why}"))?;
        ranges
            .iter()
            .find(|(_, r)| r.contains(seconds))
            .map(|(s, _)| *s)
            .ok_or_else(|| {
                format!(
                    "the time `{shown}` is in neither session: this format's morning is {} and its afternoon {} \
                     (`layout.session_times`); ask the provider which session it was",
                    ranges[0].1, ranges[1].1
                )
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_default_is_before_and_from_noon() {
        let t = SessionTimes::default();
        assert_eq!(t.session_at(0, "00:00"), Ok(Session::Am));
        assert_eq!(t.session_at(11 * 3600 + 59 * 60 + 59, "11:59:59"), Ok(Session::Am));
        assert_eq!(t.session_at(12 * 3600, "12:00"), Ok(Session::Pm));
        assert_eq!(t.session_at(23 * 3600 + 59 * 60, "23:59"), Ok(Session::Pm));
    }

    #[test]
    fn configured_ranges_are_honoured_and_a_time_outside_them_is_explained() {
        let t = SessionTimes {
            am: Some("08:00-12:30".into()),
            pm: Some("12:30 - 17:00".into()),
        };
        assert_eq!(t.session_at(12 * 3600 + 15 * 60, "12:15"), Ok(Session::Am));
        assert_eq!(t.session_at(12 * 3600 + 30 * 60, "12:30"), Ok(Session::Pm));
        let why = t.session_at(18 * 3600 + 30 * 60, "18:30").unwrap_err();
        assert!(
            why.contains("`18:30` is in neither session")
                && why.contains("08:00 to 12:30")
                && why.contains("12:30 to 17:00"),
            "{why}"
        );
        assert!(t.session_at(7 * 3600, "07:00").is_err());
    }

    #[test]
    fn ranges_are_read_strictly() {
        assert!(TimeRange::parse("8:00-24:00").is_ok());
        for bad in ["08:00", "8-12", "08:00-12:60", "25:00-26:00", "8:0-12:00", "noon-1pm"] {
            assert_eq!(TimeRange::parse(bad), Err(TimeRangeError::Shape(bad.into())), "{bad}");
        }
        assert_eq!(
            TimeRange::parse("13:00-12:00"),
            Err(TimeRangeError::Backwards("13:00-12:00".into()))
        );
        let (a, b) = (
            TimeRange::parse("08:00-13:00").unwrap(),
            TimeRange::parse("12:00-17:00").unwrap(),
        );
        assert!(a.overlaps(&b) && !a.overlaps(&TimeRange::parse("13:00-14:00").unwrap()));
    }
}
