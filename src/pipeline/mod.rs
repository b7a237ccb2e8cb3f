//! The import pipeline's first stage: decoding a provider's file into observations.
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
//! 2. `layout` finds the header and turns rows into observations (long or wide layouts).
//!
//! Matching pupils and mapping marks to statutory codes happen in the next stage, with the
//! format's [`Identity`](format::Identity) and [`Marks`](format::Marks) parts.
//!
//! Everything here is pure: no I/O, no clock.

pub mod decode;
pub mod error;
pub mod excerpt;
pub mod fingerprint;
pub mod format;
pub mod import;
pub(crate) mod layout;
pub mod normalise;
pub mod observation;
pub(crate) mod reading;
pub(crate) mod trial;

#[cfg(test)]
mod tests;

pub use decode::{Table, decode, decode_table};
pub use error::{DecodeError, DecodeProblem};
pub use format::{Format, FormatIssue};
pub use observation::{DateOfBirth, Decoded, FullName, IdentityFields, Observation, RowProblem};
