//! XLSX workbooks: the zip is checked for bombs before calamine opens it, then one sheet is
//! streamed cell by cell into a table, cells of one shared string sharing one copy of it.

use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read, Seek};
use std::sync::Arc;

use calamine::{DataRef, Reader, Xlsx};
use chrono::NaiveDate;

use super::table::{Cell, Origin, Table, TableBuilder};
use crate::pipeline::error::DecodeProblem;
use crate::pipeline::format::{FileKind, Format, Limits, normalise_key};

/// Cells further right than this are ignored: a stray note far to the right of a register
/// must not make every row that wide in memory.
pub const MAX_COLUMNS: u32 = 1024;

/// The most parts a workbook may have; real workbooks have dozens.
const MAX_ZIP_ENTRIES: usize = 10_000;

const DECLARES_TOO_MUCH: &str = "declares that it unzips to more than the limit";
const UNZIPS_TOO_MUCH: &str = "unzips to more than the limit";
const LIES: &str = "unzips to more than it declares";

const ADVICE: &str = "open it in Excel and save it again as an .xlsx workbook";

fn unreadable(detail: impl std::fmt::Display) -> DecodeProblem {
    DecodeProblem::Unreadable {
        kind: FileKind::Xlsx,
        detail: detail.to_string(),
        advice: ADVICE,
    }
}

/// Reads the format's sheet (or the first) into a table, numbering rows as the sheet does.
///
/// Cells that refer to one shared string share one copy of it; the text the cells hold is
/// counted per cell against `limits.max_text_bytes` as it is read, so a workbook whose every
/// cell repeats one long string is refused before it takes the memory it describes.
pub fn read(bytes: &[u8], format: &Format) -> Result<Table, DecodeProblem> {
    check_zip(bytes, format.limits.max_xlsx_uncompressed_bytes)?;
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let name = sheet_name(&workbook, format)?;
    let date_1904 = workbook.has_1904_epoch();
    let rows = {
        let mut reader = workbook.worksheet_cells_reader(&name).map_err(unreadable)?;
        read_cells(&mut reader, format.limits)?
    };

    let mut builder = TableBuilder::new(Origin::Sheet(name), format.limits);
    builder.table_mut().date_1904 = date_1904;
    for (row, sparse) in rows {
        let width = sparse.iter().map(|(c, _)| *c as usize + 1).max().unwrap_or(0);
        let mut dense = vec![Cell::Empty; width];
        for (column, value) in sparse {
            dense[column as usize] = value;
        }
        builder.push(row as usize + 1, dense)?;
    }
    Ok(builder.finish())
}

/// The sheet the format names (case and spaces ignored), or the first.
fn sheet_name<R: Read + Seek>(workbook: &Xlsx<R>, format: &Format) -> Result<String, DecodeProblem> {
    let names = workbook.sheet_names();
    match &format.sheet {
        Some(wanted) => {
            let key = normalise_key(wanted);
            names
                .iter()
                .find(|n| normalise_key(n) == key)
                .cloned()
                .ok_or_else(|| DecodeProblem::SheetNotFound {
                    sheet: wanted.clone(),
                    available: names.clone(),
                })
        }
        None => names
            .first()
            .cloned()
            .ok_or_else(|| unreadable("the workbook has no sheets")),
    }
}

type CellsReader<'a, R> = calamine::XlsxCellReader<'a, R>;

/// The sheet's non-blank cells by row, within the limits.
fn read_cells<R: Read + Seek>(
    reader: &mut CellsReader<'_, R>,
    limits: Limits,
) -> Result<BTreeMap<u32, Vec<(u32, Cell)>>, DecodeProblem> {
    let mut rows: BTreeMap<u32, Vec<(u32, Cell)>> = BTreeMap::new();
    let mut shared = SharedStrings::default();
    let mut cells = 0usize;
    let mut text = 0u64;
    while let Some(cell) = reader.next_cell().map_err(unreadable)? {
        let (row, column) = cell.get_position();
        if column >= MAX_COLUMNS {
            continue;
        }
        let value = convert(cell.get_value(), &mut shared);
        if value.is_blank() {
            continue;
        }
        text += value.text_len() as u64;
        if text > limits.max_text_bytes {
            // Stop here: counting the rest of a huge workbook only to report the exact figure
            // would cost as long as reading it.
            return Err(DecodeProblem::TooMuchText {
                what: "workbook's cells",
                bytes: limits.max_text_bytes,
                counted_all: false,
                limit: limits.max_text_bytes,
            });
        }
        if !rows.contains_key(&row) && rows.len() >= limits.max_rows {
            return Err(DecodeProblem::TooManyRows { limit: limits.max_rows });
        }
        cells += 1;
        if cells > limits.max_cells {
            return Err(DecodeProblem::TooManyCells {
                limit: limits.max_cells,
            });
        }
        rows.entry(row).or_default().push((column, value));
    }
    Ok(rows)
}

/// One copy of each shared string the sheet's cells use. calamine hands every cell of a shared
/// string a borrow of the same entry of the workbook's table, so the entry's address (with its
/// length, after trimming) says which entry a cell refers to, without hashing its text.
#[derive(Default)]
struct SharedStrings(HashMap<(usize, usize), Arc<str>>);

impl SharedStrings {
    fn cell(&mut self, text: &str) -> Cell {
        let t = text.trim();
        if t.is_empty() {
            return Cell::Empty;
        }
        let key = (t.as_ptr() as usize, t.len());
        Cell::Text(self.0.entry(key).or_insert_with(|| Arc::from(t)).clone())
    }
}

fn bool_text(b: bool) -> &'static str {
    if b { "TRUE" } else { "FALSE" }
}

fn convert(value: &DataRef<'_>, shared: &mut SharedStrings) -> Cell {
    match value {
        DataRef::Empty => Cell::Empty,
        DataRef::Int(i) => Cell::Number(*i as f64),
        DataRef::Float(f) => Cell::Number(*f),
        DataRef::String(s) => Cell::text(s),
        DataRef::SharedString(s) => shared.cell(s),
        DataRef::Bool(b) => Cell::Text(Arc::from(bool_text(*b))),
        DataRef::DateTime(dt) if dt.is_datetime() => dt.as_datetime().map_or(Cell::Number(dt.as_f64()), |d| {
            // The time of day is kept only when there is one: a session's start time.
            if d.time() == chrono::NaiveTime::MIN {
                Cell::Date(d.date())
            } else {
                Cell::DateTime(d)
            }
        }),
        DataRef::DateTime(dt) => Cell::Number(dt.as_f64()),
        DataRef::DateTimeIso(s) => s
            .get(..10)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .map_or_else(|| Cell::text(s), Cell::Date),
        DataRef::DurationIso(s) => Cell::text(s),
        DataRef::Error(e) => Cell::Text(Arc::from(e.to_string())),
    }
}

/// Refuses a workbook that would unzip to more than `limit` bytes, by the sizes its directory
/// declares and then by really inflating every part (declared sizes can lie), before any of it
/// is parsed.
pub fn check_zip(bytes: &[u8], limit: u64) -> Result<(), DecodeProblem> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| DecodeProblem::Unreadable {
        kind: FileKind::Xlsx,
        detail: format!("the workbook is incomplete or damaged, as if cut short while it was sent ({e})"),
        advice: "ask the provider to send it again; if it is refused again, ask them to open it in Excel and save it again as an .xlsx workbook",
    })?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(unreadable(format!(
            "it has {} parts, more than a workbook has",
            archive.len()
        )));
    }
    let mut declared: u64 = 0;
    for i in 0..archive.len() {
        let part = archive.by_index_raw(i).map_err(unreadable)?;
        declared = declared.saturating_add(part.size());
    }
    if declared > limit {
        return Err(DecodeProblem::ZipBomb {
            how: DECLARES_TOO_MUCH,
            limit,
        });
    }
    let mut actual: u64 = 0;
    for i in 0..archive.len() {
        let mut part = archive.by_index(i).map_err(unreadable)?;
        let declared = part.size();
        let room = limit - actual;
        let read = std::io::copy(&mut (&mut part).take(room.saturating_add(1)), &mut std::io::sink()).map_err(|e| {
            // The zip crate stops a part that inflates past its declared size; say why.
            if e.to_string().contains("declared") {
                DecodeProblem::ZipBomb { how: LIES, limit }
            } else {
                unreadable(e)
            }
        })?;
        if read > declared {
            return Err(DecodeProblem::ZipBomb { how: LIES, limit });
        }
        actual = actual.saturating_add(read);
        if actual > limit {
            return Err(DecodeProblem::ZipBomb {
                how: UNZIPS_TOO_MUCH,
                limit,
            });
        }
    }
    Ok(())
}
