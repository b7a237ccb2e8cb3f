//! Reading a file's bytes into a [`Table`] (one module per file kind), then into observations.

pub mod csv;
pub mod json;
pub mod lines;
pub mod survey;
pub mod table;
pub mod text;
pub mod xlsx;

pub use survey::{Survey, survey};
pub use table::{Cell, Origin, Row, Table};

use std::io::Read;

use crate::pipeline::error::{DecodeError, DecodeProblem};
use crate::pipeline::format::{CheckedFormat, FileKind, Format};

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

/// Reading a file failed: it cannot be read as the format says, or the bytes could not be read
/// at all (a file that went away mid-read).
#[derive(Debug)]
pub enum ReadError {
    /// The file cannot be read as the format says: it is rejected.
    Decode(DecodeProblem),
    /// The bytes could not be read: nothing is decided about the file.
    Io(std::io::Error),
}

impl ReadError {
    /// The problem to record for a file read from memory (where reading cannot fail).
    pub fn into_problem(self) -> DecodeProblem {
        match self {
            ReadError::Decode(problem) => problem,
            ReadError::Io(e) => DecodeProblem::Unreadable {
                kind: FileKind::Csv,
                detail: e.to_string(),
                advice: "send the file again",
            },
        }
    }
}

/// A provider file being read into rows, a window at a time.
pub enum Windows<R: Read> {
    /// A workbook or JSON document, read whole (their size is bounded by the format's limits,
    /// and their parsers need every byte): one window.
    Whole(Option<Table>),
    /// Delimited text, streamed.
    Csv(Box<csv::CsvRows<R>>),
}

impl<R: Read> Windows<R> {
    /// The next window of up to `max_rows` rows (more for a file read whole), `None` after the
    /// last. The first window is given even when it has no rows.
    pub fn next_window(&mut self, max_rows: usize) -> Result<Option<Table>, ReadError> {
        match self {
            Windows::Whole(table) => Ok(table.take()),
            Windows::Csv(rows) => rows.next_window(max_rows),
        }
    }
}

/// Opens a provider file for reading in windows, after its [`Survey`]. `open` gives the file's
/// bytes from the start each time it is called. A file that cannot be read at all as the
/// format says (wrong kind, too big, not in its encoding) is a [`ReadError::Decode`].
pub fn windows<R: Read>(
    survey: &Survey,
    open: impl Fn() -> std::io::Result<R>,
    format: &CheckedFormat,
) -> Result<Windows<R>, ReadError> {
    check_kind(survey.size, &survey.head, format).map_err(ReadError::Decode)?;
    if format.kind == FileKind::Csv {
        let bytes = open().map_err(ReadError::Io)?;
        return csv::CsvRows::open(bytes, survey, format)
            .map(|rows| Windows::Csv(Box::new(rows)))
            .map_err(ReadError::Decode);
    }
    let mut bytes = Vec::new();
    open()
        .and_then(|mut r| r.read_to_end(&mut bytes))
        .map_err(ReadError::Io)?;
    read_table(&bytes, format)
        .map(|t| Windows::Whole(Some(t)))
        .map_err(ReadError::Decode)
}

/// Refuses a file by its size and first bytes: too big, empty, or not the kind the format reads.
fn check_kind(size: u64, head: &[u8], format: &Format) -> Result<(), DecodeProblem> {
    if let Some(problem) = size_problem(size, format) {
        return Err(problem);
    }
    if size == 0 {
        return Err(DecodeProblem::Empty);
    }
    let found = match (format.kind, Looks::of(head)) {
        (FileKind::Xlsx, Looks::Zip) | (FileKind::Csv | FileKind::Json, Looks::Text) => return Ok(()),
        (FileKind::Xlsx, Looks::Text) => "text, not a workbook",
        (FileKind::Csv | FileKind::Json, Looks::Zip) => "a zip archive (such as an .xlsx workbook)",
        (_, Looks::Ole) => "an old-style .xls or password-protected workbook (save it as .xlsx without a password)",
        (_, Looks::Pdf) => "a PDF document",
        (_, Looks::Binary) => "binary data, not text",
    };
    Err(DecodeProblem::WrongKind {
        expected: format.kind,
        found,
    })
}

fn read_table(bytes: &[u8], format: &Format) -> Result<Table, DecodeProblem> {
    check_kind(bytes.len() as u64, bytes, format)?;
    match format.kind {
        // The workbook parser is third-party code fed untrusted bytes: a panic in it must reject
        // this file, not take down the daemon (under panic = "abort", as when fuzzing, it still
        // aborts, so fuzzing still finds it).
        FileKind::Xlsx => std::panic::catch_unwind(|| xlsx::read(bytes, format)).unwrap_or_else(|_| {
            Err(DecodeProblem::Unreadable {
                kind: FileKind::Xlsx,
                detail: "the workbook parser failed on it".to_string(),
                advice: "open it in Excel and save it again as an .xlsx workbook",
            })
        }),
        FileKind::Csv => csv::read(bytes, format),
        FileKind::Json => json::read(bytes, format),
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
