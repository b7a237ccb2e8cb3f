//! Attendance arithmetic: possible sessions, attendance and absence percentages, and the
//! persistent and severe absence thresholds.

use std::ops::{Add, AddAssign};

use serde::{Deserialize, Serialize};

use super::codes::{Code, StatCategory};

/// Absence of this percentage of possible sessions or more is persistent absence.
pub const PERSISTENT_ABSENCE_PCT: u32 = 10;

/// Absence of this percentage of possible sessions or more is severe absence.
pub const SEVERE_ABSENCE_PCT: u32 = 50;

/// Session counts for one pupil over some period.
///
/// `possible` is always `attended + authorised + unauthorised`: sessions marked with a
/// not-counted code (D, X, Q, Y1-Y7, Z, #) are left out entirely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct AttendanceSummary {
    /// Sessions the pupil could have attended.
    pub possible: u32,
    /// Sessions attended.
    pub attended: u32,
    /// Sessions of authorised absence.
    pub authorised: u32,
    /// Sessions of unauthorised absence.
    pub unauthorised: u32,
}

impl AttendanceSummary {
    /// Counts a sequence of marks.
    pub fn from_codes<I: IntoIterator<Item = Code>>(codes: I) -> Self {
        codes.into_iter().collect()
    }

    /// Counts one more mark.
    pub fn record(&mut self, code: Code) {
        let slot = match code.category() {
            StatCategory::Attendance => &mut self.attended,
            StatCategory::Authorised => &mut self.authorised,
            StatCategory::Unauthorised => &mut self.unauthorised,
            StatCategory::NotCounted => return,
        };
        *slot = slot.saturating_add(1);
        self.possible = self.possible.saturating_add(1);
    }

    /// Sessions of absence, authorised or not.
    pub fn absent(&self) -> u32 {
        self.authorised.saturating_add(self.unauthorised)
    }

    /// Attended sessions as a percentage of possible sessions; `None` when there were none.
    pub fn attendance_pct(&self) -> Option<f64> {
        pct(self.attended, self.possible)
    }

    /// Absent sessions as a percentage of possible sessions; `None` when there were none.
    pub fn absence_pct(&self) -> Option<f64> {
        pct(self.absent(), self.possible)
    }

    /// Absence of [`PERSISTENT_ABSENCE_PCT`]% of possible sessions or more (attendance 90% or
    /// below). False when there were no possible sessions.
    pub fn is_persistent_absence(&self) -> bool {
        self.absence_at_least(PERSISTENT_ABSENCE_PCT)
    }

    /// Absence of [`SEVERE_ABSENCE_PCT`]% of possible sessions or more. False when there were no
    /// possible sessions.
    pub fn is_severe_absence(&self) -> bool {
        self.absence_at_least(SEVERE_ABSENCE_PCT)
    }

    /// Compared in integers, so a pupil at exactly the threshold (2 of 20) is never missed by
    /// a floating-point rounding.
    fn absence_at_least(&self, pct: u32) -> bool {
        self.possible > 0 && u64::from(self.absent()) * 100 >= u64::from(self.possible) * u64::from(pct)
    }
}

fn pct(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| f64::from(part) * 100.0 / f64::from(whole))
}

impl FromIterator<Code> for AttendanceSummary {
    fn from_iter<I: IntoIterator<Item = Code>>(iter: I) -> Self {
        let mut summary = AttendanceSummary::default();
        for code in iter {
            summary.record(code);
        }
        summary
    }
}

impl Extend<Code> for AttendanceSummary {
    fn extend<I: IntoIterator<Item = Code>>(&mut self, iter: I) {
        for code in iter {
            self.record(code);
        }
    }
}

impl Add for AttendanceSummary {
    type Output = AttendanceSummary;

    fn add(mut self, other: AttendanceSummary) -> AttendanceSummary {
        self += other;
        self
    }
}

impl AddAssign for AttendanceSummary {
    fn add_assign(&mut self, other: AttendanceSummary) {
        self.possible = self.possible.saturating_add(other.possible);
        self.attended = self.attended.saturating_add(other.attended);
        self.authorised = self.authorised.saturating_add(other.authorised);
        self.unauthorised = self.unauthorised.saturating_add(other.unauthorised);
    }
}

/// A percentage to one decimal place, rounding half away from zero (`94.7`, `75.0`); an empty
/// string for `None` (no possible sessions) or a value that is not a finite number.
pub fn format_pct(pct: Option<f64>) -> String {
    let Some(value) = pct.filter(|v| v.is_finite()) else {
        return String::new();
    };
    // A percentage of whole sessions that should end in exactly 5 in the second decimal can be
    // held a hair below it in binary (e.g. 0.05), and would round down; nudging by far less
    // than any real difference between two session fractions rounds it as a person would.
    let tenths = value * 10.0;
    let rounded = (tenths + tenths.signum() * 1e-9).round() / 10.0;
    // Avoid printing "-0.0" for a tiny negative input.
    let rounded = if rounded == 0.0 { 0.0 } else { rounded };
    format!("{rounded:.1}")
}

#[cfg(test)]
mod tests;
