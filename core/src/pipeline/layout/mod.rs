//! Turning a [`Table`] into observations through the format's header, layout, dates and
//! identity columns. Shared here: identity columns, the document date, and row bookkeeping.

pub mod clock;
pub mod dates;
pub mod header;
mod long;
mod wide;

use chrono::NaiveDate;

use crate::domain::Session;
use crate::pipeline::decode::{Cell, Origin, Row, Table};
use crate::pipeline::error::DecodeProblem;
use crate::pipeline::format::template::{Placeholder, Template, strip_label};
use crate::pipeline::format::{Format, Identity, LayoutStyle, NameOrder, normalise_key};
use crate::pipeline::observation::{DateOfBirth, Decoded, FullName, IdentityFields, Observation, RowProblem};
use dates::DateReader;
use header::Header;

/// Reads a whole table's observations with the format's layout.
pub fn extract(table: &Table, format: &Format, file_name: &str) -> Result<Decoded, DecodeProblem> {
    let mut reader = Reader::new(table, format, file_name)?;
    let decoded = reader.read(table);
    reader.finish()?;
    Ok(decoded)
}

/// Reads a file's rows into observations with the format's layout, a window of rows at a time:
/// the header (and the file's date) are found in the first window, then every window is read
/// the same way, so a long file never has to be held whole.
pub struct Reader<'f> {
    format: &'f Format,
    dates: DateReader<'f>,
    columns: Columns,
    named: Vec<(usize, &'f str)>,
    /// The first window's rows up to the end of the header.
    data_start: usize,
    /// Where the header is, for a person.
    header_at: String,
    header_given: bool,
    first: bool,
    rows_seen: bool,
    /// Each header column and what it is for.
    roles: Vec<ColumnRole>,
}

/// A header column and what the format reads from it (for `format try`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ColumnRole {
    /// The header text (a JSON path for JSON records).
    pub column: String,
    /// What it holds: `identity.upn`, `layout.mark`, `marks for Mon 2 Mar 2026 AM`, or
    /// `not used`.
    pub role: String,
}

enum Columns {
    Long(long::LongColumns),
    Wide(wide::WideColumns),
}

impl<'f> Reader<'f> {
    /// Finds the header in the first window of rows (which holds every row, or at least the
    /// rows a header is looked for in).
    pub fn new(prelude: &Table, format: &'f Format, file_name: &str) -> Result<Self, DecodeProblem> {
        if prelude.rows.is_empty() {
            let what = match &prelude.origin {
                Origin::Csv => Some("the file has only blank lines".to_string()),
                Origin::Sheet(name) => Some(format!("the sheet `{name}` is blank")),
                // An API page with no records is an ordinary answer (a day without sessions, the
                // page after the last), and its header row is made by the decoder: never blank.
                Origin::Json(_) => None,
            };
            if let Some(what) = what {
                return Err(DecodeProblem::Blank { what });
            }
        }
        let dates = DateReader::new(format, prelude);
        let (header, columns) = match format.layout.style {
            LayoutStyle::Long => {
                let header = header::find(prelude, format, &|_| true)?;
                let columns = long::LongColumns::new(&header, prelude, format, file_name, &dates)?;
                (header, Columns::Long(columns))
            }
            LayoutStyle::Wide => {
                let (header, columns) = wide::find_header(prelude, format, file_name, &dates)?;
                (header, Columns::Wide(columns))
            }
        };
        let header_at = header
            .data_start
            .checked_sub(1)
            .and_then(|i| prelude.rows.get(i))
            .map_or_else(|| "at the top".to_string(), |row| prelude.locate(row));
        let roles = roles(&header, format, &columns);
        Ok(Reader {
            format,
            dates,
            roles,
            named: header.named(format),
            columns,
            data_start: header.data_start,
            header_at,
            header_given: prelude.header_given,
            first: true,
            rows_seen: false,
        })
    }

    /// The observations and problems of one window of rows (the first window is the one the
    /// reader was made with).
    pub fn read(&mut self, window: &Table) -> Decoded {
        let skip = if std::mem::take(&mut self.first) {
            self.data_start
        } else {
            0
        };
        let mut out = Decoded {
            observations: Vec::new(),
            problems: window.problems.clone(),
        };
        for row in window.rows.iter().skip(skip) {
            if header::repeats_header(row, &self.named) || skipped(row, self.format) {
                continue;
            }
            self.rows_seen = true;
            match &self.columns {
                Columns::Long(c) => c.read_row(window, row, &self.format.layout, &self.dates, &mut out),
                Columns::Wide(c) => c.read_row(window, row, &self.dates, &mut out),
            }
        }
        out
    }

    /// Where the header was found: `line 2`, `sheet Attendance row 3`, `at the top`.
    pub fn header_at(&self) -> &str {
        &self.header_at
    }

    /// Each header column and what it is for.
    pub fn roles(&self) -> &[ColumnRole] {
        &self.roles
    }

    /// The date patterns (and spreadsheet dates) that have read dates so far.
    pub fn dates_used(&self) -> Vec<String> {
        self.dates.used()
    }

    /// Refuses a file whose header had no rows below it (other than repeats of the header and
    /// rows the format skips): an empty return is a mistake to ask the provider about, not a
    /// day without marks. JSON pages are exempt: an API page with no records is an ordinary
    /// answer.
    pub fn finish(&self) -> Result<(), DecodeProblem> {
        if self.header_given || self.rows_seen {
            Ok(())
        } else {
            Err(DecodeProblem::NoRows {
                header: self.header_at.clone(),
            })
        }
    }
}

/// What each header column is for: the format's keys naming it, a wide layout's session, or
/// nothing.
fn roles(header: &Header, format: &Format, columns: &Columns) -> Vec<ColumnRole> {
    let keyed: Vec<(String, &str)> = format
        .identity
        .keyed_columns()
        .into_iter()
        .map(|(k, name)| (format!("identity.{k}"), name))
        .chain(
            format
                .layout
                .keyed_columns()
                .into_iter()
                .map(|(k, name)| (format!("layout.{k}"), name)),
        )
        .collect();
    header
        .columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let keys: Vec<&str> = keyed
                .iter()
                .filter(|(_, name)| header.find(name) == Some(i))
                .map(|(k, _)| k.as_str())
                .collect();
            let role = if !keys.is_empty() {
                keys.join(", ")
            } else if let Columns::Wide(wide) = columns
                && let Some(role) = wide.session_role(i)
            {
                role
            } else {
                "not used".to_string()
            };
            ColumnRole {
                column: column.label.clone(),
                role,
            }
        })
        .collect()
}

/// The identity columns found in the header.
pub struct IdentityColumns {
    upn: Option<usize>,
    admission_number: Option<usize>,
    provider_ref: Option<usize>,
    name: Option<(usize, NameOrder)>,
    surname: Option<usize>,
    forename: Option<usize>,
    date_of_birth: Option<usize>,
}

impl IdentityColumns {
    /// Finds the format's identity columns in `header`.
    pub fn resolve(header: &Header, identity: &Identity) -> Self {
        let find = |name: &Option<String>| name.as_deref().and_then(|n| header.find(n));
        IdentityColumns {
            upn: find(&identity.upn),
            admission_number: find(&identity.admission_number),
            provider_ref: find(&identity.provider_ref),
            name: find(&identity.name).zip(identity.name_order),
            surname: find(&identity.surname),
            forename: find(&identity.forename),
            date_of_birth: find(&identity.date_of_birth),
        }
    }

    /// The identity fields of `row`, as the provider wrote them.
    pub fn read(&self, row: &Row, dates: &DateReader<'_>) -> IdentityFields {
        let text = |column: Option<usize>| {
            column
                .map(|c| row.cell(c).as_text().trim().to_string())
                .filter(|t| !t.is_empty())
        };
        IdentityFields {
            upn: text(self.upn),
            admission_number: text(self.admission_number),
            provider_ref: text(self.provider_ref),
            full_name: self
                .name
                .and_then(|(c, order)| text(Some(c)).map(|text| FullName { text, order })),
            surname: text(self.surname),
            forename: text(self.forename),
            date_of_birth: self.date_of_birth.and_then(|c| match row.cell(c) {
                Cell::Empty => None,
                cell => Some(
                    dates
                        .cell(cell)
                        .map_or_else(|_| DateOfBirth::Text(cell.as_text().into_owned()), DateOfBirth::Date),
                ),
            }),
        }
    }
}

/// The row-level facts shared by every observation of a row.
pub struct RowFacts<'t> {
    /// The table the row is in (for locators).
    pub table: &'t Table,
    /// The row.
    pub row: &'t Row,
    /// Who the row is about.
    pub identity: IdentityFields,
    /// The row's comment, if the format names a comment column.
    pub comment: Option<String>,
}

impl RowFacts<'_> {
    /// Adds an observation of `mark` for each of `sessions` on `date`.
    pub fn observe(
        &self,
        out: &mut Decoded,
        locator: String,
        date: NaiveDate,
        sessions: &[Session],
        mark: &str,
        reason: Option<String>,
    ) {
        for session in sessions {
            out.observations.push(Observation {
                locator: locator.clone(),
                identity: self.identity.clone(),
                date,
                session: *session,
                mark: mark.trim().to_string(),
                reason: reason.clone(),
                comment: self.comment.clone(),
                raw_row: self.row.raw(),
            });
        }
    }

    /// Records why the row gave no observation (nothing when `messages` is empty).
    pub fn problem(&self, out: &mut Decoded, messages: &[String]) {
        if messages.is_empty() {
            return;
        }
        out.problems.push(RowProblem {
            locator: self.table.locate(self.row),
            identifier: self.identity.identifier(),
            message: messages.join("; "),
            raw_row: self.row.raw(),
        });
    }
}

/// A non-blank cell's text.
pub fn text_of(row: &Row, column: Option<usize>) -> Option<String> {
    let column = column?;
    let text = row.cell(column).as_text().trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// Whether a row starts with one of the format's words for rows to skip (`Total`).
pub fn skipped(row: &Row, format: &Format) -> bool {
    let Some(first) = row.cells.iter().find(|c| !c.is_blank()) else {
        return true;
    };
    let first = normalise_key(&first.as_text());
    format
        .skip_rows_starting_with
        .iter()
        .map(|w| normalise_key(w))
        .any(|w| !w.is_empty() && first.starts_with(&w))
}

/// The date of the whole file: from a labelled cell, else from the file name.
pub fn document_date(
    table: &Table,
    format: &Format,
    file_name: &str,
    dates: &DateReader<'_>,
) -> Result<NaiveDate, DecodeProblem> {
    let Some(spec) = &format.document_date else {
        return Err(DecodeProblem::DocumentDateNotFound {
            detail: "the format has no [document_date]".to_string(),
        });
    };
    date_of_file(spec, table, file_name, dates).map_err(|detail| DecodeProblem::DocumentDateNotFound { detail })
}

/// The date the provider made the return ([`Format::report_date`]), from the file's first rows
/// and its name; `None` when the format names none or it is not there (then the return proves
/// nothing about its age, and the register's rule for stale repeats holds as for any return).
pub fn report_date(table: &Table, format: &Format, file_name: &str) -> Option<NaiveDate> {
    let spec = format.report_date.as_ref()?;
    date_of_file(spec, table, file_name, &DateReader::new(format, table)).ok()
}

/// A date for the whole file: from a labelled cell, else from the file name; or what was tried.
fn date_of_file(
    spec: &crate::pipeline::format::DocumentDate,
    table: &Table,
    file_name: &str,
    dates: &DateReader<'_>,
) -> Result<NaiveDate, String> {
    let mut tried = Vec::new();
    if let Some(label) = &spec.label {
        match labelled_date(table, label, dates) {
            Ok(date) => return Ok(date),
            Err(why) => tried.push(why),
        }
    }
    if let Some(pattern) = &spec.file_name {
        let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
        let found = Template::parse(pattern).ok().and_then(|t| {
            let accept = |slot: Placeholder, text: &str| slot == Placeholder::Date && dates.text(text).is_some();
            t.matches(base, &accept)
        });
        match found.and_then(|c| c.date).and_then(|d| dates.text(&d)) {
            Some(date) => return Ok(date),
            None => tried.push(format!("the file name does not match `{pattern}` with a date in it")),
        }
    }
    Err(tried.join(", and "))
}

fn labelled_date(table: &Table, label: &str, dates: &DateReader<'_>) -> Result<NaiveDate, String> {
    for row in &table.rows {
        for (c, cell) in row.cells.iter().enumerate() {
            let Cell::Text(text) = cell else { continue };
            let Some(rest) = strip_label(text, label) else { continue };
            if !rest.is_empty()
                && let Some(date) = dates.text(rest)
            {
                return Ok(date);
            }
            let Some(next) = row.cells[c + 1..].iter().find(|n| !n.is_blank()) else {
                return Err(format!(
                    "the cell `{text}` ({}) has no date after it",
                    table.locate(row)
                ));
            };
            return dates
                .cell(next)
                .map_err(|why| format!("after `{text}` ({}): {why}", table.locate(row)));
        }
    }
    Err(format!("no cell starts with `{label}`"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::pipeline::{CheckedFormat, DecodeProblem, Format, decode};

    fn format(text: &str) -> CheckedFormat {
        toml::from_str::<Format>(text).unwrap().check().unwrap()
    }

    const CSV: &str = "kind = \"csv\"\nskip_rows_starting_with = [\"Total\"]\n[identity]\nupn = \"UPN\"\n[layout]\nstyle = \"long\"\ndate = \"Date\"\nmark = \"Mark\"\n[marks]\ncodes = \"dfe\"";

    #[test]
    fn blank_files_and_headers_without_rows_are_refused() {
        let f = format(CSV);
        let err = decode(b" \n\r\n,,\n", "a.csv", &f).unwrap_err();
        assert!(matches!(err.problem, DecodeProblem::Blank { .. }), "{err}");
        for text in ["Title\nUPN,Date,Mark\n,,\n", "UPN,Date,Mark\nUPN,Date,Mark\nTotal: 0\n"] {
            let err = decode(text.as_bytes(), "a.csv", &f).unwrap_err();
            let line = if text.starts_with("Title") { "line 2" } else { "line 1" };
            assert_eq!(err.problem, DecodeProblem::NoRows { header: line.into() }, "{text:?}");
        }
        // A row without marks is still a row: nothing to record, but not an empty return.
        let decoded = decode(b"UPN,Date,Mark\nA1,2026-03-02,\n", "a.csv", &f).unwrap();
        assert!(decoded.observations.is_empty() && decoded.problems.is_empty());
    }

    #[test]
    fn an_api_page_without_records_is_not_refused() {
        let f = format(
            "kind = \"json\"\nrecords = \"data\"\n[identity]\nupn = \"upn\"\n[layout]\nstyle = \"long\"\ndate = \"date\"\nmark = \"mark\"\n[marks]\ncodes = \"dfe\"",
        );
        let decoded = decode(br#"{"data": []}"#, "page-9.json", &f).unwrap();
        assert!(decoded.observations.is_empty() && decoded.problems.is_empty());
    }

    #[test]
    fn a_two_row_header_read_as_one_says_so_cleanly() {
        let f = format(
            "kind = \"csv\"\ndate_formats = [\"%d/%m/%Y\"]\n[identity]\nname = \"Pupil\"\nname_order = \"surname_first\"\ndate_of_birth = \"DOB\"\n[layout]\nstyle = \"wide\"\nsession_columns = \"{date} {session}\"\n[marks]\ncodes = \"dfe\"",
        );
        let text = "Pupil,DOB,02/03/2026,,03/03/2026,\n,,AM,PM,AM,PM\n\"Smith, Jo\",01/02/2011,/,/,N,/\n";
        let err = decode(text.as_bytes(), "a.csv", &f).unwrap_err().to_string();
        assert!(
            err.contains("no row has all of `Pupil`, `DOB` and a column like `{date} {session}` (the closest, line 1, has no column matching `{date} {session}`)"),
            "{err}"
        );
        assert!(
            err.contains("line 1 and the row below it together have every column"),
            "{err}"
        );
        assert!(err.contains("set `header_rows = 2`"), "{err}");
        assert!(!err.contains("``"), "{err}");
        // With two header rows the same file reads.
        let two = format(&format!(
            "header_rows = 2\n{}",
            "kind = \"csv\"\ndate_formats = [\"%d/%m/%Y\"]\n[identity]\nname = \"Pupil\"\nname_order = \"surname_first\"\ndate_of_birth = \"DOB\"\n[layout]\nstyle = \"wide\"\nsession_columns = \"{date} {session}\"\n[marks]\ncodes = \"dfe\""
        ));
        assert_eq!(decode(text.as_bytes(), "a.csv", &two).unwrap().observations.len(), 4);
        // A header that is simply wrong keeps the usual advice.
        let err = decode(b"Pupil,Born,02/03/2026 AM\nx,y,/\n", "a.csv", &f)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("lacks `DOB`") && err.contains("check the provider has not renamed a column"),
            "{err}"
        );
    }
}
