//! The common shape every file kind is read into: rows of cells, each row with its locator.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, Timelike as _};

use crate::pipeline::error::DecodeProblem;
use crate::pipeline::format::Limits;
use crate::pipeline::observation::RowProblem;

/// One cell's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing in the cell (or only spaces).
    Empty,
    /// Text, trimmed. Shared: a workbook's cells that refer to one shared string hold one copy.
    Text(Arc<str>),
    /// A number (spreadsheet numbers, JSON numbers).
    Number(f64),
    /// A spreadsheet date cell at midnight (or with no time of day).
    Date(NaiveDate),
    /// A spreadsheet date cell with a time of day; a time-only cell is on the spreadsheet's
    /// day zero (30 December 1899, or 1 January 1904).
    DateTime(NaiveDateTime),
}

impl Cell {
    /// A text cell, or `Empty` when the text is blank.
    pub fn text(text: &str) -> Cell {
        let t = text.trim();
        if t.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(Arc::from(t))
        }
    }

    /// The bytes of text the cell holds (0 for numbers, dates and empty cells).
    pub fn text_len(&self) -> usize {
        match self {
            Cell::Text(t) => t.len(),
            _ => 0,
        }
    }

    /// Whether the cell holds nothing.
    pub fn is_blank(&self) -> bool {
        matches!(self, Cell::Empty)
    }

    /// The cell as text: numbers without a needless `.0`, dates as ISO `YYYY-MM-DD`.
    pub fn as_text(&self) -> Cow<'_, str> {
        match self {
            Cell::Empty => Cow::Borrowed(""),
            Cell::Text(t) => Cow::Borrowed(t),
            Cell::Number(n) => Cow::Owned(number_text(*n)),
            Cell::Date(d) => Cow::Owned(d.format("%Y-%m-%d").to_string()),
            Cell::DateTime(dt) => Cow::Owned(date_time_text(*dt)),
        }
    }
}

/// A date cell with a time as a person would read it: `2026-04-20 13:15`, or `13:15` alone
/// for a time-only cell (on the spreadsheet's day zero).
fn date_time_text(dt: NaiveDateTime) -> String {
    let time = if dt.second() == 0 {
        dt.format("%H:%M").to_string()
    } else {
        dt.format("%H:%M:%S").to_string()
    };
    if dt.date() < DAY_ZERO_BEFORE {
        time
    } else {
        format!("{} {time}", dt.format("%Y-%m-%d"))
    }
}

/// Dates before this are a spreadsheet's day zero (a time-only cell), not a day a school kept.
const DAY_ZERO_BEFORE: NaiveDate = match NaiveDate::from_ymd_opt(1904, 1, 2) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

fn number_text(n: f64) -> String {
    // Integral values print without a fraction so that `2105` reads as the provider wrote it.
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// One non-blank row, with the number a person would use to find it (line, sheet row, or
/// record, counted from 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The line (CSV, where the row starts), sheet row, or record number, from 1.
    pub number: usize,
    /// The cells, up to the last non-blank one.
    pub cells: Vec<Cell>,
}

impl Row {
    /// The cell in a column, `Empty` past the end of the row.
    pub fn cell(&self, column: usize) -> &Cell {
        self.cells.get(column).unwrap_or(&Cell::Empty)
    }

    /// The row's cells as text, for the review queue: a bounded excerpt (each cell cut to a
    /// couple of hundred characters, the whole about 4 KiB as JSON; see
    /// [`crate::pipeline::excerpt::raw_row`]).
    pub fn raw(&self) -> Vec<String> {
        crate::pipeline::excerpt::raw_row(self.cells.iter().map(Cell::as_text))
    }
}

/// Where a table came from, which decides how its rows are located for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A delimited text file: rows are lines.
    Csv,
    /// A workbook sheet of this name.
    Sheet(String),
    /// JSON records at this path (empty for the document itself).
    Json(String),
}

/// A file read into rows of cells. Blank rows are left out; every other row keeps its number.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Where the table came from.
    pub origin: Origin,
    /// The non-blank rows, in file order.
    pub rows: Vec<Row>,
    /// Whether spreadsheet serial numbers count from 1904 (old Mac workbooks) instead of 1900.
    pub date_1904: bool,
    /// Whether the first row is a header made by the decoder (JSON paths), to be used as is.
    pub header_given: bool,
    /// Rows the decoder could not turn into cells at all (such as a JSON record that is not an
    /// object).
    pub problems: Vec<RowProblem>,
}

impl Table {
    /// An empty table of this origin.
    pub fn new(origin: Origin) -> Table {
        Table {
            origin,
            rows: Vec::new(),
            date_1904: false,
            header_given: false,
            problems: Vec::new(),
        }
    }

    /// How a person finds a row: `line 5`, `sheet Attendance row 4`, `record 3 (data[2])`.
    pub fn locate(&self, row: &Row) -> String {
        self.locate_number(row.number)
    }

    /// How a person finds the row of this number (see [`Table::locate`]).
    pub fn locate_number(&self, number: usize) -> String {
        match &self.origin {
            Origin::Csv => format!("line {number}"),
            Origin::Sheet(name) => format!("sheet {name} row {number}"),
            Origin::Json(path) => {
                let index = number.saturating_sub(1);
                if path.is_empty() {
                    format!("record {number} ([{index}])")
                } else {
                    format!("record {number} ({path}[{index}])")
                }
            }
        }
    }
}

/// Builds a table row by row within the limits, dropping blank rows and trailing blank cells.
pub struct TableBuilder {
    table: Table,
    limits: Limits,
    rows: usize,
    cells: usize,
    text_bytes: u64,
}

impl TableBuilder {
    /// An empty table from `origin`, refusing more than `limits` allow.
    pub fn new(origin: Origin, limits: Limits) -> Self {
        TableBuilder {
            table: Table::new(origin),
            limits,
            rows: 0,
            cells: 0,
            text_bytes: 0,
        }
    }

    /// The table so far (its header facts are set as they are found).
    pub fn table_mut(&mut self) -> &mut Table {
        &mut self.table
    }

    /// Adds a row unless it is blank; true when it was added.
    pub fn push(&mut self, number: usize, mut cells: Vec<Cell>) -> Result<bool, DecodeProblem> {
        while cells.last().is_some_and(Cell::is_blank) {
            cells.pop();
        }
        if cells.is_empty() {
            return Ok(false);
        }
        if self.rows >= self.limits.max_rows {
            return Err(DecodeProblem::TooManyRows {
                limit: self.limits.max_rows,
            });
        }
        self.cells += cells.len();
        if self.cells > self.limits.max_cells {
            return Err(DecodeProblem::TooManyCells {
                limit: self.limits.max_cells,
            });
        }
        self.check_text(number, &cells)?;
        self.rows += 1;
        self.table.rows.push(Row { number, cells });
        Ok(true)
    }

    /// Counts the row's text against `limits.max_field_bytes` and `limits.max_text_bytes`.
    fn check_text(&mut self, number: usize, cells: &[Cell]) -> Result<(), DecodeProblem> {
        for cell in cells {
            let len = cell.text_len();
            if len > self.limits.max_field_bytes {
                return Err(DecodeProblem::FieldTooBig {
                    at: self.table.locate_number(number),
                    limit: self.limits.max_field_bytes,
                });
            }
            self.text_bytes += len as u64;
        }
        if self.text_bytes > self.limits.max_text_bytes {
            return Err(DecodeProblem::TooMuchText {
                what: "file's cells",
                bytes: self.limits.max_text_bytes,
                counted_all: false,
                limit: self.limits.max_text_bytes,
            });
        }
        Ok(())
    }

    /// The rows added since the last window, as a table of its own; the limits count on.
    pub fn take_window(&mut self) -> Table {
        let mut window = Table::new(self.table.origin.clone());
        window.date_1904 = self.table.date_1904;
        window.header_given = self.table.header_given;
        window.rows = std::mem::take(&mut self.table.rows);
        window
    }

    /// The table built.
    pub fn finish(self) -> Table {
        self.table
    }
}
