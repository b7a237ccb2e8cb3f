//! Delimited text: decoding, delimiter sniffing and quoted fields.

use std::collections::BTreeMap;
use std::io::Read;

use super::ReadError;
use super::lines::LineTracking;
use super::survey::{Survey, survey};
use super::table::{Cell, Origin, Table, TableBuilder};
use super::text::TextReader;
use crate::pipeline::error::DecodeProblem;
use crate::pipeline::format::{FileKind, Format};

/// The delimiters tried when the format gives none, in order of preference on a tie.
pub const CANDIDATE_DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// How many records the sniffer looks at.
const SNIFF_RECORDS: usize = 50;

/// Reads delimited text into a table. Quoted fields may hold the delimiter, doubled quotes and
/// line breaks; a row is numbered by the line it starts on.
pub fn read(bytes: &[u8], format: &Format) -> Result<Table, DecodeProblem> {
    let whole = || -> Result<Table, ReadError> {
        let survey = survey(|| Ok(bytes), format.encoding).map_err(ReadError::Io)?;
        let mut rows = CsvRows::open(bytes, &survey, format).map_err(ReadError::Decode)?;
        let mut table = Table::new(Origin::Csv);
        while let Some(mut window) = rows.next_window(usize::MAX)? {
            table.rows.append(&mut window.rows);
        }
        Ok(table)
    };
    whole().map_err(ReadError::into_problem)
}

/// A delimited text read a window of rows at a time, within the format's limits.
pub struct CsvRows<R: Read> {
    reader: ::csv::Reader<LineTracking<TextReader<R>>>,
    record: ::csv::StringRecord,
    builder: TableBuilder,
    first: bool,
}

impl<R: Read> CsvRows<R> {
    /// Reads `bytes` (the file again, after its [`Survey`]) with the format's delimiter, or the
    /// one sniffed from the file's first records.
    pub fn open(bytes: R, survey: &Survey, format: &Format) -> Result<Self, DecodeProblem> {
        let encoding = survey.encoding.clone()?;
        let delimiter = format.delimiter_byte().unwrap_or_else(|| {
            let (head, _) = encoding.decode_without_bom_handling(&survey.head[survey.bom_len..]);
            sniff_delimiter(&head)
        });
        let text = TextReader::new(bytes, encoding, survey.bom_len, survey.valid_utf8);
        Ok(CsvRows {
            reader: builder(delimiter).from_reader(LineTracking::new(text)),
            record: ::csv::StringRecord::new(),
            builder: TableBuilder::new(Origin::Csv, format.limits),
            first: true,
        })
    }

    /// The next window of up to `max_rows` non-blank rows, `None` after the last.
    pub fn next_window(&mut self, max_rows: usize) -> Result<Option<Table>, ReadError> {
        let mut taken = 0;
        while taken < max_rows {
            match self.reader.read_record(&mut self.record) {
                Ok(false) => break,
                Ok(true) => {
                    let offset = self.record.position().map_or(0, ::csv::Position::byte);
                    let line = self.reader.get_mut().line_at(offset);
                    let cells = self.record.iter().map(Cell::text).collect();
                    if self.builder.push(line, cells).map_err(ReadError::Decode)? {
                        taken += 1;
                    }
                }
                Err(e) => {
                    return Err(match e.kind() {
                        ::csv::ErrorKind::Io(io) => ReadError::Io(std::io::Error::new(io.kind(), io.to_string())),
                        _ => ReadError::Decode(DecodeProblem::Unreadable {
                            kind: FileKind::Csv,
                            detail: e.to_string(),
                            advice: "open it in a spreadsheet and save it again as CSV",
                        }),
                    });
                }
            }
        }
        // The first window is given even when empty: a blank file is refused as blank.
        let first = std::mem::take(&mut self.first);
        Ok((taken > 0 || first).then(|| self.builder.take_window()))
    }
}

fn builder(delimiter: u8) -> ::csv::ReaderBuilder {
    let mut b = ::csv::ReaderBuilder::new();
    b.has_headers(false).flexible(true).delimiter(delimiter);
    b
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
        for record in builder(delimiter)
            .from_reader(text.as_bytes())
            .records()
            .take(SNIFF_RECORDS)
            .flatten()
        {
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
