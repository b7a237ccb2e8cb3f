//! Long layouts: a row per pupil per date, with a session column and a mark column, with a
//! column each for AM and PM, or with one whole-day mark; the session may also be told by a
//! start time (a time column beside the date, or a date-and-time column).

use chrono::NaiveDate;

use super::clock::StartTime;
use super::dates::DateReader;
use super::header::Header;
use super::{IdentityColumns, RowFacts, document_date, text_of};
use crate::domain::Session;
use crate::pipeline::decode::{Cell, Row, Table};
use crate::pipeline::error::DecodeProblem;
use crate::pipeline::format::{Format, Layout};
use crate::pipeline::observation::Decoded;

/// Which session a mark column is for.
#[derive(Debug, Clone, Copy)]
enum SessionOf {
    /// Always this session (an `AM` or `PM` column).
    Fixed(Session),
    /// Whatever the row's session column says.
    Column(usize),
    /// The start time in the row's time column.
    Time(usize),
    /// The start time in the row's date-and-time column.
    DateTime,
    /// Both sessions: a whole-day mark.
    WholeDay,
}

/// A column holding marks, with the session it is for and its reason column.
#[derive(Debug, Clone, Copy)]
struct MarkColumn {
    session: SessionOf,
    mark: usize,
    reason: Option<usize>,
}

/// Where a long layout's parts are, found once from the header (and, without a date column,
/// the file's date), then applied to every row.
pub(super) struct LongColumns {
    identity: IdentityColumns,
    date_column: Option<usize>,
    /// The column holding the date and the start time together, when the layout names one.
    datetime_column: Option<usize>,
    file_date: Option<NaiveDate>,
    marks: Vec<MarkColumn>,
    comment: Option<usize>,
}

impl LongColumns {
    pub(super) fn new(
        header: &Header,
        prelude: &Table,
        format: &Format,
        file_name: &str,
        dates: &DateReader<'_>,
    ) -> Result<Self, DecodeProblem> {
        let l = &format.layout;
        let col = |name: &Option<String>| name.as_deref().and_then(|n| header.find(n));
        let date_column = col(&l.date);
        let datetime_column = col(&l.datetime);
        let file_date = match date_column.or(datetime_column) {
            Some(_) => None,
            None => Some(document_date(prelude, format, file_name, dates)?),
        };
        let shared_reason = col(&l.reason);
        let mut marks = Vec::new();
        if l.am.is_some() || l.pm.is_some() {
            for (session, mark, reason) in [(Session::Am, &l.am, &l.am_reason), (Session::Pm, &l.pm, &l.pm_reason)] {
                if let Some(mark) = col(mark) {
                    let reason = col(reason).or(shared_reason);
                    marks.push(MarkColumn {
                        session: SessionOf::Fixed(session),
                        mark,
                        reason,
                    });
                }
            }
        } else if let Some(mark) = col(&l.mark) {
            let session = match (col(&l.session), col(&l.time), datetime_column) {
                (Some(c), _, _) => SessionOf::Column(c),
                (None, Some(c), _) => SessionOf::Time(c),
                (None, None, Some(_)) => SessionOf::DateTime,
                (None, None, None) => SessionOf::WholeDay,
            };
            marks.push(MarkColumn {
                session,
                mark,
                reason: shared_reason,
            });
        }
        Ok(LongColumns {
            identity: IdentityColumns::resolve(header, &format.identity),
            date_column,
            datetime_column,
            file_date,
            marks,
            comment: col(&l.comment),
        })
    }

    /// One data row's observations, or its problem.
    pub(super) fn read_row(
        &self,
        table: &Table,
        row: &Row,
        layout: &Layout,
        dates: &DateReader<'_>,
        out: &mut Decoded,
    ) {
        let present: Vec<(MarkColumn, String)> = self
            .marks
            .iter()
            .filter_map(|m| text_of(row, Some(m.mark)).map(|text| (*m, text)))
            .collect();
        if present.is_empty() {
            // Blank means no mark: footers, totals without marks and sessions not expected.
            return;
        }
        let facts = RowFacts {
            table,
            row,
            identity: self.identity.read(row, dates),
            comment: text_of(row, self.comment),
        };
        // A date-and-time column is read once for both its parts; when it cannot be read, that
        // is said once, as the date's problem.
        let stamp = self.datetime_column.map(|c| dates.date_time(row.cell(c)));
        let date = match (self.date_column, &stamp, self.file_date) {
            (Some(c), _, _) => dates.cell(row.cell(c)),
            (None, Some(stamp), _) => stamp.as_ref().map(|(d, _)| *d).map_err(Clone::clone),
            (None, None, Some(d)) => Ok(d),
            (None, None, None) => Err("the row has no date".to_string()),
        };
        let mut errors = Vec::new();
        if let Err(why) = &date {
            errors.push(why.clone());
        }
        let start = stamp.and_then(Result::ok).map(|(_, time)| time);
        for (column, mark) in present {
            match (
                sessions(row, column.session, layout, dates, start.as_ref()),
                date.as_ref(),
            ) {
                (Ok(sessions), Ok(date)) => {
                    let reason = text_of(row, column.reason);
                    facts.observe(out, table.locate(row), *date, sessions, &mark, reason);
                }
                (Err(why), _) if !why.is_empty() => errors.push(why),
                (Err(_), _) => {}
                (Ok(_), Err(_)) => {}
            }
        }
        facts.problem(out, &errors);
    }
}
fn sessions(
    row: &Row,
    of: SessionOf,
    layout: &Layout,
    dates: &DateReader<'_>,
    start: Option<&StartTime>,
) -> Result<&'static [Session], String> {
    let by_time = |time: &StartTime| {
        layout.session_at(time.seconds, &time.shown).map(|s| match s {
            Session::Am => &[Session::Am][..],
            Session::Pm => &[Session::Pm][..],
        })
    };
    match of {
        SessionOf::Time(c) => dates.time(row.cell(c)).and_then(|t| by_time(&t)),
        // Without a start time the date-and-time cell could not be read: said as the date's
        // problem already.
        SessionOf::DateTime => start.map_or(Err(String::new()), by_time),
        SessionOf::Fixed(Session::Am) => Ok(&[Session::Am]),
        SessionOf::Fixed(Session::Pm) => Ok(&[Session::Pm]),
        SessionOf::WholeDay => Ok(&Session::BOTH),
        SessionOf::Column(c) => match row.cell(c) {
            Cell::Empty => Err("the session is blank".to_string()),
            cell => {
                let text = cell.as_text();
                layout.session_value(&text).map(|v| v.sessions()).ok_or_else(|| {
                    format!(
                        "`{text}` is not a session: expected one of {}",
                        layout.session_words().join(", ")
                    )
                })
            }
        },
    }
}
