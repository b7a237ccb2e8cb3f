//! What decoding a file yields: observations (a provider's raw mark for a pupil, a date and a
//! session) and the rows that could not be read.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::Session;
use crate::pipeline::format::NameOrder;

/// The result of decoding one file: every mark found, and every row that needs a person.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Decoded {
    /// One per non-blank mark, in file order.
    pub observations: Vec<Observation>,
    /// Rows (or cells) whose date or session could not be read; the rest of the file still
    /// decodes.
    pub problems: Vec<RowProblem>,
}

/// A provider's raw mark for one pupil, date and session, before matching and normalising.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Where in the file, for a person: `line 5`, `line 6, column `Tue AM``,
    /// `sheet Attendance row 4`, `record 3 (data[2])`.
    pub locator: String,
    /// The raw identity fields of the row.
    pub identity: IdentityFields,
    /// The date of the session.
    pub date: NaiveDate,
    /// The session.
    pub session: Session,
    /// The provider's mark, trimmed; never blank.
    pub mark: String,
    /// The reason text, when the format names a reason column and the cell is not blank.
    pub reason: Option<String>,
    /// The comment text, when the format names a comment column and the cell is not blank.
    pub comment: Option<String>,
    /// The row's cells as text, for the review queue.
    pub raw_row: Vec<String>,
}

/// The identity columns of a row, as the provider wrote them (trimmed; blank cells are `None`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IdentityFields {
    /// The unique pupil number.
    pub upn: Option<String>,
    /// The school's admission number, as written (leading zeros may be missing).
    pub admission_number: Option<String>,
    /// The provider's own reference for the pupil.
    pub provider_ref: Option<String>,
    /// The whole name from one column, with how it is written.
    pub full_name: Option<FullName>,
    /// The surname, from its own column.
    pub surname: Option<String>,
    /// The forename, from its own column.
    pub forename: Option<String>,
    /// The date of birth.
    pub date_of_birth: Option<DateOfBirth>,
}

/// A whole name from one column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FullName {
    /// The name as written.
    pub text: String,
    /// How it is written.
    pub order: NameOrder,
}

/// A date of birth: read as a date when it could be, else kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DateOfBirth {
    /// A date in one of the format's patterns, ISO, or a spreadsheet date.
    Date(NaiveDate),
    /// Text that is not a date in any pattern the format knows.
    Text(String),
}

impl IdentityFields {
    /// Whether the row names nobody at all.
    pub fn is_empty(&self) -> bool {
        self.identifier().is_none() && self.date_of_birth.is_none()
    }

    /// The most specific identifier present, for listing a row to a person: the provider's
    /// reference, the UPN, the admission number, then the name.
    pub fn identifier(&self) -> Option<String> {
        if let Some(v) = self.provider_ref.as_ref().or(self.upn.as_ref()) {
            return Some(v.clone());
        }
        if let Some(v) = &self.admission_number {
            return Some(v.clone());
        }
        if let Some(n) = &self.full_name {
            return Some(n.text.clone());
        }
        match (&self.surname, &self.forename) {
            (Some(s), Some(f)) => Some(format!("{s}, {f}")),
            (Some(n), None) | (None, Some(n)) => Some(n.clone()),
            (None, None) => None,
        }
    }
}

/// A row (or one cell of it) that could not be read, for the review queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowProblem {
    /// Where in the file, as for [`Observation::locator`].
    pub locator: String,
    /// The row's identifier (see [`IdentityFields::identifier`]), when it has one.
    pub identifier: Option<String>,
    /// What is wrong, for a person.
    pub message: String,
    /// The row's cells as text.
    pub raw_row: Vec<String>,
}
