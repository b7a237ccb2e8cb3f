//! Finding the header: the first row (or pair of rows) that holds every column the format
//! names, below any title rows.

use crate::pipeline::decode::{Row, Table};
use crate::pipeline::error::DecodeProblem;
use crate::pipeline::format::{Format, normalise_key, position_column};

/// How far down a header is looked for; a register's header is near the top.
pub const SEARCH_ROWS: usize = 1000;

/// One column of the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The header text, as shown to a person (with two header rows: the upper text, carried
    /// over blank or merged cells, then the lower).
    pub label: String,
    /// The normalised texts the column answers to.
    keys: Vec<String>,
}

/// The header found in a table.
#[derive(Debug, Clone)]
pub struct Header {
    /// The columns, left to right.
    pub columns: Vec<Column>,
    /// Where the data starts, as an index into the table's rows.
    pub data_start: usize,
}

impl Header {
    /// The column a format names: by its header text (ignoring case and spaces), or by
    /// position (`#1` is the first column).
    /// The columns of the format's names found in this header, with the name.
    pub fn named<'f>(&self, format: &'f Format) -> Vec<(usize, &'f str)> {
        format
            .named_columns()
            .into_iter()
            .filter_map(|(name, _)| self.find(name).map(|c| (c, name)))
            .collect()
    }

    /// The column `name`: a header text, or a position such as `#3`.
    pub fn find(&self, name: &str) -> Option<usize> {
        if let Some(i) = position_column(name) {
            return Some(i);
        }
        let key = normalise_key(name);
        self.columns.iter().position(|c| c.keys.contains(&key))
    }
}

/// Finds the header: the first row (or pair) that has every required column the format names
/// and satisfies `also` (a wide layout needs at least one session column).
pub fn find(table: &Table, format: &Format, also: &dyn Fn(&Header) -> bool) -> Result<Header, DecodeProblem> {
    let wanted: Vec<&str> = format
        .named_columns()
        .into_iter()
        .filter(|(_, required)| *required)
        .map(|(n, _)| n)
        .collect();
    if format.header_rows == 0 {
        let width = table.rows.iter().map(|r| r.cells.len()).max().unwrap_or(0);
        let columns = (0..width)
            .map(|i| Column {
                label: format!("#{}", i + 1),
                keys: Vec::new(),
            })
            .collect();
        return Ok(Header { columns, data_start: 0 });
    }
    let height = if table.header_given {
        1
    } else {
        usize::from(format.header_rows)
    };
    let mut closest: Option<(usize, String)> = None;
    let last_start = if table.header_given {
        1
    } else {
        SEARCH_ROWS.min(table.rows.len())
    };
    let pattern = format.layout.session_columns.as_deref();
    for start in 0..last_start {
        let Some(rows) = table.rows.get(start..start + height) else {
            break;
        };
        let header = build(rows, start + height);
        let missing: Vec<&str> = wanted.iter().copied().filter(|n| header.find(n).is_none()).collect();
        let satisfied = missing.is_empty() && also(&header);
        if satisfied {
            return Ok(header);
        }
        let found = wanted.len() - missing.len();
        if found > 0 && closest.as_ref().is_none_or(|(best, _)| found > *best) {
            let lacks = if missing.is_empty() {
                match pattern {
                    Some(p) => format!("has no column matching `{p}`"),
                    None => "is not a header the layout can read".to_string(),
                }
            } else {
                let names: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
                format!("lacks {}", names.join(", "))
            };
            closest = Some((found, format!("{}, {lacks}", table.locate(&rows[0]))));
        }
    }
    // One header row asked for, where two together hold every column: a date above AM and PM.
    let two_rows = (height == 1 && !table.header_given)
        .then(|| {
            (0..last_start).find(|&start| {
                table.rows.get(start..start + 2).is_some_and(|rows| {
                    let header = build(rows, start + 2);
                    wanted.iter().all(|n| header.find(n).is_some()) && also(&header)
                })
            })
        })
        .flatten()
        .and_then(|start| table.rows.get(start))
        .map(|row| table.locate(row).into_boxed_str());
    Err(DecodeProblem::HeaderNotFound {
        wanted: wanted.iter().map(|n| (*n).to_string()).collect(),
        pattern: pattern.map(Box::from),
        closest: closest.map(|(_, c)| c),
        two_rows,
    })
}

/// Builds the header from one or two rows; with two, a blank (or merged) upper cell repeats
/// the upper text from its left, so a date spans its AM and PM columns.
fn build(rows: &[Row], data_start: usize) -> Header {
    let width = rows.iter().map(|r| r.cells.len()).max().unwrap_or(0);
    let mut columns = Vec::with_capacity(width);
    match rows {
        [upper, lower] => {
            let mut carried = String::new();
            for c in 0..width {
                let own = upper.cell(c).as_text().into_owned();
                if !own.is_empty() {
                    carried = own.clone();
                }
                let below = lower.cell(c).as_text().into_owned();
                let label = format!("{carried} {below}").trim().to_string();
                let keys = [&below, &own, &label]
                    .into_iter()
                    .map(|t| normalise_key(t))
                    .filter(|k| !k.is_empty())
                    .collect();
                columns.push(Column { label, keys });
            }
        }
        _ => {
            for c in 0..width {
                let label = rows
                    .first()
                    .map(|r| r.cell(c).as_text().into_owned())
                    .unwrap_or_default();
                let key = normalise_key(&label);
                let keys = if key.is_empty() { Vec::new() } else { vec![key] };
                columns.push(Column { label, keys });
            }
        }
    }
    Header { columns, data_start }
}

/// Whether a data row repeats the header (exports that repeat it on every page): every named
/// column's cell holds that column's own name.
pub fn repeats_header(row: &Row, named: &[(usize, &str)]) -> bool {
    !named.is_empty()
        && named
            .iter()
            .all(|(column, name)| normalise_key(&row.cell(*column).as_text()) == normalise_key(name))
}
