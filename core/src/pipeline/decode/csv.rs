//! Delimited text: decoding, delimiter sniffing and quoted fields.

use std::collections::BTreeMap;
use std::io::Read;

use super::ReadError;
use super::lines::LineTracking;
use super::survey::{Survey, survey};
use super::table::{Cell, Origin, Table, TableBuilder};
use super::text::TextReader;
use crate::pipeline::error::DecodeProblem;
use crate::pipeline::format::{Format, Limits};

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
///
/// Records are parsed a field at a time, so a field over `limits.max_field_bytes` or a line of
/// more than `limits.max_cells_per_row` fields is refused as soon as it is seen, before it
/// takes memory.
pub struct CsvRows<R: Read> {
    input: LineTracking<TextReader<R>>,
    parser: ::csv_core::Reader,
    buf: Vec<u8>,
    at: usize,
    end: usize,
    eof: bool,
    /// The bytes of text the parser has consumed.
    consumed: u64,
    /// Where the record being read starts (the end of the one before it).
    record_start: u64,
    field: Vec<u8>,
    cells: Vec<Cell>,
    limits: Limits,
    builder: TableBuilder,
    first: bool,
}

/// How much text is read at a time, and how much of a field the parser writes at a time.
const INPUT_CHUNK: usize = 64 * 1024;
const OUTPUT_CHUNK: usize = 8 * 1024;

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
            input: LineTracking::new(text),
            parser: ::csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            buf: vec![0; INPUT_CHUNK],
            at: 0,
            end: 0,
            eof: false,
            consumed: 0,
            record_start: 0,
            field: Vec::new(),
            cells: Vec::new(),
            limits: format.limits,
            builder: TableBuilder::new(Origin::Csv, format.limits),
            first: true,
        })
    }

    /// The next window of up to `max_rows` non-blank rows, `None` after the last.
    pub fn next_window(&mut self, max_rows: usize) -> Result<Option<Table>, ReadError> {
        let mut taken = 0;
        while taken < max_rows {
            let Some((line, cells)) = self.next_record()? else {
                break;
            };
            if self.builder.push(line, cells).map_err(ReadError::Decode)? {
                taken += 1;
            }
        }
        // The first window is given even when empty: a blank file is refused as blank.
        let first = std::mem::take(&mut self.first);
        Ok((taken > 0 || first).then(|| self.builder.take_window()))
    }

    /// The next record's line and cells, `None` after the last.
    fn next_record(&mut self) -> Result<Option<(usize, Vec<Cell>)>, ReadError> {
        use ::csv_core::ReadFieldResult;
        let mut out = [0u8; OUTPUT_CHUNK];
        loop {
            self.fill().map_err(ReadError::Io)?;
            let input = &self.buf[self.at..self.end];
            let empty = input.is_empty();
            let (result, read, written) = self.parser.read_field(input, &mut out);
            self.at += read;
            self.consumed += read as u64;
            if self.field.len() + written > self.limits.max_field_bytes {
                return Err(self.refuse(|at, l| DecodeProblem::FieldTooBig {
                    at,
                    limit: l.max_field_bytes,
                }));
            }
            self.field.extend_from_slice(&out[..written]);
            match result {
                ReadFieldResult::InputEmpty if empty && self.eof => return Ok(None),
                ReadFieldResult::InputEmpty | ReadFieldResult::OutputFull => {}
                ReadFieldResult::End => return Ok(None),
                ReadFieldResult::Field { record_end } => {
                    if self.cells.len() >= self.limits.max_cells_per_row {
                        return Err(self.refuse(|at, l| DecodeProblem::TooManyCellsInRow {
                            at,
                            limit: l.max_cells_per_row,
                        }));
                    }
                    self.cells.push(Cell::text(&String::from_utf8_lossy(&self.field)));
                    self.field.clear();
                    if record_end {
                        let line = self.input.line_at(self.record_start);
                        self.record_start = self.consumed;
                        return Ok(Some((line, std::mem::take(&mut self.cells))));
                    }
                }
            }
        }
    }

    /// Reads more text when the parser has used all it was given.
    fn fill(&mut self) -> std::io::Result<()> {
        while self.at == self.end && !self.eof {
            match self.input.read(&mut self.buf) {
                Ok(0) => self.eof = true,
                Ok(n) => (self.at, self.end) = (0, n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The file refused for the record being read, located by the line it starts on.
    fn refuse(&mut self, problem: impl FnOnce(String, &Limits) -> DecodeProblem) -> ReadError {
        let line = self.input.line_at(self.record_start);
        ReadError::Decode(problem(format!("line {line}"), &self.limits))
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
