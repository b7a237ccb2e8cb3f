//! The import pipeline's pure stages: decoding a provider's file into observations, and
//! normalising observations into marks and review items.
//!
//! A provider's [`Format`] (written by IT in the config, see `docs/formats.md`) says how its
//! returns are read. [`decode()`] takes a file's bytes and name and yields [`Decoded`]: an
//! [`Observation`] per non-blank mark (raw identity fields, date, session, the provider's mark,
//! reason and comment, the raw row) and a [`RowProblem`] per row whose date or session cannot be
//! read. A file that cannot be read at all is a [`DecodeError`].
//!
//! The stages:
//! 1. [`decode`] reads bytes into a [`Table`] of cells: [`decode::text`] (encoding detection),
//!    [`decode::csv`], [`decode::xlsx`] (zip bomb checks first), [`decode::json`];
//! 2. `layout` finds the header and turns rows into observations (long or wide layouts);
//! 3. [`normalise`] matches pupils and maps marks to statutory codes, with the format's
//!    [`Identity`](format::Identity) and [`Marks`](format::Marks) parts.
//!
//! Everything here is pure: no I/O, no clock. Reading files, the store's transactions and the
//! ledger are the `apsync` crate's `pipeline::import`.

pub mod decode;
pub mod error;
pub mod excerpt;
pub mod fingerprint;
pub mod format;
pub mod layout;
pub mod normalise;
pub mod observation;

#[cfg(test)]
mod tests;

pub use decode::{Table, decode_table};
pub use error::{DecodeError, DecodeProblem};
pub use format::{CheckedFormat, Format, FormatIssue};
pub use observation::{DateOfBirth, Decoded, FullName, IdentityFields, Observation, RowProblem};

/// Decodes one provider file into observations (a raw mark per pupil, date and session) and
/// row problems, through the provider's format.
///
/// Pure: bytes in, data out. A file that cannot be read at all (wrong kind, too big, a zip
/// bomb, invalid JSON, no header) is a [`DecodeError`] naming the file and what to do; a row
/// whose date or session cannot be read is a [`crate::pipeline::RowProblem`] and the rest of
/// the file still decodes.
pub fn decode(bytes: &[u8], file_name: &str, format: &CheckedFormat) -> Result<Decoded, DecodeError> {
    let fail = |problem| DecodeError {
        file: file_name.to_string(),
        problem,
    };
    let table = decode_table(bytes, file_name, format)?;
    layout::extract(&table, format, file_name).map_err(fail)
}
