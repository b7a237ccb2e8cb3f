//! Staff visits to placed pupils (pure): what a visit holds, checking one as written, and the JSON
//! an endpoint receives for it.
//!
//! A visit arrives as text ([`VisitInput`]: from the HTTP API, `apsync visit add` or a CSV row)
//! and is checked by [`check`] into a [`CheckedVisit`]; resolving the pupil (unknown, not placed
//! on the visit's date) needs the store and happens in `runtime::visits`. What is queued for each
//! endpoint is a [`VisitDocument`]; [`PayloadTemplate::render`] turns it into the body an endpoint
//! was configured to want, at delivery time, so a corrected template applies to retries.

mod check;
pub mod csv;
mod payload;

use crate::sha256::hex;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use check::{CheckedVisit, FIELDS, MAX_TEXT_CHARS, VisitInput, check, control_characters};
pub use payload::{PAYLOAD_FIELDS, PayloadTemplate, PupilIdentifier, TITLE_PLACEHOLDERS, TitleError, check_title};

/// How the visit was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitKind {
    /// In person at the provider.
    OnSite,
    /// A phone call.
    Phone,
    /// A video call.
    Video,
}

impl VisitKind {
    /// As stored and sent: `on_site`, `phone`, `video`.
    pub fn as_str(self) -> &'static str {
        match self {
            VisitKind::OnSite => "on_site",
            VisitKind::Phone => "phone",
            VisitKind::Video => "video",
        }
    }

    /// As a person reads it.
    pub fn label(self) -> &'static str {
        match self {
            VisitKind::OnSite => "On site",
            VisitKind::Phone => "Phone",
            VisitKind::Video => "Video",
        }
    }
}

impl fmt::Display for VisitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for VisitKind {
    type Err = String;

    /// Accepts `on_site`, `on site`, `on-site`, `onsite`, `phone`, `video`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-'))
            .collect();
        match key.as_str() {
            "onsite" | "visit" | "inperson" => Ok(VisitKind::OnSite),
            "phone" | "telephone" | "call" => Ok(VisitKind::Phone),
            "video" | "videocall" => Ok(VisitKind::Video),
            _ => Err(format!(
                "`{}` is not a visit type: use on_site, phone or video",
                s.trim()
            )),
        }
    }
}

/// One problem with a visit as written, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The field, as the API and CSV name it (`occurred_at`, `pupil`, ...).
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl Problem {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A recorded visit as queued for an endpoint: everything a payload may be built from. It is the
/// outbox row's payload, so a dead letter keeps it and `outbox retry` replays it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitDocument {
    /// The visit's own stable id (also the idempotency key).
    pub external_id: String,
    /// The pupil's UPN.
    pub upn: String,
    /// The pupil's admission number.
    pub admission_number: String,
    /// The provider the pupil was placed with on the day, if known.
    pub provider: Option<String>,
    /// When the visit took place.
    pub occurred_at: DateTime<Utc>,
    /// Who visited.
    pub staff: String,
    /// On site, phone or video.
    #[serde(rename = "type")]
    pub kind: VisitKind,
    /// What was seen and agreed.
    #[serde(flatten)]
    pub notes: VisitNotes,
    /// When to follow up.
    pub follow_up: Option<NaiveDate>,
}

/// A visit's notes, each under its heading; the same five in what staff write, what is checked
/// and what is recorded and pushed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitNotes {
    /// The pupil's own views.
    pub pupil_views: Option<String>,
    /// Notes on progress.
    pub progress: Option<String>,
    /// Notes on behaviour.
    pub behaviour: Option<String>,
    /// Notes on welfare.
    pub welfare: Option<String>,
    /// Actions agreed.
    pub actions: Option<String>,
}

impl VisitDocument {
    /// The body text: every note under its heading, empty ones left out.
    pub fn body(&self) -> String {
        let mut parts = vec![format!("Visit type: {}", self.kind.label())];
        let sections = [
            ("Pupil's views", &self.notes.pupil_views),
            ("Progress", &self.notes.progress),
            ("Behaviour", &self.notes.behaviour),
            ("Welfare", &self.notes.welfare),
            ("Actions agreed", &self.notes.actions),
        ];
        for (heading, text) in sections {
            if let Some(text) = text.as_deref().filter(|t| !t.trim().is_empty()) {
                parts.push(format!("{heading}:\n{}", text.trim()));
            }
        }
        if let Some(d) = self.follow_up {
            parts.push(format!("Follow-up by: {d}"));
        }
        parts.join("\n\n")
    }
}

/// A visit id: `visit-` and 128 random bits in hex. The bits come from the caller (the runtime
/// draws them from the operating system), so this stays pure.
pub fn external_id(random: [u8; 16]) -> String {
    format!("visit-{}", hex(&random))
}

/// A placed pupil and their latest visit: the input of the "visit overdue" rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastVisit {
    /// The pupil.
    pub upn: String,
    /// Their admission number.
    pub admission_number: String,
    /// Where they are placed.
    pub provider_id: String,
    /// Their latest visit, if any.
    pub last_visit: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests;
