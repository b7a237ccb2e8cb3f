//! Normalising: decoded observations + the roster + the provider's vocabulary + the calendar
//! become register marks and review rows. Pure: no I/O.
//!
//! A row becomes a mark only when every question has a certain answer: which pupil (see
//! [`matcher`]), whether the day is a school day, whether the pupil's placement with this
//! provider covers that session, and which statutory code the provider's mark stands for.
//! Anything else is a review row carrying the reason, and the rest of the file goes on. (A
//! file that gives one session two different marks is caught by the store, which sees the
//! whole document.)

pub mod matcher;
pub mod plausible;

use std::collections::HashMap;

use crate::domain::{Code, PresentCode, SchoolCalendar, Upn, legacy_code_reason};
use crate::pipeline::excerpt::{CELL_CHARS, cut};
use crate::pipeline::format::{Marks, Resolution};
use crate::pipeline::observation::{Decoded, Observation};
use crate::register::{NewMark, NewReview, ReviewKind};
use crate::roster::PlacementRecord;

pub use matcher::RosterIndex;

/// The most characters of a review row's reason and locator: enough for any reason apsync
/// writes, short of a provider's text quoted in it at length.
const REASON_CHARS: usize = 1000;

/// What normalising needs to know about the provider.
#[derive(Debug, Clone, Copy)]
pub struct ProviderRules<'a> {
    /// The provider's id, as on placements.
    pub id: &'a str,
    /// The code its "present" becomes.
    pub present_code: PresentCode,
    /// Its vocabulary.
    pub marks: &'a Marks,
}

/// The marks and review rows of one document.
#[derive(Debug, Clone, Default)]
pub struct Normalised {
    /// Rows that became marks.
    pub marks: Vec<NewMark>,
    /// Rows that wait for a person.
    pub reviews: Vec<NewReview>,
}

/// Turns one document's observations into marks and review rows.
pub fn normalise(
    decoded: Decoded,
    provider: ProviderRules<'_>,
    roster: &RosterIndex,
    placements: &[PlacementRecord],
    calendar: &SchoolCalendar,
) -> Normalised {
    Normaliser::new(provider, roster, placements, calendar).window(decoded)
}

/// Normalising for one provider's document, a window of observations at a time.
///
/// Each observation is settled on its own. Comparing marks across the document (a file that
/// gives one session two different marks contradicts itself) is the store's part, which sees
/// the whole document as it is staged.
pub struct Normaliser<'a> {
    provider: ProviderRules<'a>,
    roster: &'a RosterIndex,
    /// This provider's placements by pupil: a return of a million rows must not scan every
    /// placement for each one.
    placements: HashMap<&'a str, Vec<&'a PlacementRecord>>,
    calendar: &'a SchoolCalendar,
    /// Why no row may go straight into the register, when none may.
    hold: Option<&'a str>,
}

impl<'a> Normaliser<'a> {
    /// Prepares normalising with the provider's rules, the roster and the calendar.
    pub fn new(
        provider: ProviderRules<'a>,
        roster: &'a RosterIndex,
        placements: &'a [PlacementRecord],
        calendar: &'a SchoolCalendar,
    ) -> Self {
        let mut by_pupil: HashMap<&str, Vec<&PlacementRecord>> = HashMap::new();
        for p in placements.iter().filter(|p| p.provider_id == provider.id) {
            by_pupil.entry(p.upn.as_str()).or_default().push(p);
        }
        Normaliser {
            provider,
            roster,
            placements: by_pupil,
            calendar,
            hold: None,
        }
    }

    /// Sends every row that would become a mark to review instead, for `reason` (a return from
    /// an email whose sender was not authenticated): a person confirms each mark.
    pub fn holding_for_review(mut self, reason: Option<&'a str>) -> Self {
        self.hold = reason;
        self
    }

    /// The school calendar the rows are settled against.
    pub fn calendar(&self) -> &SchoolCalendar {
        self.calendar
    }

    /// The marks and review rows of one window of a document's observations.
    pub fn window(&self, decoded: Decoded) -> Normalised {
        let mut out = Normalised::default();
        for problem in decoded.problems {
            out.reviews.push(NewReview {
                kind: ReviewKind::UnreadableRow,
                locator: cut(&problem.locator, REASON_CHARS).into_owned(),
                identifier: problem.identifier.map(|i| cut(&i, CELL_CHARS).into_owned()),
                raw_row: problem.raw_row,
                reason: cut(&problem.message, REASON_CHARS).into_owned(),
                upn: None,
                date: None,
                session: None,
                raw_mark: None,
            });
        }
        for obs in decoded.observations {
            match self.observation(obs) {
                Becomes::Mark(mark) => out.marks.push(mark),
                Becomes::NoMark => {}
                Becomes::Review(r) => out.reviews.push(*r),
            }
        }
        out
    }

    /// What one observation becomes.
    pub fn observation(&self, obs: Observation) -> Becomes {
        match mark_or_review(obs, self.provider, self.roster, &self.placements, self.calendar) {
            Ok(Some(mark)) => match self.hold {
                None => Becomes::Mark(mark),
                Some(reason) => Becomes::Review(Box::new(held(mark, reason))),
            },
            Ok(None) => Becomes::NoMark,
            Err(r) => Becomes::Review(r),
        }
    }

    /// The roster rows are matched against.
    pub fn roster(&self) -> &RosterIndex {
        self.roster
    }

    /// The provider's id.
    pub fn provider_id(&self) -> &str {
        self.provider.id
    }
}

/// What one observation becomes.
#[derive(Debug, Clone)]
pub enum Becomes {
    /// A mark for the register.
    Mark(NewMark),
    /// Nothing: the provider's vocabulary says the mark is no mark.
    NoMark,
    /// A row for a person to decide.
    Review(Box<NewReview>),
}

/// One observation's mark, `None` for a vocabulary "no mark", or the review row instead.
fn mark_or_review(
    obs: Observation,
    provider: ProviderRules<'_>,
    roster: &RosterIndex,
    placements: &HashMap<&str, Vec<&PlacementRecord>>,
    calendar: &SchoolCalendar,
) -> Result<Option<NewMark>, Box<NewReview>> {
    let pupil = roster.find(provider.id, &obs.identity).map_err(|e| {
        let mut item = review(&obs, e.kind, e.reason, None);
        // The review lists the row by the identifier that is wrong, when the reason names one.
        if let Some(identifier) = e.identifier {
            item.identifier = Some(cut(&identifier, CELL_CHARS).into_owned());
        }
        item
    })?;
    let upn = || Some(pupil.upn.clone());
    if !calendar.is_school_day(obs.date) {
        let reason = format!(
            "{} is not a school day in the school calendar (weekend, holiday or closure)",
            obs.date.format("%a %-d %b %Y")
        );
        return Err(review(&obs, ReviewKind::NotASchoolDay, reason, upn()));
    }
    let covered = placements
        .get(pupil.upn.as_str())
        .is_some_and(|list| list.iter().any(|p| p.expects(obs.date, obs.session)));
    if !covered {
        let reason = format!(
            "the pupil (admission number {}) has no placement with {} covering {} {}",
            pupil.admission_number,
            provider.id,
            obs.date.format("%a %-d %b %Y"),
            obs.session
        );
        return Err(review(&obs, ReviewKind::OutsidePlacement, reason, upn()));
    }
    let code = match provider.marks.resolve(&obs.mark, obs.reason.as_deref()) {
        Resolution::NoMark => return Ok(None),
        Resolution::Present => provider.present_code.code(),
        Resolution::Code(text) => match text.parse::<Code>() {
            Ok(code) => code,
            Err(e) => return Err(review(&obs, ReviewKind::UnknownMark, e.to_string(), upn())),
        },
        Resolution::Unmapped(why) => {
            let reason = match legacy_code_reason(&obs.mark) {
                Some(legacy) => format!("{why}: {legacy}"),
                None => format!("{why}: decide the code, and add the mark to the format if it will recur"),
            };
            return Err(review(&obs, ReviewKind::UnknownMark, reason, upn()));
        }
    };
    // The observation is consumed: its text moves into the mark rather than being copied, which
    // halves what a large return holds in memory.
    let upn = pupil.upn.clone();
    Ok(Some(NewMark {
        upn,
        date: obs.date,
        session: obs.session,
        code,
        raw_mark: match &obs.reason {
            Some(reason) => format!("{} ({reason})", obs.mark),
            None => obs.mark,
        },
        comment: obs.comment,
        locator: obs.locator,
        raw_row: obs.raw_row,
    }))
}

/// A mark a person must confirm before it enters the register.
fn held(mark: NewMark, reason: &str) -> NewReview {
    NewReview {
        kind: ReviewKind::UnauthenticatedSender,
        reason: format!(
            "{reason}; the row reads as {}: confirm with the provider that they sent it, then resolve with that code",
            mark.code
        ),
        identifier: None,
        upn: Some(mark.upn),
        date: Some(mark.date),
        session: Some(mark.session),
        raw_mark: Some(cut(&mark.raw_mark, CELL_CHARS).into_owned()),
        locator: mark.locator,
        raw_row: mark.raw_row,
    }
}

/// A review row for an observation. Its texts are bounded (the raw row already is, by
/// [`crate::pipeline::excerpt::raw_row`]), so a cell of megabytes never makes a huge row.
fn review(obs: &Observation, kind: ReviewKind, reason: String, upn: Option<Upn>) -> Box<NewReview> {
    Box::new(NewReview {
        kind,
        locator: cut(&obs.locator, REASON_CHARS).into_owned(),
        identifier: obs.identity.identifier().map(|i| cut(&i, CELL_CHARS).into_owned()),
        raw_row: obs.raw_row.clone(),
        reason: cut(&reason, REASON_CHARS).into_owned(),
        upn,
        date: Some(obs.date),
        session: Some(obs.session),
        raw_mark: Some(cut(&obs.mark, CELL_CHARS).into_owned()),
    })
}
