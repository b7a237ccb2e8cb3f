//! Where the marks are in a file: the layout, the session words and the document date.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::marks::normalise_key;
use super::times::SessionTimes;
use crate::domain::Session;

/// Where the dates, sessions and marks are. One table for both styles; each key says which
/// style it belongs to, and `validate` reports keys given for the other style.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Layout {
    /// `long`: a row per pupil per date (or per session). `wide`: a row per pupil, a column per
    /// session.
    pub style: LayoutStyle,

    /// Long: the column holding the date. When absent the file's `document_date` is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Long: the column saying which session the row is for (`AM`/`PM`, or the words in
    /// `session_values`). Use with `mark`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Long: a column holding the date and the start time of the session together
    /// (`2026-04-20T09:00:00`, `20/04/2026 13:15`): it gives both the row's date and its
    /// session (by `session_times`). Instead of `date` and `session`; use with `mark`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datetime: Option<String>,
    /// Long: a column holding the session's start time (`09:00`, `1:15 pm`), beside the
    /// `date` column: it gives the session (by `session_times`). Instead of `session`; use
    /// with `mark`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Long, with `datetime` or `time`: which start times mean AM and which PM. Default:
    /// before 12:00 is AM, from 12:00 is PM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_times: Option<SessionTimes>,
    /// Long: the column holding the mark. With `session`, the mark is for that session;
    /// without it (and without `am`/`pm`), the mark is for the whole day (both sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<String>,
    /// Long: the column holding the morning mark (instead of `session` + `mark`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub am: Option<String>,
    /// Long: the column holding the afternoon mark (instead of `session` + `mark`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pm: Option<String>,
    /// The column holding the reason, shared by every mark of the row (long or wide). Marks
    /// that defer to the reason (`"reason"` in `marks.map`) look it up in `marks.reasons`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Long, with `am`: the column holding the morning mark's own reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub am_reason: Option<String>,
    /// Long, with `pm`: the column holding the afternoon mark's own reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pm_reason: Option<String>,
    /// The column holding a free-text comment for the row, kept with the mark. Optional: a
    /// file without this column still reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,

    /// Wide: the pattern of a session column's header. Placeholders: `{date}` (read with
    /// `date_formats`), `{weekday}` (`Mon`, `Tuesday`, ...: the date is that weekday of the
    /// week containing the `document_date`), `{session}` (`AM`, `PM` or a `session_values`
    /// word) and `{any}` (any text, possibly none). Other text must match, ignoring case and
    /// spaces. Examples: `"{date} {session}"`, `"{weekday} {session}"`,
    /// `"{session} ({date})"`. Without `{session}` a column holds a whole day's mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_columns: Option<String>,

    /// Extra words for sessions, in a session column or in wide headers, each mapped to `AM`,
    /// `PM` or `both` (a whole day): `Morning = "AM"`, `"All day" = "both"`. `AM`, `PM`,
    /// `a.m.`, `p.m.`, `Morning` and `Afternoon` are always understood. Case and spaces do not
    /// matter.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub session_values: BTreeMap<String, SessionValue>,
}

/// The two layouts of a return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayoutStyle {
    /// A row per pupil per date (or per session).
    Long,
    /// A row per pupil, a column per session.
    Wide,
}

/// What a session word means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum SessionValue {
    /// The morning session.
    #[serde(rename = "AM", alias = "am")]
    Am,
    /// The afternoon session.
    #[serde(rename = "PM", alias = "pm")]
    Pm,
    /// Both sessions: the mark is for the whole day.
    #[serde(rename = "both", alias = "BOTH", alias = "Both")]
    Both,
}

impl SessionValue {
    /// The sessions this value stands for, in register order.
    pub fn sessions(self) -> &'static [Session] {
        match self {
            SessionValue::Am => &[Session::Am],
            SessionValue::Pm => &[Session::Pm],
            SessionValue::Both => &Session::BOTH,
        }
    }
}

/// The session words every format understands.
const BUILT_IN_SESSION_WORDS: [(&str, SessionValue); 6] = [
    ("AM", SessionValue::Am),
    ("a.m.", SessionValue::Am),
    ("Morning", SessionValue::Am),
    ("PM", SessionValue::Pm),
    ("p.m.", SessionValue::Pm),
    ("Afternoon", SessionValue::Pm),
];

impl Layout {
    /// What a session word means, with the format's own words first, then the built-in ones;
    /// case and spaces do not matter.
    pub fn session_value(&self, word: &str) -> Option<SessionValue> {
        let key = normalise_key(word);
        if key.is_empty() {
            return None;
        }
        self.session_values
            .iter()
            .find(|(w, _)| normalise_key(w) == key)
            .map(|(_, v)| *v)
            .or_else(|| {
                BUILT_IN_SESSION_WORDS
                    .iter()
                    .find(|(w, _)| normalise_key(w) == key)
                    .map(|(_, v)| *v)
            })
    }

    /// Every session word understood, for messages.
    pub fn session_words(&self) -> Vec<String> {
        let mut words: Vec<String> = self.session_values.keys().cloned().collect();
        words.extend(BUILT_IN_SESSION_WORDS.iter().map(|(w, _)| (*w).to_string()));
        words
    }

    /// Every column named by the layout, with whether a file must have it.
    pub fn columns(&self) -> Vec<(&str, bool)> {
        self.keyed_columns()
            .into_iter()
            .map(|(key, name)| (name, key != "comment"))
            .collect()
    }

    /// Every column named, with its key under `layout` (for messages).
    pub fn keyed_columns(&self) -> Vec<(&'static str, &str)> {
        [
            ("date", &self.date),
            ("datetime", &self.datetime),
            ("session", &self.session),
            ("time", &self.time),
            ("mark", &self.mark),
            ("am", &self.am),
            ("pm", &self.pm),
            ("reason", &self.reason),
            ("am_reason", &self.am_reason),
            ("pm_reason", &self.pm_reason),
            ("comment", &self.comment),
        ]
        .into_iter()
        .filter_map(|(k, c)| c.as_deref().map(|c| (k, c)))
        .collect()
    }

    /// The session a start time (seconds from midnight) falls in, by `session_times` or the
    /// default ranges; `shown` is the time as written, for the message.
    pub fn session_at(&self, seconds: u32, shown: &str) -> Result<Session, String> {
        match &self.session_times {
            Some(times) => times.session_at(seconds, shown),
            None => SessionTimes::default().session_at(seconds, shown),
        }
    }

    /// Whether any reason column is named, so a mark can defer to a reason.
    pub fn has_reason_column(&self) -> bool {
        self.reason.is_some() || self.am_reason.is_some() || self.pm_reason.is_some()
    }
}

/// A date that holds for the whole file, read from a labelled title cell or the file name
/// (tried in that order). In a long layout without a date column it is every row's date; with
/// wide `{weekday}` headers, the week containing it gives each weekday's date (so a "week
/// commencing" Monday and a "week ending" Friday or Sunday both work).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct DocumentDate {
    /// The text of a label cell, such as `Week commencing:`; case, spaces and a trailing colon
    /// do not matter. The date is the rest of that cell after the label, or else the next
    /// non-blank cell to its right.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// A pattern for the file name with a `{date}` placeholder and optionally `{any}`, such
    /// as `"{any}w-c {date}.csv"` or `"BF_attendance_{date}.csv"` (case does not matter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
}
