//! Checking a visit as written: every problem at once, each naming its field.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::{Problem, VisitKind};
use crate::visits::VisitNotes;

/// The fields of a visit, as the API, the CLI and CSV headers name them.
pub const FIELDS: &[&str] = &[
    "pupil",
    "occurred_at",
    "staff",
    "type",
    "pupil_views",
    "progress",
    "behaviour",
    "welfare",
    "actions",
    "follow_up",
];

/// The longest text a note may hold, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;

/// How far ahead of the clock a visit may be dated (clocks differ a little).
const CLOCK_SKEW_MINUTES: i64 = 5;

/// A visit as someone wrote it: every field text, none checked yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitInput {
    /// The pupil's admission number or UPN.
    pub pupil: Option<String>,
    /// When: RFC 3339 (`2026-03-02T10:30:00Z`), or `YYYY-MM-DD HH:MM` in the school's time zone.
    pub occurred_at: Option<String>,
    /// The member of staff who visited.
    pub staff: Option<String>,
    /// `on_site`, `phone` or `video`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The notes, as written.
    #[serde(flatten)]
    pub notes: VisitNotes,
    /// Follow-up date, `YYYY-MM-DD`.
    pub follow_up: Option<String>,
}

/// A visit whose fields are well formed; the pupil is not yet looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedVisit {
    /// The admission number or UPN, trimmed.
    pub pupil: String,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// The visit's date in the school's time zone (placements are by date).
    pub date: NaiveDate,
    /// Who visited.
    pub staff: String,
    /// How.
    pub kind: VisitKind,
    /// The notes, trimmed; blank ones are `None`.
    pub notes: VisitNotes,
    /// Follow-up date.
    pub follow_up: Option<NaiveDate>,
}

/// The fields written on one line: a control character in them (a line break, NUL, escape) is
/// refused, as it could forge a line in a log or a record, or break a database's text column.
const SINGLE_LINE: &[&str] = &["pupil", "occurred_at", "staff", "type", "follow_up"];

/// A problem for each single-line field holding a control character.
pub fn control_characters(input: &VisitInput) -> Vec<Problem> {
    let values = [
        &input.pupil,
        &input.occurred_at,
        &input.staff,
        &input.kind,
        &input.follow_up,
    ];
    SINGLE_LINE
        .iter()
        .zip(values)
        .filter(|(_, v)| v.as_deref().is_some_and(|v| v.chars().any(char::is_control)))
        .map(|(field, _)| {
            Problem::new(
                *field,
                "holds a control character (a line break, tab, NUL or similar): write it on one line, as plain text",
            )
        })
        .collect()
}

/// A note as stored: line breaks made `\n` (from `\r\n` or a lone `\r`), tabs kept, every
/// other control character (NUL, escape, ...) dropped; then trimmed, None when blank.
fn note(value: &Option<String>) -> Option<String> {
    let raw = value.as_deref()?;
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    text(&Some(out))
}

/// Checks a visit's fields against the school's time zone and the clock.
pub fn check(input: &VisitInput, tz: Tz, now: DateTime<Utc>) -> Result<CheckedVisit, Vec<Problem>> {
    let mut problems = control_characters(input);
    let mut required = |value: &Option<String>, field: &str, what: &str| match text(value) {
        Some(v) => Some(v),
        None => {
            problems.push(Problem::new(field, format!("missing: {what}")));
            None
        }
    };
    let pupil = required(&input.pupil, "pupil", "the pupil's admission number or UPN");
    let when = required(
        &input.occurred_at,
        "occurred_at",
        "when the visit took place, e.g. 2026-03-02T10:30:00Z or 2026-03-02 10:30",
    );
    let staff = required(&input.staff, "staff", "the name of the member of staff who visited");
    let kind = required(&input.kind, "type", "on_site, phone or video");
    let kind = kind.and_then(|k| match k.parse::<VisitKind>() {
        Ok(k) => Some(k),
        Err(e) => {
            problems.push(Problem::new("type", e));
            None
        }
    });
    let occurred_at = when.and_then(|w| match parse_when(&w, tz) {
        Some(t) if t > now + Duration::minutes(CLOCK_SKEW_MINUTES) => {
            problems.push(Problem::new(
                "occurred_at",
                format!("{w} is in the future: log a visit after it has taken place"),
            ));
            None
        }
        Some(t) => Some(t),
        None => {
            problems.push(Problem::new(
                "occurred_at",
                format!(
                    "`{w}` is not a time: write 2026-03-02T10:30:00Z, or 2026-03-02 10:30 in the school's time zone"
                ),
            ));
            None
        }
    });
    let date = occurred_at.map(|t| t.with_timezone(&tz).date_naive());
    let follow_up = text(&input.follow_up).and_then(|f| match NaiveDate::parse_from_str(&f, "%Y-%m-%d") {
        Ok(d) if date.is_some_and(|v| d < v) => {
            problems.push(Problem::new(
                "follow_up",
                format!("{d} is before the visit: give a later date"),
            ));
            None
        }
        Ok(d) => Some(d),
        Err(_) => {
            problems.push(Problem::new(
                "follow_up",
                format!("`{f}` is not a date: write it as YYYY-MM-DD"),
            ));
            None
        }
    });
    let notes = [
        ("pupil_views", &input.notes.pupil_views),
        ("progress", &input.notes.progress),
        ("behaviour", &input.notes.behaviour),
        ("welfare", &input.notes.welfare),
        ("actions", &input.notes.actions),
    ];
    for (field, value) in notes {
        if value.as_ref().is_some_and(|v| v.chars().count() > MAX_TEXT_CHARS) {
            problems.push(Problem::new(
                field,
                format!("longer than {MAX_TEXT_CHARS} characters: shorten it or attach the rest on CPOMS"),
            ));
        }
    }
    if staff.as_ref().is_some_and(|s| s.chars().count() > 200) {
        problems.push(Problem::new("staff", "longer than 200 characters: give the name only"));
    }
    if [&input.notes.progress, &input.notes.behaviour, &input.notes.welfare]
        .iter()
        .all(|v| note(v).is_none())
    {
        problems.push(Problem::new(
            "progress",
            "the notes are empty: write at least one of progress, behaviour or welfare",
        ));
    }
    match (pupil, occurred_at, date, staff, kind) {
        (Some(pupil), Some(occurred_at), Some(date), Some(staff), Some(kind)) if problems.is_empty() => {
            Ok(CheckedVisit {
                pupil,
                occurred_at,
                date,
                staff,
                kind,
                notes: VisitNotes {
                    pupil_views: note(&input.notes.pupil_views),
                    progress: note(&input.notes.progress),
                    behaviour: note(&input.notes.behaviour),
                    welfare: note(&input.notes.welfare),
                    actions: note(&input.notes.actions),
                },
                follow_up,
            })
        }
        _ => Err(problems),
    }
}

/// The trimmed text, or None when missing or blank.
fn text(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// RFC 3339, or a local `YYYY-MM-DD HH:MM[:SS]` (a `T` may separate them) in the school's zone.
/// A local time that a clock change skips does not exist; one that it repeats takes the first.
/// A leap second (`:60`) is not a time a visit is logged at: under an offset with seconds (the
/// zone's local mean time before 1847) it becomes an instant that does not survive the outbox.
fn parse_when(text: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let when = if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        t.with_timezone(&Utc)
    } else {
        let normalised = text.replacen('T', " ", 1);
        let local = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(&normalised, f).ok())?;
        tz.from_local_datetime(&local).earliest()?.with_timezone(&Utc)
    };
    (when.nanosecond() < 1_000_000_000).then_some(when)
}
