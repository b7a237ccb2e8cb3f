//! The school's roster: the MIS export of pupils and the placements file, parsed into records.
//!
//! Pure: bytes in, records out. A file with any problem is refused as a whole, listing every
//! problem with its line, so the school fixes the export once rather than importing half a roster.
//! Both files are CSV, UTF-8 with or without a BOM, CRLF or LF; which column holds which field is
//! set by [`RosterColumns`], whose defaults read the sample files as they are.

mod columns;
mod error;
mod placements;
mod pupils;
mod table;

pub use columns::RosterColumns;
pub use error::{RosterFile, RosterFileError, RosterProblem, RowProblem};
pub use placements::{PlacementRecord, parse_placements};
pub use pupils::{PupilRecord, normalise_admission_number, parse_pupils};

#[cfg(test)]
mod tests;
