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
    let mut lines = LineCounter::new(text.as_bytes());
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| lines.line_at(p.byte() as usize));
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

/// Line numbers from byte offsets. The csv crate's own line numbers (and offsets) lag behind
/// after a CRLF, so a record is placed by its start, skipping any line break the reported offset
/// still points at (a record never starts with one: blank lines are not records).
struct LineCounter<'t> {
    text: &'t [u8],
    pos: usize,
    line: usize,
}

impl<'t> LineCounter<'t> {
    fn new(text: &'t [u8]) -> Self {
        LineCounter { text, pos: 0, line: 1 }
    }

    fn line_at(&mut self, offset: usize) -> usize {
        let mut target = offset.max(self.pos).min(self.text.len());
        while matches!(self.text.get(target), Some(b'\r' | b'\n')) {
            target += 1;
        }
        for i in self.pos..target {
            match self.text[i] {
                b'\n' => self.line += 1,
                b'\r' if self.text.get(i + 1) != Some(&b'\n') => self.line += 1,
                _ => {}
            }
        }
        self.pos = target;
        self.line
    }
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
        let score = counts.iter().map(|(fields, rows)| rows * fields).max().unwrap_or(0);
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
        assert_eq!(
            sniff_delimiter("name\tdob\nO'Brien, Zoë\t2010-07-14\nKelly, Siobhán\t2011\n"),
            b'\t'
        );
        assert_eq!(sniff_delimiter("a|b|c\n1|2|3\n"), b'|');
        assert_eq!(sniff_delimiter("title only\n"), b',');
    }

    #[test]
    fn rows_are_numbered_by_the_line_they_start_on() {
        let f: Format = toml::from_str(
            "kind = \"csv\"\n[identity]\nupn = \"U\"\n[layout]\nstyle = \"long\"\nmark = \"M\"\ndate = \"D\"\n[marks]\ncodes = \"dfe\"",
        )
        .unwrap();
        for text in [
            "t\r\n\r\n,\r\nU,\"two\r\nlines\"\r\nx\r\n",
            "t\n\n,\nU,\"two\nlines\"\nx\n",
            "t\r\r,\rU,\"two\rlines\"\rx\r",
        ] {
            let table = read(text.as_bytes(), &f).unwrap();
            let numbers: Vec<usize> = table.rows.iter().map(|r| r.number).collect();
            assert_eq!(numbers, [1, 4, 6], "{text:?}");
        }
    }
}
