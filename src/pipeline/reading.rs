//! Reading a document: the one read path that `import` (which then writes) and `format try`
//! (which writes nothing) share. Rows come a window at a time; each window is laid out into
//! observations, its dates checked against the school calendar, and normalised into marks and
//! review rows.

use std::io::Read;

use super::decode::{Origin, ReadError, Survey, Table, Windows, windows};
use super::fingerprint::Fingerprint;
use super::format::CheckedFormat;
use super::layout::Reader;
use super::normalise::plausible::implausible_date;
use super::normalise::{Normalised, Normaliser};
use super::observation::Decoded;

/// Rows read (and normalised, and staged) at a time: enough for the header search in the
/// first window, few enough that a window's rows, observations and marks stay a few MB.
pub(crate) const WINDOW_ROWS: usize = 10_000;
// The header (and a title cell with the file's date) is looked for in the first window only.
const _: () = assert!(WINDOW_ROWS > super::layout::header::SEARCH_ROWS + 2);

/// A document being read, its header found.
pub(crate) struct Reading<'a, R: Read> {
    rows: Windows<R>,
    reader: Reader<'a>,
    format: &'a CheckedFormat,
    /// The first window, read to find the header and not yet normalised.
    prelude: Option<Table>,
    normaliser: &'a Normaliser<'a>,
    fingerprint: Fingerprint,
    /// When the provider made the return, when the format names a `report_date`.
    report_date: Option<chrono::NaiveDate>,
}

impl<'a, R: Read> Reading<'a, R> {
    /// Opens the document (after its [`Survey`]) and finds its header in the first window:
    /// most unreadable files stop here, before anything is written.
    pub(crate) fn open(
        surveyed: &Survey,
        open: impl Fn() -> std::io::Result<R>,
        format: &'a CheckedFormat,
        file_name: &str,
        normaliser: &'a Normaliser<'a>,
        held: bool,
    ) -> Result<Self, ReadError> {
        let mut rows = windows(surveyed, open, format)?;
        let prelude = rows
            .next_window(WINDOW_ROWS)?
            .unwrap_or_else(|| Table::new(Origin::Csv));
        let reader = Reader::new(&prelude, format, file_name).map_err(ReadError::Decode)?;
        let report_date = super::layout::report_date(&prelude, format, file_name);
        let mut fingerprint = Fingerprint::new(held);
        if let Some(date) = report_date {
            fingerprint.add_report_date(date);
        }
        Ok(Reading {
            rows,
            reader,
            format,
            prelude: Some(prelude),
            normaliser,
            fingerprint,
            report_date,
        })
    }

    /// The next window's marks and review rows, `None` after the last. `peek` sees each
    /// window's observations before they are normalised (`format try` shows the first few).
    /// A date that cannot be right rejects the file.
    pub(crate) fn next(&mut self, peek: &mut dyn FnMut(&Decoded)) -> Result<Option<Normalised>, ReadError> {
        let table = match self.prelude.take() {
            Some(prelude) => prelude,
            None => match self.rows.next_window(WINDOW_ROWS)? {
                Some(table) => table,
                None => return Ok(None),
            },
        };
        let decoded = self.reader.read(&table);
        drop(table);
        if let Some(problem) = implausible_date(&decoded, self.normaliser.calendar(), self.format) {
            return Err(ReadError::Decode(problem));
        }
        self.fingerprint.add(&decoded);
        peek(&decoded);
        Ok(Some(self.normaliser.window(decoded)))
    }

    /// After the last window: refuses a header without rows, and gives the fingerprint of
    /// what the document says.
    pub(crate) fn finish(self) -> Result<String, ReadError> {
        self.reader.finish().map_err(ReadError::Decode)?;
        Ok(self.fingerprint.finish())
    }

    /// When the provider made the return (the format's `report_date`), if it says.
    pub(crate) fn report_date(&self) -> Option<chrono::NaiveDate> {
        self.report_date
    }

    /// Where the header was found and what each column is for, the layout and the date
    /// patterns that read the dates so far (for `format try`).
    pub(crate) fn reader(&self) -> &Reader<'a> {
        &self.reader
    }
}
