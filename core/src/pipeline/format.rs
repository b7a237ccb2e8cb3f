//! The format language: how one provider's returns are read, written by IT as the
//! `[provider.format]` table of the daemon config (or as a file under `config/formats/`).
//!
//! Everything here is data. The decoder ([`crate::pipeline::decode()`]) reads the file kind,
//! encoding, header, layout, dates and identity parts; the normaliser reads the [`Marks`]
//! vocabulary. `docs/formats.md` is the guide for IT, with an example per family.
//!
//! The structs deliberately do not use `deny_unknown_fields`, internally tagged enums or
//! `flatten`: the config loader reports unknown keys for the whole tree at once with
//! `serde_ignored`, which only sees keys that pass through plain structs and maps.

mod date_pattern;
mod identity;
mod items;
mod layout;
mod marks;
pub mod template;
mod times;
mod validate;

pub use date_pattern::{DatePatternError, check_date_pattern};

use serde::{Deserialize, Serialize};

pub use identity::{Identity, NameOrder};
pub use items::EACH;
pub use layout::{DocumentDate, Layout, LayoutStyle, SessionValue};
pub use marks::{MarkCodes, MarkRule, MarkRuleError, Marks, Resolution, STATUTORY_CODES, normalise_key};
pub use times::{SessionTimes, TimeRange, TimeRangeError};
pub use validate::FormatIssue;
pub use validate::position_column;

/// How one provider's returns are read: the file kind, its text encoding, where the header is,
/// the layout of marks, the date patterns, the identity columns and the marks vocabulary.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Format {
    /// The kind of file the provider sends: `csv`, `xlsx` or `json`.
    pub kind: FileKind,

    /// The text encoding of a CSV or JSON file: `auto` (the default), `utf-8` or
    /// `windows-1252`. `auto` honours a byte order mark, then takes valid UTF-8, then guesses
    /// (for UK English text), falling back to Windows-1252. A byte order mark always wins.
    #[serde(default)]
    pub encoding: TextEncoding,

    /// CSV only: the delimiter, one character: `,`, `;`, `|`, or a tab written `"\t"` or
    /// `"tab"`. When absent it is sniffed from the first lines among `,` `;` tab `|`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,

    /// XLSX only: the name of the sheet to read (case and spaces do not matter). When absent
    /// the first sheet of the workbook is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,

    /// JSON only: the dotted path to the array of records, such as `data` or `result.items`.
    /// When absent the document itself must be the array. Each record's fields are then named
    /// by dotted paths (`student.ref`, `am.status`) wherever this format names a column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<String>,

    /// CSV and XLSX: how many rows the header spans: `1` (the default) or `2` (a row of
    /// dates above a row of `AM`/`PM`; a blank or merged cell in the upper row repeats the date
    /// from its left). `0` means the file has no header: columns are then named `#1`, `#2`, ...
    #[serde(default = "default_header_rows")]
    pub header_rows: u8,

    /// Rows whose first non-blank cell starts with one of these words (case does not matter)
    /// are ignored, such as `Total` or `Key:` lines under the data. Rows with no identity and no
    /// marks, and blank rows, are always ignored without being listed here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip_rows_starting_with: Vec<String>,

    /// The date patterns used for every date in the file (the date column, wide headers, the
    /// document date, dates of birth), tried in order, in strftime style: `%d/%m/%Y`,
    /// `%d-%m-%y`, `%d %B %Y` (`2 March 2026`), `%a %d/%m/%Y`. ISO dates (`2026-03-02`, with or
    /// without a time) and spreadsheet date cells are always understood as well.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub date_formats: Vec<String>,

    /// Whether a plain number where a date is expected is read as a spreadsheet serial day
    /// number (`46083` = 2 March 2026), as exports from spreadsheets often have. Default `true`;
    /// in CSV and JSON text only five-digit numbers are taken as serials.
    #[serde(default = "default_true")]
    pub excel_serial_dates: bool,

    /// A date for the whole file, taken from a title cell or the file name. Needed by wide
    /// layouts with weekday headers (`Mon AM`), and by long layouts without a date column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_date: Option<DocumentDate>,

    /// When the provider made the return, from a labelled cell (`Generated:`) or the file name,
    /// shaped as `document_date`. It lets a re-sent old return prove it is newer: a return that
    /// repeats a mark a later return replaced goes to review, unless its report date is after
    /// that later return's (or, when that one has none, after the day it was received).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_date: Option<DocumentDate>,

    /// Which columns identify the pupil. The matcher decides which of them it uses.
    pub identity: Identity,

    /// Where the marks are: long (a row per pupil per date) or wide (a column per session).
    pub layout: Layout,

    /// The provider's marks vocabulary, applied by the normaliser (not by the decoder).
    #[serde(default)]
    pub marks: Marks,

    /// Size limits that protect the daemon from oversized or malicious files.
    #[serde(default)]
    pub limits: Limits,
}

/// The kind of file a provider sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// Delimited text (comma, semicolon, tab or pipe separated values).
    Csv,
    /// An Excel workbook (Office Open XML, `.xlsx`).
    Xlsx,
    /// A JSON document holding an array of records (one page of an API's answer).
    Json,
}

impl FileKind {
    /// The kind as the format writes it: `csv`, `xlsx` or `json`.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Csv => "csv",
            FileKind::Xlsx => "xlsx",
            FileKind::Json => "json",
        }
    }
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text encoding of a CSV or JSON file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum TextEncoding {
    /// Detect: byte order mark, then valid UTF-8, then a guess for UK text, then Windows-1252.
    #[default]
    #[serde(rename = "auto")]
    Auto,
    /// UTF-8, with or without a byte order mark. Invalid bytes make the file unreadable.
    #[serde(rename = "utf-8", alias = "utf8", alias = "UTF-8")]
    Utf8,
    /// Windows-1252 (what Excel on Windows writes for "CSV (Comma delimited)").
    #[serde(rename = "windows-1252", alias = "cp1252", alias = "latin1", alias = "iso-8859-1")]
    Windows1252,
}

/// Size limits for one file. A file over a limit is refused whole with a clear error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub struct Limits {
    /// The largest file accepted, in bytes. Default 20 MiB (20971520).
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
    /// The most rows (or JSON records) accepted in one file. Default 100000.
    #[serde(default = "default_max_rows")]
    pub max_rows: usize,
    /// The most cells accepted in one file, counting each row up to its last non-blank cell.
    /// Default 5000000.
    #[serde(default = "default_max_cells")]
    pub max_cells: usize,
    /// XLSX only: the most bytes the workbook may expand to when unzipped, checked against both
    /// the sizes the archive declares and the sizes it really expands to, before the workbook is
    /// opened. A workbook over it is refused as a possible zip bomb. Default 100 MiB (104857600).
    #[serde(default = "default_max_xlsx_uncompressed_bytes")]
    pub max_xlsx_uncompressed_bytes: u64,
    /// The most bytes of text the file's cells may hold once decoded, counting a workbook's
    /// shared string once for every cell that refers to it (what the table holds as a person
    /// would see it). Guards against a small workbook whose cells all repeat one long text.
    /// Default 64 MiB (67108864).
    #[serde(default = "default_max_text_bytes")]
    pub max_text_bytes: u64,
    /// The most bytes one cell (a CSV field) may hold, such as a note pasted into the wrong
    /// column. Default 64 KiB (65536).
    #[serde(default = "default_max_field_bytes")]
    pub max_field_bytes: usize,
    /// CSV only: the most fields one line (record) may have. Default 1000.
    #[serde(default = "default_max_cells_per_row")]
    pub max_cells_per_row: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: default_max_file_bytes(),
            max_rows: default_max_rows(),
            max_cells: default_max_cells(),
            max_xlsx_uncompressed_bytes: default_max_xlsx_uncompressed_bytes(),
            max_text_bytes: default_max_text_bytes(),
            max_field_bytes: default_max_field_bytes(),
            max_cells_per_row: default_max_cells_per_row(),
        }
    }
}

fn default_header_rows() -> u8 {
    1
}

fn default_true() -> bool {
    true
}

fn default_max_file_bytes() -> u64 {
    20 * 1024 * 1024
}

fn default_max_rows() -> usize {
    100_000
}

fn default_max_cells() -> usize {
    5_000_000
}

fn default_max_xlsx_uncompressed_bytes() -> u64 {
    100 * 1024 * 1024
}

fn default_max_text_bytes() -> u64 {
    64 * 1024 * 1024
}

fn default_max_field_bytes() -> usize {
    64 * 1024
}

fn default_max_cells_per_row() -> usize {
    1000
}

impl Format {
    /// Checks the format as a whole and reports every problem at once, each with its key
    /// (`format.layout.session`) and what to write instead. Pure: no I/O.
    pub fn validate(&self) -> Result<(), Vec<FormatIssue>> {
        validate::validate(self)
    }

    /// The format, validated: the only kind decoding accepts.
    pub fn check(self) -> Result<CheckedFormat, Vec<FormatIssue>> {
        self.validate()?;
        Ok(CheckedFormat(self))
    }

    /// The delimiter byte the format gives, if any (`"\t"` and `"tab"` both mean a tab).
    pub fn delimiter_byte(&self) -> Option<u8> {
        let d = self.delimiter.as_deref()?;
        match d {
            "\t" | "\\t" => Some(b'\t'),
            _ if d.eq_ignore_ascii_case("tab") => Some(b'\t'),
            _ => match d.as_bytes() {
                [b] if b.is_ascii() && !b.is_ascii_alphanumeric() => Some(*b),
                _ => None,
            },
        }
    }

    /// Every column (or JSON path) the format names, in a stable order, each with whether a
    /// file must have it for its header to be recognised. Comments are optional; everything
    /// else named is required.
    pub fn named_columns(&self) -> Vec<(&str, bool)> {
        let mut out: Vec<(&str, bool)> = Vec::new();
        for name in self.identity.columns() {
            out.push((name, true));
        }
        for (name, required) in self.layout.columns() {
            out.push((name, required));
        }
        out
    }
}

/// A format that passed [`Format::validate`]. Decoding takes only this, so a format is checked
/// once, when the configuration (or `format try`'s file) is read, never again per document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct CheckedFormat(Format);

impl CheckedFormat {
    /// The format itself.
    pub fn format(&self) -> &Format {
        &self.0
    }
}

impl std::ops::Deref for CheckedFormat {
    type Target = Format;

    fn deref(&self) -> &Format {
        &self.0
    }
}
