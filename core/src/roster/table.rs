//! Reading a roster CSV into trimmed text rows with the line numbers a person would count, and
//! the per-field checks both files share.

use chrono::{Datelike, NaiveDate};

use super::error::{RosterProblem, RosterRowProblem, example_date};
use crate::domain::{Upn, UpnError};

/// Dates outside these years are taken as a misread pattern (e.g. `05/01/26` read with `%Y`
/// as the year 26), not as a date.
const PLAUSIBLE_YEARS: std::ops::RangeInclusive<i32> = 1900..=2199;

/// One non-blank row.
pub(super) struct Row {
    /// The line the row starts on, header = line 1.
    pub line: usize,
    fields: Vec<String>,
}

/// The header and the rows of a CSV file.
pub(super) struct Table {
    headers: Vec<String>,
    pub rows: Vec<Row>,
}

/// Reads the file; `None` when there is not even a header row. Bytes that are not UTF-8 are
/// reported and read lossily, so the other problems in the file are still found.
pub(super) fn read(bytes: &[u8], problems: &mut Vec<RosterProblem>) -> Option<Table> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut lines = LineCounter {
        bytes,
        offset: 0,
        line: 1,
    };
    let mut rows = Vec::new();
    let mut not_utf8 = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                let line = lines.line_at(error.position().map_or(0, |p| p.byte()));
                problems.push(RosterProblem::Csv {
                    line,
                    message: error.to_string(),
                });
                break;
            }
        }
        let line = lines.line_at(record.position().map_or(0, |p| p.byte()));
        let mut fields = Vec::with_capacity(record.len());
        for field in &record {
            let text = match std::str::from_utf8(field) {
                Ok(text) => text.to_string(),
                Err(_) => {
                    if not_utf8.last() != Some(&line) {
                        not_utf8.push(line);
                    }
                    String::from_utf8_lossy(field).into_owned()
                }
            };
            // The csv crate trims ASCII space only; exports also carry no-break spaces, and a
            // BOM the reader did not strip (e.g. after a blank first line).
            fields.push(
                text.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
                    .to_string(),
            );
        }
        // Spreadsheets export trailing rows of empty cells; they are not rows of data.
        if fields.iter().any(|f| !f.is_empty()) {
            rows.push(Row { line, fields });
        }
    }
    if !not_utf8.is_empty() {
        problems.push(RosterProblem::NotUtf8 { lines: not_utf8 });
    }
    if rows.is_empty() {
        problems.push(RosterProblem::NoHeader);
        return None;
    }
    let header = rows.remove(0);
    Some(Table {
        headers: header.fields,
        rows,
    })
}

/// Line numbers as a person counts them in an editor. The csv crate's own line count is not
/// used: after a CRLF row it reports the next row on the previous line.
struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: usize,
}

impl LineCounter<'_> {
    /// The line of the first character at or after byte `start` that is not a line break (a
    /// record's position can point at the break before it, or at blank lines the reader skips).
    fn line_at(&mut self, start: u64) -> usize {
        let mut target = usize::try_from(start).unwrap_or(usize::MAX).min(self.bytes.len());
        while self.bytes.get(target).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            target += 1;
        }
        // Positions only move forward; guard anyway so a surprise cannot panic.
        let from = self.offset.min(target);
        for i in from..target {
            let ends_line = match self.bytes[i] {
                b'\n' => true,
                // A lone CR (old Mac files) ends a line; CRLF counts once, at the LF.
                b'\r' => self.bytes.get(i + 1) != Some(&b'\n'),
                _ => false,
            };
            if ends_line {
                self.line += 1;
            }
        }
        self.offset = target;
        self.line
    }
}

fn same_name(header: &str, wanted: &str) -> bool {
    let wanted = wanted.trim();
    !wanted.is_empty() && header.trim().to_lowercase() == wanted.to_lowercase()
}

impl Table {
    /// The index of column `name`, reporting it when missing (the setting names the key that
    /// configures it) or duplicated.
    pub fn required(&self, name: &str, setting: &'static str, problems: &mut Vec<RosterProblem>) -> Option<usize> {
        let found = self.optional(name, problems);
        if found.is_none() {
            problems.push(RosterProblem::MissingColumn {
                column: name.to_string(),
                setting,
                found: self.headers.iter().filter(|h| !h.is_empty()).cloned().collect(),
            });
        }
        found
    }

    /// The index of column `name` if the file has it, reporting a duplicate.
    pub fn optional(&self, name: &str, problems: &mut Vec<RosterProblem>) -> Option<usize> {
        let positions: Vec<usize> = (0..self.headers.len())
            .filter(|&i| same_name(&self.headers[i], name))
            .collect();
        if positions.len() > 1 {
            problems.push(RosterProblem::DuplicateColumn {
                column: self.headers[positions[0]].clone(),
                positions: positions.iter().map(|p| p + 1).collect(),
            });
        }
        positions.first().copied()
    }

    /// The column's header as the file writes it.
    pub fn header(&self, column: usize) -> &str {
        self.headers.get(column).map_or("", String::as_str)
    }
}

/// The checks of one row, collecting its problems.
pub(super) struct RowCheck<'a> {
    table: &'a Table,
    row: &'a Row,
    date_formats: &'a [String],
    pub problems: Vec<RosterRowProblem>,
}

impl<'a> RowCheck<'a> {
    pub fn new(table: &'a Table, row: &'a Row, date_formats: &'a [String]) -> Self {
        RowCheck {
            table,
            row,
            date_formats,
            problems: Vec::new(),
        }
    }

    /// The column's header, for messages.
    pub fn header(&self, column: usize) -> String {
        self.table.header(column).to_string()
    }

    /// The trimmed value; empty when the row is short.
    pub fn text(&self, column: usize) -> &'a str {
        self.row.fields.get(column).map_or("", String::as_str)
    }

    /// The value, or `None` when the column is absent or the value blank.
    pub fn optional_text(&self, column: Option<usize>) -> Option<String> {
        column
            .map(|c| self.text(c))
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    }

    /// The value, reporting it when blank.
    pub fn required_text(&mut self, column: usize) -> Option<&'a str> {
        let text = self.text(column);
        if text.is_empty() {
            self.problems.push(RosterRowProblem::EmptyField {
                column: self.header(column),
            });
            return None;
        }
        Some(text)
    }

    /// A required, valid UPN.
    pub fn upn(&mut self, column: usize) -> Option<Upn> {
        let text = self.required_text(column)?;
        match Upn::parse(text) {
            Ok(upn) => Some(upn),
            Err(UpnError::Empty) => None,
            Err(error) => {
                self.problems.push(RosterRowProblem::InvalidUpn(error));
                None
            }
        }
    }

    /// A required date.
    pub fn date(&mut self, column: usize) -> Option<NaiveDate> {
        let text = self.required_text(column)?;
        self.parse_date(column, text)
    }

    /// A date that may be blank: `Ok(None)` when blank, `Err(())` when unreadable (reported).
    pub fn optional_date(&mut self, column: usize) -> Result<Option<NaiveDate>, ()> {
        let text = self.text(column);
        if text.is_empty() {
            return Ok(None);
        }
        self.parse_date(column, text).map(Some).ok_or(())
    }

    fn parse_date(&mut self, column: usize, text: &str) -> Option<NaiveDate> {
        let parsed = self
            .date_formats
            .iter()
            .filter_map(|pattern| NaiveDate::parse_from_str(text, pattern).ok())
            .find(|date| PLAUSIBLE_YEARS.contains(&date.year()));
        if parsed.is_none() {
            self.problems.push(RosterRowProblem::BadDate {
                column: self.header(column),
                text: text.to_string(),
                patterns: self.date_formats.to_vec(),
            });
        }
        parsed
    }
}

/// Problems with the configured date patterns, which would otherwise show up as every date in
/// the file being unreadable.
pub(super) fn check_date_formats(patterns: &[String], problems: &mut Vec<RosterProblem>) {
    if patterns.is_empty() {
        problems.push(RosterProblem::NoDateFormats);
    }
    for pattern in patterns {
        if example_date(pattern).is_none() {
            problems.push(RosterProblem::BadDateFormat {
                pattern: pattern.clone(),
            });
        }
    }
}

/// Puts the file's row problems after its file-wide problems, in line order.
pub(super) fn push_row_problems(problems: &mut Vec<RosterProblem>, line: usize, row_problems: Vec<RosterRowProblem>) {
    problems.extend(
        row_problems
            .into_iter()
            .map(|problem| RosterProblem::Row { line, problem }),
    );
}
