//! JSON: one page of records, each flattened to cells named by dotted paths; a record whose
//! sessions are a list (`sessions[].code` in the format) gives one row per item.

use std::collections::HashMap;

use serde_json::Value;

use super::table::{Cell, Origin, Row, Table, TableBuilder};
use super::text::decode_text;
use crate::pipeline::error::DecodeProblem;
use crate::pipeline::format::{EACH, FileKind, Format, normalise_key};
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
    let list = format.item_list();
    for (i, record) in records.iter().enumerate() {
        let at = || {
            locator.locate(&Row {
                number: i + 1,
                cells: Vec::new(),
            })
        };
        if record.is_object() {
            let mut fields = Vec::new();
            flatten(record, &mut String::new(), &mut fields);
            match list {
                None => rows.push((i + 1, cells_of(fields, &mut columns))),
                Some(list) => match each_item(record, list, fields) {
                    Ok(items) => rows.extend(items.into_iter().map(|f| (i + 1, cells_of(f, &mut columns)))),
                    Err(message) => problems.push(RowProblem {
                        locator: at(),
                        identifier: None,
                        message,
                        raw_row: crate::pipeline::excerpt::raw_row(std::iter::once(record.to_string().into())),
                    }),
                },
            }
        } else {
            if !record.is_null() {
                problems.push(RowProblem {
                    locator: at(),
                    identifier: None,
                    message: "this record is not an object with fields, so it was skipped".to_string(),
                    raw_row: crate::pipeline::excerpt::raw_row(std::iter::once(record.to_string().into())),
                });
            }
            rows.push((i + 1, Vec::new()));
        }
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

/// A record's fields as cells, in the columns their paths name.
fn cells_of(fields: Vec<(String, Cell)>, columns: &mut Columns) -> Vec<Cell> {
    let mut cells: Vec<Cell> = Vec::new();
    for (field, cell) in fields {
        let Some(column) = columns.index(&field) else { continue };
        if cells.len() <= column {
            cells.resize(column + 1, Cell::Empty);
        }
        cells[column] = cell;
    }
    cells
}

/// One set of fields per item of the record's `list`: the record's own fields (without the
/// list's, read by position) and the item's, named `list[].field`. A record without the list,
/// or with an empty one, has no sessions: one set of the record's fields, which holds no mark.
fn each_item(record: &Value, list: &str, fields: Vec<(String, Cell)>) -> Result<Vec<Vec<(String, Cell)>>, String> {
    let key = normalise_key(list);
    let own: Vec<(String, Cell)> = fields
        .into_iter()
        .filter(|(path, _)| {
            let p = normalise_key(path);
            p != key && !p.starts_with(&format!("{key}."))
        })
        .collect();
    let items = match value_at(record, list) {
        None | Some(Value::Null) => return Ok(vec![own]),
        Some(Value::Array(items)) if items.is_empty() => return Ok(vec![own]),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(format!(
                "the record's `{list}` is {}, not a list of sessions, so none of its marks were read",
                kind_of(other)
            ));
        }
    };
    Ok(items
        .iter()
        .map(|item| {
            let mut set = own.clone();
            flatten(item, &mut format!("{list}{EACH}"), &mut set);
            set
        })
        .collect())
}

/// The value at a dotted path inside a record, keys matched ignoring case and spaces as
/// columns are.
fn value_at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |here, key| match here {
        Value::Object(map) => map.get(key.trim()).or_else(|| {
            let want = normalise_key(key);
            map.iter().find(|(k, _)| normalise_key(k) == want).map(|(_, v)| v)
        }),
        Value::Array(items) => key.trim().parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
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
        let key = normalise_key(name);
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
