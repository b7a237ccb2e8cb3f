//! What a return contributes to the register: marks to write and rows that must wait for a person,
//! with the kinds of review item. (How a new mark meets the one held is applied by the store, as a
//! set: see `store/staged.rs`.)

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::{Code, Session, Upn};

/// One mark of the register: a pupil's session, its statutory code, and the provider that
/// reported it. What the store reads back and what the rules and the digest count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mark {
    /// The pupil's UPN.
    pub upn: String,
    /// The school day.
    pub date: NaiveDate,
    /// AM or PM.
    pub session: Session,
    /// The statutory code.
    pub code: Code,
    /// Who reported it.
    pub provider: String,
}

/// Why a row from a return was held for a person instead of becoming a mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewKind {
    /// No pupil on the roster matches the row's identity.
    UnknownPupil,
    /// More than one pupil matches (e.g. the same name and no date of birth).
    AmbiguousPupil,
    /// The row's UPN or other identifier is malformed.
    InvalidIdentifier,
    /// The provider's mark is not in its vocabulary, or is a code no longer allowed.
    UnknownMark,
    /// The date is outside the pupil's placement with this provider, or not a day it covers.
    OutsidePlacement,
    /// The date is not a school day in the school's calendar.
    NotASchoolDay,
    /// Another provider already recorded this pupil's session.
    Conflict,
    /// The row's date or session cannot be read.
    UnreadableRow,
    /// The return came by an email whose sender was not authenticated (accepted knowingly,
    /// with `authentication = "review"`): a person confirms each mark.
    UnauthenticatedSender,
    /// The return repeats, for a session, a mark of the same provider's that a later return
    /// already replaced (a re-sent old return): the register keeps the correction.
    RepeatsReplaced,
}

impl ReviewKind {
    /// Every kind, for listings and docs.
    pub const ALL: [ReviewKind; 10] = [
        ReviewKind::UnknownPupil,
        ReviewKind::AmbiguousPupil,
        ReviewKind::InvalidIdentifier,
        ReviewKind::UnknownMark,
        ReviewKind::OutsidePlacement,
        ReviewKind::NotASchoolDay,
        ReviewKind::Conflict,
        ReviewKind::UnreadableRow,
        ReviewKind::UnauthenticatedSender,
        ReviewKind::RepeatsReplaced,
    ];

    /// The kind as stored and shown: `unknown-pupil`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewKind::UnknownPupil => "unknown-pupil",
            ReviewKind::AmbiguousPupil => "ambiguous-pupil",
            ReviewKind::InvalidIdentifier => "invalid-identifier",
            ReviewKind::UnknownMark => "unknown-mark",
            ReviewKind::OutsidePlacement => "outside-placement",
            ReviewKind::NotASchoolDay => "not-a-school-day",
            ReviewKind::Conflict => "conflict",
            ReviewKind::UnreadableRow => "unreadable-row",
            ReviewKind::UnauthenticatedSender => "unauthenticated-sender",
            ReviewKind::RepeatsReplaced => "repeats-replaced",
        }
    }
}

impl fmt::Display for ReviewKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text that is not a review kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a review kind")]
pub struct ParseReviewKindError(pub String);

impl FromStr for ReviewKind {
    type Err = ParseReviewKindError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReviewKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ParseReviewKindError(s.to_string()))
    }
}

/// A mark a return reports for one pupil's session.
#[derive(Debug, Clone)]
pub struct NewMark {
    /// The pupil.
    pub upn: Upn,
    /// The school day.
    pub date: NaiveDate,
    /// AM or PM.
    pub session: Session,
    /// The statutory code.
    pub code: Code,
    /// The provider's mark as written.
    pub raw_mark: String,
    /// The provider's comment, if any.
    pub comment: Option<String>,
    /// Where in the file, for a conflict review item.
    pub locator: String,
    /// The row's cells, for a conflict review item.
    pub raw_row: Vec<String>,
}

/// A row that must wait for a person.
#[derive(Debug, Clone)]
pub struct NewReview {
    /// Why.
    pub kind: ReviewKind,
    /// Where in the file.
    pub locator: String,
    /// The pupil as the row names them.
    pub identifier: Option<String>,
    /// The row's cells.
    pub raw_row: Vec<String>,
    /// The explanation shown to the person deciding.
    pub reason: String,
    /// The pupil, when known.
    pub upn: Option<Upn>,
    /// The date, when readable.
    pub date: Option<NaiveDate>,
    /// The session, when readable.
    pub session: Option<Session>,
    /// The provider's mark as written.
    pub raw_mark: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_text() {
        for k in ReviewKind::ALL {
            assert_eq!(k.as_str().parse::<ReviewKind>(), Ok(k));
        }
        assert!("nonsense".parse::<ReviewKind>().is_err());
    }
}
