//! The school's roster: the MIS export of pupils and the placements file, parsed into records.
//!
//! Pure: bytes in, records out. A file with any problem is refused as a whole, listing every
//! problem with its line, so the school fixes the export once rather than importing half a roster.
//! Both files are CSV, UTF-8 with or without a BOM, CRLF or LF; which column holds which field is
//! set by [`RosterColumns`], whose defaults read the sample files as they are.

mod columns;
mod error;
mod placements;
pub(crate) mod pupils;
mod table;

use serde::Serialize;

pub use columns::RosterColumns;
pub use error::{RosterFile, RosterFileError, RosterProblem, RosterRowProblem};
pub use placements::{PlacementRecord, parse_placements};
pub use pupils::{PupilRecord, normalise_admission_number, parse_pupils};

#[cfg(test)]
mod tests;

/// A pupil as the store holds them: the latest record any export gave, and whether the latest
/// export still lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredPupil {
    /// The pupil's details from the last export that held them.
    #[serde(flatten)]
    pub record: PupilRecord,
    /// False once an export no longer lists them.
    pub on_roll: bool,
}
