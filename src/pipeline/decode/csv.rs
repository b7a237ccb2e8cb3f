//! Delimited text: decoding, delimiter sniffing and quoted fields.

use std::collections::BTreeMap;

use super::table::{Cell, Origin, Table, TableBuilder};
use super::text::decode_text;
use crate::pipeline::error::DecodeProblem;
use crate::pipeline::format::{FileKind, Format};

/// The delimiters tried when the format gives none, in order of preference on a tie.
pub const CANDIDATE_DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// How many records the sniffer looks at.
const SNIFF_RECORDS: usize = 50;

/// Reads delimited text into a table. Quoted fields may hold the delimiter, doubled quotes and
/// line breaks; a row is numbered by the line it starts on.
pub fn read(bytes: &[u8], format: &Format) -> Result<Table, DecodeProblem> {
    let (text, _) = decode_text(bytes, format.encoding)?;
    let delimiter = format.delimiter_byte().unwrap_or_else(|| sniff_delimiter(&text));
    let mut builder = TableBuilder::new(Origin::Csv, format.limits);
    let mut reader = reader(&text, delimiter);
    let mut record = ::csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line() as usize);
                let cells = record.iter().map(Cell::text).collect();
                builder.push(line, cells)?;
            }
            Err(e) => {
                return Err(DecodeProblem::Unreadable {
                    kind: FileKind::Csv,
                    detail: e.to_string(),
                    advice: "open it in a spreadsheet and save it again as CSV",
                });
            }
        }
    }
    Ok(builder.finish())
}

fn reader(text: &str, delimiter: u8) -> ::csv::Reader<&[u8]> {
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes())
}

/// Picks the delimiter that splits the first records most consistently into several fields.
///
/// For each candidate, the records are parsed (so quoted delimiters do not count) and the
/// most common field count above one is found; the score is how many records have it, times
/// that count. Title rows (one field) and ragged rows count for nothing.
pub fn sniff_delimiter(text: &str) -> u8 {
    let mut best = (0usize, b',');
    for delimiter in CANDIDATE_DELIMITERS {
        let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
        for record in reader(text, delimiter).records().take(SNIFF_RECORDS).flatten() {
            let fields = record.len();
            if fields > 1 && record.iter().any(|f| !f.trim().is_empty()) {
                *counts.entry(fields).or_default() += 1;
            }
        }
        let score = counts
            .iter()
            .map(|(fields, rows)| rows * fields)
            .max()
            .unwrap_or(0);
        if score > best.0 {
            best = (score, delimiter);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sniffs_each_candidate() {
        assert_eq!(sniff_delimiter("a,b,c\n1,2,3\n"), b',');
        assert_eq!(sniff_delimiter("a;b;c\r\n1;\"x;y, z\";3\r\n"), b';');
        assert_eq!(sniff_delimiter("name\tdob\nO'Brien, Zoë\t2010-07-14\nKelly, Siobhán\t2011\n"), b'\t');
        assert_eq!(sniff_delimiter("a|b|c\n1|2|3\n"), b'|');
        assert_eq!(sniff_delimiter("title only\n"), b',');
    }
}
