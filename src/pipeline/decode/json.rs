//! JSON: one page of records, each flattened to cells named by dotted paths.

use std::collections::HashMap;

use serde_json::Value;

use super::table::{Cell, Origin, Row, Table, TableBuilder};
use super::text::decode_text;
use crate::pipeline::error::DecodeProblem;
use crate::pipeline::format::{FileKind, Format};
use crate::pipeline::observation::RowProblem;

/// The most distinct field paths read from one page; more is not attendance data.
const MAX_PATHS: usize = 1024;

/// Reads the records at the format's `records` path into a table whose first row is the
/// header of field paths (every path the format names, then any other path found).
pub fn read(bytes: &[u8], format: &Format) -> Result<Table, DecodeProblem> {
    let (text, _) = decode_text(bytes, format.encoding)?;
    let document: Value = serde_json::from_str(&text).map_err(|e| DecodeProblem::Unreadable {
        kind: FileKind::Json,
        detail: if e.is_eof() {
            format!("it stops before the end of the JSON, as if cut short ({e})")
        } else {
            format!("it is not valid JSON ({e})")
        },
        advice: "ask the provider (or its API) to send it again as valid JSON",
    })?;
    let path = format.records.as_deref().map(str::trim).unwrap_or("");
    let records = records_at(&document, path)?;
    if records.len() > format.limits.max_rows {
        return Err(DecodeProblem::TooManyRows {
            limit: format.limits.max_rows,
        });
    }

    let mut columns = Columns::default();
    for (name, _) in format.named_columns() {
        columns.index(name);
    }
    let mut rows = Vec::with_capacity(records.len());
    let mut problems = Vec::new();
    let locator = Table::new(Origin::Json(path.to_string()));
    for (i, record) in records.iter().enumerate() {
        let mut cells: Vec<Cell> = Vec::new();
        if record.is_object() {
            let mut fields = Vec::new();
            flatten(record, &mut String::new(), &mut fields);
            for (field, cell) in fields {
                let Some(column) = columns.index(&field) else { continue };
                if cells.len() <= column {
                    cells.resize(column + 1, Cell::Empty);
                }
                cells[column] = cell;
            }
        } else if !record.is_null() {
            problems.push(RowProblem {
                locator: locator.locate(&Row {
                    number: i + 1,
                    cells: Vec::new(),
                }),
                identifier: None,
                message: "this record is not an object with fields, so it was skipped".to_string(),
                raw_row: crate::pipeline::excerpt::raw_row(std::iter::once(record.to_string().into())),
            });
        }
        rows.push((i + 1, cells));
    }

    let mut builder = TableBuilder::new(Origin::Json(path.to_string()), format.limits);
    builder.push(0, columns.names.iter().map(|n| Cell::text(n)).collect())?;
    for (number, cells) in rows {
        builder.push(number, cells)?;
    }
    let table = builder.table_mut();
    table.header_given = true;
    table.problems = problems;
    Ok(builder.finish())
}

fn records_at<'a>(document: &'a Value, path: &str) -> Result<&'a [Value], DecodeProblem> {
    let shown = if path.is_empty() { "(document)" } else { path };
    let mut here = document;
    if !path.is_empty() {
        for key in path.split('.') {
            let next = match here {
                Value::Object(map) => map.get(key.trim()),
                Value::Array(items) => key.trim().parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            here = next.ok_or_else(|| DecodeProblem::RecordsNotFound {
                path: shown.to_string(),
                detail: format!("there is no `{}` {}", key.trim(), keys_hint(here)),
            })?;
        }
    }
    match here {
        Value::Array(items) => Ok(items),
        other => Err(DecodeProblem::RecordsNotFound {
            path: shown.to_string(),
            detail: format!("found {} instead", kind_of(other)),
        }),
    }
}

fn keys_hint(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().take(10).map(|k| format!("`{k}`")).collect();
            format!("(the keys there are {})", keys.join(", "))
        }
        other => format!("(found {})", kind_of(other)),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Every leaf of a record, named by its dotted path (array items by their index).
fn flatten(value: &Value, prefix: &mut String, out: &mut Vec<(String, Cell)>) {
    let mut visit = |key: &str, child: &Value, out: &mut Vec<(String, Cell)>| {
        let len = prefix.len();
        if !prefix.is_empty() {
            prefix.push('.');
        }
        prefix.push_str(key);
        flatten(child, prefix, out);
        prefix.truncate(len);
    };
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| visit(k, v, out)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| visit(&i.to_string(), v, out)),
        Value::Null => out.push((prefix.clone(), Cell::Empty)),
        Value::Bool(b) => out.push((prefix.clone(), Cell::Text(b.to_string().into()))),
        Value::Number(n) => out.push((
            prefix.clone(),
            n.as_f64().map_or_else(|| Cell::text(&n.to_string()), Cell::Number),
        )),
        Value::String(s) => out.push((prefix.clone(), Cell::text(s))),
    }
}

/// Column numbers for field paths, in first-seen order, matching paths as the header finder
/// will (ignoring case and spaces) so a format's `Student.Ref` finds `student.ref`.
#[derive(Default)]
struct Columns {
    names: Vec<String>,
    by_key: HashMap<String, usize>,
}

impl Columns {
    fn index(&mut self, name: &str) -> Option<usize> {
        let key = crate::pipeline::format::normalise_key(name);
        if let Some(i) = self.by_key.get(&key) {
            return Some(*i);
        }
        if self.names.len() >= MAX_PATHS {
            return None;
        }
        self.names.push(name.to_string());
        self.by_key.insert(key, self.names.len() - 1);
        Some(self.names.len() - 1)
    }
}
