//! Why a whole file could not be decoded.

use crate::pipeline::format::{FileKind, FormatIssue};

/// A file that cannot be read at all. Its message names the file, says what is wrong and what
/// to do; the document is then recorded as rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{file}`: {problem}")]
pub struct DecodeError {
    /// The file's name as received.
    pub file: String,
    /// What is wrong with it.
    pub problem: DecodeProblem,
}

/// What makes a file unreadable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeProblem {
    /// The provider's format itself is invalid (the config check reports the same).
    #[error("the provider's format is invalid: {}; correct it and run `apsync check`", join(.0))]
    InvalidFormat(Vec<FormatIssue>),
    /// The file is empty.
    #[error("the file is empty; ask the provider to send the return again")]
    Empty,
    /// The file is larger than the format allows.
    #[error(
        "the file is {size} bytes, more than the limit of {limit}; ask the provider to send smaller files, or raise `limits.max_file_bytes` in its format"
    )]
    TooBig {
        /// The file's size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The file is not of the kind the format says.
    #[error(
        "the file looks like {found}, but the provider's format says kind = \"{expected}\"; check the provider sent the right file, or correct `kind`"
    )]
    WrongKind {
        /// The kind the format expects.
        expected: FileKind,
        /// What the file looks like.
        found: &'static str,
    },
    /// The text is not in the encoding the format says.
    #[error(
        "the file is not valid {encoding} (first bad byte at offset {offset}); set `encoding = \"auto\"` or the provider's real encoding in its format"
    )]
    BadEncoding {
        /// The encoding the format says.
        encoding: &'static str,
        /// Where the first invalid byte is.
        offset: usize,
    },
    /// The workbook unzips (or says it unzips) to more than the limit, or to more than it
    /// declares: a possible zip bomb.
    #[error(
        "the workbook {how} and is refused as a possible zip bomb (the limit is {limit} bytes unzipped); ask the provider to save it again, or raise `limits.max_xlsx_uncompressed_bytes` if it is genuine"
    )]
    ZipBomb {
        /// What it does: `declares that it unzips to more than the limit`, `unzips to more
        /// than the limit` or `unzips to more than it declares`.
        how: &'static str,
        /// The limit.
        limit: u64,
    },
    /// The file could not be parsed (CSV, XLSX or JSON syntax).
    #[error("the file cannot be read as {kind}: {detail}; {advice}")]
    Unreadable {
        /// The kind being read.
        kind: FileKind,
        /// The parser's explanation.
        detail: String,
        /// What to do.
        advice: &'static str,
    },
    /// The workbook has no sheet of the name the format gives.
    #[error("the workbook has no sheet named `{sheet}` (it has {}); check the provider has not renamed the sheet, then correct `sheet` in the provider's format", quoted(.available))]
    SheetNotFound {
        /// The name the format gives.
        sheet: String,
        /// The sheets the workbook has.
        available: Vec<String>,
    },
    /// The JSON records path does not lead to an array.
    #[error(
        "the JSON has no array of records at `{path}` ({detail}); check the provider's API has not changed what it sends, then correct `records` in the provider's format"
    )]
    RecordsNotFound {
        /// The path the format gives (`(document)` for the root).
        path: String,
        /// What is there instead.
        detail: String,
    },
    /// No row holds all the column names the format needs.
    #[error("the header was not found: no row has all of {}{}; {}", wanted_columns(.wanted, .pattern.as_deref()), .closest.as_ref().map(|c| format!(" (the closest, {c})")).unwrap_or_default(), header_advice(.two_rows.as_deref()))]
    HeaderNotFound {
        /// The columns needed, by name.
        wanted: Vec<String>,
        /// The pattern a wide layout's session columns must match, when it has one.
        pattern: Option<Box<str>>,
        /// The row that came closest and what it lacks (`line 2, lacks `Session``).
        closest: Option<String>,
        /// Where two rows together make the header the format describes (`line 1`, the first
        /// of them), when the format reads one header row.
        two_rows: Option<Box<str>>,
    },
    /// The file has no text at all: only blank lines, or a sheet with no filled cells.
    #[error("{what}, so there is nothing to import; ask the provider to send the return again")]
    Blank {
        /// What is blank: `the file has only blank lines`, `the sheet `Attendance` is blank`.
        what: String,
    },
    /// The header was found but no row follows it.
    #[error(
        "the file has a header ({header}) but no rows below it, so there is nothing to import; ask the provider to send the return again with the pupils' marks"
    )]
    NoRows {
        /// Where the header is (`line 1`, `sheet Attendance row 3`).
        header: String,
    },
    /// The file has more rows than the format allows.
    #[error(
        "the file has more than {limit} rows; ask the provider to split it, or raise `limits.max_rows` in its format"
    )]
    TooManyRows {
        /// The limit.
        limit: usize,
    },
    /// The file has more cells than the format allows.
    #[error(
        "the file has more than {limit} cells; ask the provider to split it, or raise `limits.max_cells` in its format"
    )]
    TooManyCells {
        /// The limit.
        limit: usize,
    },
    /// The file's cells hold more text than the format allows (a workbook's shared string is
    /// counted for every cell that refers to it).
    #[error(
        "the {what} hold {} bytes of text, over `limits.max_text_bytes` = {limit}; ask the provider for a plain export (a CSV file, or a workbook without text repeated in every cell), or raise `limits.max_text_bytes` in its format if the file is genuine",
        held_text(*.bytes, *.counted_all)
    )]
    TooMuchText {
        /// What holds the text: `workbook's cells`, `file's cells`.
        what: &'static str,
        /// The bytes counted: all of them, or as many as were read before the limit stopped it.
        bytes: u64,
        /// Whether every cell was counted (else `bytes` is where reading stopped).
        counted_all: bool,
        /// The limit.
        limit: u64,
    },
    /// One cell holds more text than the format allows.
    #[error(
        "{at} has a cell of more than {limit} bytes, over `limits.max_field_bytes`; ask the provider to send the return again without the oversized text (often a note or file pasted into one cell), or raise `limits.max_field_bytes` in its format if it is genuine"
    )]
    FieldTooBig {
        /// Where the row is: `line 3`, `sheet Attendance row 4`.
        at: String,
        /// The limit.
        limit: usize,
    },
    /// One row has more fields than the format allows.
    #[error(
        "{at} has more than {limit} fields, over `limits.max_cells_per_row`; ask the provider to send the return again with one pupil's marks per line (a line of only commas or delimiters is often a damaged export), or raise `limits.max_cells_per_row` in its format if it is genuine"
    )]
    TooManyCellsInRow {
        /// Where the row is: `line 3`.
        at: String,
        /// The limit.
        limit: usize,
    },
    /// A date more than a year from every term: the format reads the file's dates wrongly.
    #[error(
        "{at} has the date {}, more than a year from every term in the school calendar ({terms}), so the format reads the file's dates wrongly; {advice}",
        .date.format("%a %-d %b %Y")
    )]
    ImplausibleDate {
        /// Where the first such date is: `line 2`.
        at: String,
        /// The date as read (`Mon 16 Mar 0026`).
        date: chrono::NaiveDate,
        /// The calendar's span of terms: `5 Jan 2026 to 22 Jul 2026`.
        terms: String,
        /// The likely fix.
        advice: String,
    },
    /// The date for the whole file was needed and not found.
    #[error(
        "the file's date was not found: {detail}; check the return, or correct [document_date] in the provider's format"
    )]
    DocumentDateNotFound {
        /// Where it was looked for.
        detail: String,
    },
}

/// The columns a header must have: `` `Pupil`, `DOB` and a column like `{date} {session}` ``.
fn wanted_columns(names: &[String], pattern: Option<&str>) -> String {
    let mut parts: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    if let Some(p) = pattern {
        parts.push(format!("a column like `{p}`"));
    }
    match parts.as_slice() {
        [] => "the columns the format names".to_string(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn header_advice(two_rows: Option<&str>) -> String {
    match two_rows {
        Some(at) => format!(
            "{at} and the row below it together have every column: the header spans two rows, so set `header_rows = 2` in the provider's format"
        ),
        None => "check the provider has not renamed a column, then correct the column names in its format".to_string(),
    }
}

fn held_text(bytes: u64, counted_all: bool) -> String {
    if counted_all {
        bytes.to_string()
    } else {
        format!("more than {bytes}")
    }
}

fn join(issues: &[FormatIssue]) -> String {
    issues.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

fn quoted(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_string();
    }
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}
