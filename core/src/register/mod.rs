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
    /// The MIS holds a mark a person entered where the register's differs: keep the MIS's
    /// (dismiss) or write the register's (resolve with the code).
    MisConflict,
}

impl ReviewKind {
    /// Every kind, for listings and docs.
    pub const ALL: [ReviewKind; 11] = [
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
        ReviewKind::MisConflict,
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
            ReviewKind::MisConflict => "mis-conflict",
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

/// The mark a session holds, as the register's rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldMark<'a> {
    /// The provider whose return (or whose row, when a person decided it) gave it.
    pub provider: &'a str,
    /// Its code.
    pub code: Code,
    /// A person decided it (a review item resolved), so no return overwrites it.
    pub decided: bool,
}

/// What a provider's mark does to a session, by the register's rule ([`meet`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Meeting {
    /// The session holds no mark: the new one is written.
    Insert,
    /// The session holds the provider's own mark with the same code: nothing changes.
    Unchanged,
    /// The session holds the provider's own earlier mark with another code, and no person
    /// decided it: a later return corrects an earlier one, so the new mark replaces it and the
    /// earlier one goes to history.
    Replace,
    /// The session holds another provider's mark, or a person's decision the return
    /// contradicts: neither is ever overwritten by a return, so the new mark waits for review.
    Conflict,
}

impl Meeting {
    /// Every outcome, for tests that walk them all.
    pub const ALL: [Meeting; 4] = [Meeting::Insert, Meeting::Unchanged, Meeting::Replace, Meeting::Conflict];

    /// The outcome as the store's SQL names it: `insert`, `unchanged`, `replace`, `conflict`.
    pub fn as_str(self) -> &'static str {
        match self {
            Meeting::Insert => "insert",
            Meeting::Unchanged => "unchanged",
            Meeting::Replace => "replace",
            Meeting::Conflict => "conflict",
        }
    }
}

/// The register's rule: what `provider`'s mark `code` does to a session that holds `held`.
///
/// The store applies the same rule to a whole return at once, in SQL (`store/staged.rs`, its
/// `meeting!` fragment); the store suite drives every case of this function through that SQL
/// on both backends, so the two cannot drift apart.
pub fn meet(held: Option<HeldMark<'_>>, provider: &str, code: Code) -> Meeting {
    match held {
        None => Meeting::Insert,
        Some(h) if h.provider == provider && h.code == code => Meeting::Unchanged,
        Some(h) if h.provider == provider && !h.decided => Meeting::Replace,
        Some(_) => Meeting::Conflict,
    }
}

/// Whether a return that would put back a value its provider's later return already replaced
/// (a [`Meeting::Replace`] that repeats a corrected value) proves it is newer than that
/// correction, and so replaces it after all: only when it says when it was made
/// (`report_date`) and that is after the correcting return's date (its own report date, or
/// the day it was received when it names none). Otherwise a re-sent old return would undo a
/// correction, so the mark waits for review ([`ReviewKind::RepeatsReplaced`]).
pub fn repeat_is_newer(report_date: Option<NaiveDate>, correction_date: Option<NaiveDate>) -> bool {
    match (report_date, correction_date) {
        (Some(mine), Some(theirs)) => mine > theirs,
        _ => false,
    }
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

    #[test]
    fn a_mark_meets_the_held_one_by_the_rule() {
        let held = |provider, code, decided| {
            Some(HeldMark {
                provider,
                code,
                decided,
            })
        };
        assert_eq!(meet(None, "a", Code::B), Meeting::Insert);
        assert_eq!(meet(held("a", Code::B, false), "a", Code::B), Meeting::Unchanged);
        assert_eq!(meet(held("a", Code::B, true), "a", Code::B), Meeting::Unchanged);
        assert_eq!(meet(held("a", Code::N, false), "a", Code::B), Meeting::Replace);
        assert_eq!(meet(held("a", Code::N, true), "a", Code::B), Meeting::Conflict);
        assert_eq!(meet(held("b", Code::B, false), "a", Code::B), Meeting::Conflict);
        assert_eq!(meet(held("b", Code::N, true), "a", Code::B), Meeting::Conflict);
    }

    #[test]
    fn only_a_later_report_date_undoes_a_correction() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 3, d);
        assert!(repeat_is_newer(day(5), day(4)));
        assert!(!repeat_is_newer(day(4), day(4)));
        assert!(!repeat_is_newer(None, day(4)));
        assert!(!repeat_is_newer(day(5), None));
    }
}
