//! Reading a file's bytes into a [`Table`] (one module per file kind), then into observations.

pub mod csv;
pub mod json;
pub mod table;
pub mod text;
pub mod xlsx;

pub use table::{Cell, Origin, Row, Table};

use crate::pipeline::error::{DecodeError, DecodeProblem};
use crate::pipeline::format::{FileKind, Format};
use crate::pipeline::layout;
use crate::pipeline::observation::Decoded;

/// Decodes one provider file into observations (a raw mark per pupil, date and session) and
/// row problems, through the provider's format.
///
/// Pure: bytes in, data out. A file that cannot be read at all (wrong kind, too big, a zip
/// bomb, invalid JSON, no header) is a [`DecodeError`] naming the file and what to do; a row
/// whose date or session cannot be read is a [`crate::pipeline::RowProblem`] and the rest of
/// the file still decodes.
pub fn decode(bytes: &[u8], file_name: &str, format: &Format) -> Result<Decoded, DecodeError> {
    let fail = |problem| DecodeError {
        file: file_name.to_string(),
        problem,
    };
    format
        .validate()
        .map_err(|issues| fail(DecodeProblem::InvalidFormat(issues)))?;
    let table = read_table(bytes, format).map_err(fail)?;
    layout::extract(&table, format, file_name).map_err(fail)
}

/// Reads one file into a table of cells through the format's kind, encoding and limits,
/// without looking for the header or marks.
pub fn decode_table(bytes: &[u8], file_name: &str, format: &Format) -> Result<Table, DecodeError> {
    read_table(bytes, format).map_err(|problem| DecodeError {
        file: file_name.to_string(),
        problem,
    })
}

/// Refuses a file from its size alone, before it is read: callers holding a path or a transfer's
/// announced size (`apsync import`, connectors) check it first, so a huge file is never loaded
/// into memory. [`decode()`] checks the bytes it is given the same way.
pub fn check_size(size: u64, file_name: &str, format: &Format) -> Result<(), DecodeError> {
    size_problem(size, format).map_or(Ok(()), |problem| {
        Err(DecodeError {
            file: file_name.to_string(),
            problem,
        })
    })
}

fn size_problem(size: u64, format: &Format) -> Option<DecodeProblem> {
    (size > format.limits.max_file_bytes).then_some(DecodeProblem::TooBig {
        size,
        limit: format.limits.max_file_bytes,
    })
}

fn read_table(bytes: &[u8], format: &Format) -> Result<Table, DecodeProblem> {
    if let Some(problem) = size_problem(bytes.len() as u64, format) {
        return Err(problem);
    }
    if bytes.is_empty() {
        return Err(DecodeProblem::Empty);
    }
    let looks = Looks::of(bytes);
    let wrong = |found| {
        Err(DecodeProblem::WrongKind {
            expected: format.kind,
            found,
        })
    };
    match (format.kind, looks) {
        // The workbook parser is third-party code fed untrusted bytes: a panic in it must reject
        // this file, not take down the daemon (under panic = "abort", as when fuzzing, it still
        // aborts, so fuzzing still finds it).
        (FileKind::Xlsx, Looks::Zip) => std::panic::catch_unwind(|| xlsx::read(bytes, format)).unwrap_or_else(|_| {
            Err(DecodeProblem::Unreadable {
                kind: FileKind::Xlsx,
                detail: "the workbook parser failed on it".to_string(),
                advice: "open it in Excel and save it again as an .xlsx workbook",
            })
        }),
        (FileKind::Xlsx, Looks::Text) => wrong("text, not a workbook"),
        (FileKind::Csv | FileKind::Json, Looks::Zip) => wrong("a zip archive (such as an .xlsx workbook)"),
        (_, Looks::Ole) => {
            wrong("an old-style .xls or password-protected workbook (save it as .xlsx without a password)")
        }
        (_, Looks::Pdf) => wrong("a PDF document"),
        (_, Looks::Binary) => wrong("binary data, not text"),
        (FileKind::Csv, Looks::Text) => csv::read(bytes, format),
        (FileKind::Json, Looks::Text) => json::read(bytes, format),
    }
}

/// What a file's first bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Looks {
    Zip,
    Ole,
    Pdf,
    Binary,
    Text,
}

impl Looks {
    fn of(bytes: &[u8]) -> Looks {
        if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
            Looks::Zip
        } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
            Looks::Ole
        } else if bytes.starts_with(b"%PDF") {
            Looks::Pdf
        } else if encoding_rs::Encoding::for_bom(bytes).is_none() && bytes.iter().take(4096).any(|b| *b == 0) {
            // Text in the encodings we read never has NUL bytes; UTF-16 text carries a BOM.
            Looks::Binary
        } else {
            Looks::Text
        }
    }
}
