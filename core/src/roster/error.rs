//! Why a roster file was refused. A school's IT person reads these, so every problem names the
//! line and column as they appear in the file and says what to change.

use std::fmt::{self, Write as _};

use chrono::NaiveDate;

use crate::domain::{Upn, UpnError, WeekdaysError};

/// How many problems the message lists before summarising the rest; the full list stays in
/// [`RosterFileError::problems`].
const SHOWN_PROBLEMS: usize = 100;

/// Which of the two roster files a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RosterFile {
    /// The MIS export of pupils.
    Pupils,
    /// The placements file.
    Placements,
}

impl fmt::Display for RosterFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RosterFile::Pupils => "pupils file",
            RosterFile::Placements => "placements file",
        })
    }
}

/// A roster file refused as a whole, with every problem found in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RosterFileError {
    /// Which file.
    pub file: RosterFile,
    /// Every problem, file-wide ones first, then by line.
    pub problems: Vec<RosterProblem>,
}

impl fmt::Display for RosterFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        let plural = if count == 1 { "" } else { "s" };
        write!(
            f,
            "the {} has {count} problem{plural}, so nothing was imported; fix {} and import the file again:",
            self.file,
            if count == 1 { "it" } else { "them" }
        )?;
        for problem in self.problems.iter().take(SHOWN_PROBLEMS) {
            write!(f, "\n  - {problem}")?;
        }
        if count > SHOWN_PROBLEMS {
            write!(f, "\n  ... and {} more", count - SHOWN_PROBLEMS)?;
        }
        Ok(())
    }
}

/// One problem with a roster file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RosterProblem {
    /// Nothing but blank lines.
    #[error("the file is empty: it has no header row")]
    NoHeader,
    /// Bytes that are not UTF-8, typically a file saved as "CSV" (Windows-1252) from Excel.
    #[error(
        "the file is not UTF-8 text ({}): save it as \"CSV UTF-8\" from the MIS or spreadsheet",
        list_lines(.lines)
    )]
    NotUtf8 {
        /// The lines holding bytes that are not UTF-8.
        lines: Vec<usize>,
    },
    /// The CSV reader stopped.
    #[error("line {line}: the file cannot be read as CSV ({message})")]
    Csv {
        /// Where it stopped.
        line: usize,
        /// The reader's explanation.
        message: String,
    },
    /// No date patterns are configured, so no date could be read.
    #[error("no date patterns are configured: set `date_formats` in the roster column settings, e.g. [\"%d/%m/%Y\"]")]
    NoDateFormats,
    /// A configured date pattern that is not a valid strftime pattern.
    #[error("the date pattern `{pattern}` in `date_formats` is not a valid pattern (use e.g. %d/%m/%Y or %Y-%m-%d)")]
    BadDateFormat {
        /// The pattern.
        pattern: String,
    },
    /// A required column is not in the header row.
    #[error(
        "the column `{column}` is missing; the header row has {}. Rename the column in the export, or set `{setting}` in the roster column settings to the name the file uses",
        list_names(.found)
    )]
    MissingColumn {
        /// The column looked for.
        column: String,
        /// The setting that names it.
        setting: &'static str,
        /// The headers found.
        found: Vec<String>,
    },
    /// A column needed for the import appears more than once.
    #[error("the column `{column}` appears more than once (columns {}): remove or rename the extra one", join_numbers(.positions))]
    DuplicateColumn {
        /// The column's name.
        column: String,
        /// 1-based positions where it appears.
        positions: Vec<usize>,
    },
    /// A problem with one row.
    #[error("line {line}: {problem}")]
    Row {
        /// The line the row starts on, counting the header as line 1.
        line: usize,
        /// What is wrong with it.
        problem: RosterRowProblem,
    },
}

/// What is wrong with one row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RosterRowProblem {
    /// A required value is blank.
    #[error("`{column}` is empty; it is required")]
    EmptyField {
        /// The column's header.
        column: String,
    },
    /// The UPN is not valid.
    #[error("{0}")]
    InvalidUpn(UpnError),
    /// The pupils file lists the same UPN twice.
    #[error("UPN {upn} is also on line {first_line}: each pupil must appear once")]
    DuplicateUpn {
        /// The UPN.
        upn: Upn,
        /// The line where it first appears.
        first_line: usize,
    },
    /// Two pupils share an admission number (leading zeros not significant).
    #[error(
        "admission number `{admission_number}` is also on line {first_line}: admission numbers must be unique (leading zeros do not count)"
    )]
    DuplicateAdmissionNumber {
        /// The admission number as written on this row.
        admission_number: String,
        /// The line where it first appears.
        first_line: usize,
    },
    /// The placements file lists the same placement twice.
    #[error("the same placement (pupil, provider and start date) is also on line {first_line}: remove one")]
    DuplicatePlacement {
        /// The line where it first appears.
        first_line: usize,
    },
    /// A provider not in apsync's config.
    #[error("provider `{provider}` is not configured; the configured providers are {}. Correct the row, or add the provider to the config first", list_names(.known))]
    UnknownProvider {
        /// The provider as written.
        provider: String,
        /// The configured provider ids.
        known: Vec<String>,
    },
    /// A date in none of the configured patterns.
    #[error("`{text}` in `{column}` is not a valid date in any pattern this import accepts ({}); correct it, or add the file's pattern to `date_formats`", describe_patterns(.patterns))]
    BadDate {
        /// The column's header.
        column: String,
        /// The text found.
        text: String,
        /// The patterns tried.
        patterns: Vec<String>,
    },
    /// A placement ending before it starts.
    #[error("the placement ends on {end}, before it starts on {start}: check the two dates")]
    EndBeforeStart {
        /// The start.
        start: NaiveDate,
        /// The end.
        end: NaiveDate,
    },
    /// The expected days are not weekdays.
    #[error("in `{column}`: {error}")]
    BadWeekdays {
        /// The column's header.
        column: String,
        /// Why.
        error: WeekdaysError,
    },
    /// The expected sessions are not AM/PM.
    #[error("`{text}` in `{column}` is not a list of sessions: write AM, PM or AM PM (blank means both)")]
    BadSessions {
        /// The column's header.
        column: String,
        /// The text found.
        text: String,
    },
    /// A year group that is not a national curriculum year.
    #[error("`{text}` in `{column}` is not a year group: write e.g. 11, Y11, Year 11, R or N2 (or leave it blank)")]
    BadYearGroup {
        /// The column's header.
        column: String,
        /// The text found.
        text: String,
    },
    /// A full-time flag that is not yes or no.
    #[error("`{text}` in `{column}` is not yes or no: write y or n (or leave it blank)")]
    BadFullTime {
        /// The column's header.
        column: String,
        /// The text found.
        text: String,
    },
}

/// `line 3`, `lines 3, 7, 9`, eliding a long list.
fn list_lines(lines: &[usize]) -> String {
    let prefix = if lines.len() == 1 { "line" } else { "lines" };
    format!("{prefix} {}", join_numbers(lines))
}

/// `3, 7, 9`, eliding a long list.
fn join_numbers(numbers: &[usize]) -> String {
    const SHOWN: usize = 10;
    let shown: Vec<String> = numbers.iter().take(SHOWN).map(ToString::to_string).collect();
    let mut out = shown.join(", ");
    if numbers.len() > SHOWN {
        let _ = write!(out, " and {} more", numbers.len() - SHOWN);
    }
    out
}

fn list_names(names: &[String]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// Each pattern with an example of a date written in it, so the reader can compare.
fn describe_patterns(patterns: &[String]) -> String {
    if patterns.is_empty() {
        return "no patterns are configured".into();
    }
    let described: Vec<String> = patterns
        .iter()
        .map(|p| match example_date(p) {
            Some(example) => format!("{p}, like {example}"),
            None => p.clone(),
        })
        .collect();
    format!("tried {}", described.join("; "))
}

/// 2 March 2026 written in `pattern`, or `None` when the pattern is invalid.
pub(super) fn example_date(pattern: &str) -> Option<String> {
    let date = NaiveDate::from_ymd_opt(2026, 3, 2)?;
    let mut out = String::new();
    // `write!` rather than `to_string`, which would panic on an invalid pattern.
    write!(out, "{}", date.format(pattern)).ok()?;
    Some(out)
}
