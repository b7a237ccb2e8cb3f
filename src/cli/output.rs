//! Listings as an aligned table, CSV or JSON: one renderer for every command.

use std::io::Write;

use clap::ValueEnum;
use serde_json::Value;

/// How a listing is printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for a person.
    #[default]
    Table,
    /// Comma-separated values with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// A listing: named columns and rows of values.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Column names, as they appear in CSV headers and JSON keys.
    pub columns: Vec<&'static str>,
    /// One entry per row, as many values as columns.
    pub rows: Vec<Vec<Value>>,
}

impl Listing {
    /// An empty listing with these columns.
    pub fn new(columns: &[&'static str]) -> Self {
        Listing {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; values convert with `serde_json::json!`-style `Into<Value>`.
    pub fn push(&mut self, row: Vec<Value>) {
        self.rows.push(row);
    }

    /// Writes the listing in `format`.
    pub fn write(&self, format: Format, out: &mut dyn Write) -> std::io::Result<()> {
        match format {
            Format::Table => self.write_table(out),
            Format::Csv => self.write_csv(out),
            Format::Json => {
                let objects: Vec<Value> = self
                    .rows
                    .iter()
                    .map(|row| {
                        Value::Object(
                            self.columns
                                .iter()
                                .zip(row)
                                .map(|(c, v)| ((*c).to_string(), v.clone()))
                                .collect(),
                        )
                    })
                    .collect();
                serde_json::to_writer_pretty(&mut *out, &objects)?;
                writeln!(out)
            }
        }
    }

    fn write_csv(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(&self.columns)?;
        for row in &self.rows {
            w.write_record(row.iter().map(cell))?;
        }
        w.flush()
    }

    fn write_table(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let cells: Vec<Vec<String>> = self.rows.iter().map(|r| r.iter().map(cell).collect()).collect();
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |values: Vec<&str>| {
            let padded: Vec<String> = values.iter().zip(&widths).map(|(v, w)| format!("{v:<w$}")).collect();
            padded.join("  ").trim_end().to_string()
        };
        writeln!(out, "{}", line(self.columns.clone()))?;
        for row in &cells {
            writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
        }
        if cells.is_empty() {
            writeln!(out, "(none)")?;
        }
        Ok(())
    }
}

/// A value as text in a cell: strings without quotes, null as empty.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `1 visit`, `2 visits`: a count with its noun agreeing.
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Listing {
        let mut l = Listing::new(&["upn", "code", "pct"]);
        l.push(vec![json!("B371432121135"), json!("B"), json!("75.0")]);
        l.push(vec![json!("C371432121184"), Value::Null, json!(3)]);
        l
    }

    fn render(format: Format) -> String {
        let mut out = Vec::new();
        sample().write(format, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_has_a_header_and_plain_cells() {
        assert_eq!(
            render(Format::Csv),
            "upn,code,pct\nB371432121135,B,75.0\nC371432121184,,3\n"
        );
    }

    #[test]
    fn table_aligns_columns() {
        let t = render(Format::Table);
        assert_eq!(t.lines().next().unwrap(), "upn            code  pct");
        assert_eq!(t.lines().nth(2).unwrap(), "C371432121184        3");
    }

    #[test]
    fn json_is_an_array_of_objects() {
        let v: Value = serde_json::from_str(&render(Format::Json)).unwrap();
        assert_eq!(v[0]["code"], "B");
        assert_eq!(v[1]["code"], Value::Null);
    }
}
