//! Long layouts: a row per pupil per date, with a session column and a mark column, with a
//! column each for AM and PM, or with one whole-day mark.

use super::dates::DateReader;
use super::header::{self, repeats_header};
use super::{IdentityColumns, RowFacts, document_date, require_rows, skipped, text_of};
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

pub(super) fn extract(
    table: &Table,
    format: &Format,
    file_name: &str,
    dates: &DateReader<'_>,
) -> Result<Decoded, DecodeProblem> {
    let header = header::find(table, format, &|_| true)?;
    let l = &format.layout;
    let col = |name: &Option<String>| name.as_deref().and_then(|n| header.find(n));
    let identity = IdentityColumns::resolve(&header, &format.identity);
    let date_column = col(&l.date);
    let file_date = match date_column {
        Some(_) => None,
        None => Some(document_date(table, format, file_name, dates)?),
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
        let session = col(&l.session).map_or(SessionOf::WholeDay, SessionOf::Column);
        marks.push(MarkColumn {
            session,
            mark,
            reason: shared_reason,
        });
    }
    let comment = col(&l.comment);
    let named: Vec<(usize, &str)> = format
        .named_columns()
        .into_iter()
        .filter_map(|(name, _)| header.find(name).map(|c| (c, name)))
        .collect();
    require_rows(table, &header, &named, format)?;

    let mut out = Decoded::default();
    for row in table.rows.iter().skip(header.data_start) {
        if repeats_header(row, &named) || skipped(row, format) {
            continue;
        }
        let present: Vec<(MarkColumn, String)> = marks
            .iter()
            .filter_map(|m| text_of(row, Some(m.mark)).map(|text| (*m, text)))
            .collect();
        if present.is_empty() {
            // Blank means no mark: footers, totals without marks and sessions not expected.
            continue;
        }
        let facts = RowFacts {
            table,
            row,
            identity: identity.read(row, dates),
            comment: text_of(row, comment),
        };
        let date = match (date_column, file_date) {
            (Some(c), _) => dates.cell(row.cell(c)),
            (None, Some(d)) => Ok(d),
            (None, None) => Err("the row has no date".to_string()),
        };
        let mut errors = Vec::new();
        if let Err(why) = &date {
            errors.push(why.clone());
        }
        for (column, mark) in present {
            match (sessions(row, column.session, l), date.as_ref()) {
                (Ok(sessions), Ok(date)) => {
                    let reason = text_of(row, column.reason);
                    facts.observe(&mut out, table.locate(row), *date, sessions, &mark, reason);
                }
                (Err(why), _) => errors.push(why),
                (Ok(_), Err(_)) => {}
            }
        }
        facts.problem(&mut out, &errors);
    }
    Ok(out)
}

fn sessions(row: &Row, of: SessionOf, layout: &Layout) -> Result<&'static [Session], String> {
    match of {
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
