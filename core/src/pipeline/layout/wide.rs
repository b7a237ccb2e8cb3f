//! Wide layouts: a row per pupil and a column per session, found by the `session_columns`
//! pattern (`{date} {session}`, `{weekday} {session}`, or two header rows combined).

use chrono::NaiveDate;

use super::dates::{DateReader, weekday, weekday_in_week_of};
use super::header::{self, Header};
use super::{IdentityColumns, RowFacts, document_date, text_of};
use crate::domain::Session;
use crate::pipeline::decode::{Row, Table};
use crate::pipeline::error::DecodeProblem;
use crate::pipeline::format::template::{Placeholder, Template};
use crate::pipeline::format::{Format, Layout};
use crate::pipeline::observation::Decoded;

/// A column of marks for one date (or a header that looks like one but whose date is wrong).
struct SessionColumn {
    index: usize,
    label: String,
    date: Result<NaiveDate, String>,
    sessions: &'static [Session],
}

/// Where a wide layout's parts are, found once from the header, then applied to every row.
pub(super) struct WideColumns {
    identity: IdentityColumns,
    reason: Option<usize>,
    comment: Option<usize>,
    columns: Vec<SessionColumn>,
}

/// The header of a wide layout: the first that has a session column with a date.
pub(super) fn find_header(
    prelude: &Table,
    format: &Format,
    file_name: &str,
    dates: &DateReader<'_>,
) -> Result<(Header, WideColumns), DecodeProblem> {
    let l = &format.layout;
    let pattern = l.session_columns.as_deref().unwrap_or_default();
    let template = Template::parse(pattern).map_err(|e| {
        DecodeProblem::InvalidFormat(vec![crate::pipeline::format::FormatIssue {
            key: "format.layout.session_columns".to_string(),
            message: e.to_string(),
        }])
    })?;
    let week = if template.has(Placeholder::Weekday) && !template.has(Placeholder::Date) {
        Some(document_date(prelude, format, file_name, dates)?)
    } else {
        None
    };
    let classify = |h: &Header| session_columns(h, &template, l, dates, week);
    let header = header::find(prelude, format, &|h| classify(h).iter().any(|c| c.date.is_ok()))?;
    let col = |name: &Option<String>| name.as_deref().and_then(|n| header.find(n));
    let named = header.named(format);
    // A column the format names for something else is never a session column.
    let columns: Vec<SessionColumn> = classify(&header)
        .into_iter()
        .filter(|c| !named.iter().any(|(n, _)| *n == c.index))
        .collect();
    let wide = WideColumns {
        identity: IdentityColumns::resolve(&header, &format.identity),
        reason: col(&l.reason),
        comment: col(&l.comment),
        columns,
    };
    Ok((header, wide))
}

impl WideColumns {
    /// What column `index` holds, when it is a session column (for `format try`).
    pub(super) fn session_role(&self, index: usize) -> Option<String> {
        let column = self.columns.iter().find(|c| c.index == index)?;
        let sessions = match column.sessions {
            [one] => one.to_string(),
            _ => "the whole day".to_string(),
        };
        Some(match &column.date {
            Ok(date) => format!("marks for {} {sessions}", date.format("%a %-d %b %Y")),
            Err(why) => format!("marks whose date cannot be read ({why}): they go to review"),
        })
    }

    /// One data row's observations, or its problems.
    pub(super) fn read_row(&self, table: &Table, row: &Row, dates: &DateReader<'_>, out: &mut Decoded) {
        let marked: Vec<(&SessionColumn, String)> = self
            .columns
            .iter()
            .filter_map(|c| text_of(row, Some(c.index)).map(|mark| (c, mark)))
            .collect();
        if marked.is_empty() {
            return;
        }
        let facts = RowFacts {
            table,
            row,
            identity: self.identity.read(row, dates),
            comment: text_of(row, self.comment),
        };
        let mut errors = Vec::new();
        for (column, mark) in marked {
            match &column.date {
                Ok(date) => {
                    let locator = format!("{}, column `{}`", table.locate(row), column.label);
                    facts.observe(out, locator, *date, column.sessions, &mark, text_of(row, self.reason));
                }
                Err(why) => errors.push(format!("column `{}`: {why}", column.label)),
            }
        }
        facts.problem(out, &errors);
    }
}

/// The header's session columns. A header that fits the pattern except that its `{date}` is
/// not a date (a typo such as `31/02/2026 AM`) is kept with the reason, so its marks go to
/// review rather than vanish.
fn session_columns(
    header: &Header,
    template: &Template,
    layout: &Layout,
    dates: &DateReader<'_>,
    week: Option<NaiveDate>,
) -> Vec<SessionColumn> {
    let strict = |slot: Placeholder, text: &str| match slot {
        Placeholder::Date => dates.text(text).is_some(),
        Placeholder::Weekday => weekday(text).is_some(),
        Placeholder::Session => layout.session_value(text).is_some(),
        Placeholder::Any => true,
    };
    let loose = |slot: Placeholder, text: &str| match slot {
        Placeholder::Date => text.chars().any(|c| c.is_ascii_digit()),
        other => strict(other, text),
    };
    let mut out = Vec::new();
    for (index, column) in header.columns.iter().enumerate() {
        let label = column.label.clone();
        let (captures, date_ok) = match template.matches(&label, &strict) {
            Some(c) => (c, true),
            None => match template.matches(&label, &loose) {
                Some(c) => (c, false),
                None => continue,
            },
        };
        let sessions = captures
            .session
            .as_deref()
            .and_then(|s| layout.session_value(s))
            .map_or(&Session::BOTH[..], |v| v.sessions());
        let date = match (&captures.date, &captures.weekday) {
            (Some(text), _) if date_ok => dates.text(text).ok_or_else(|| format!("`{text}` is not a date")),
            (Some(text), _) => Err(format!("`{text}` in the header is not a date in the format's patterns")),
            (None, Some(day)) => weekday(day)
                .zip(week)
                .and_then(|(day, week)| weekday_in_week_of(week, day))
                .ok_or_else(|| format!("`{day}` has no date")),
            (None, None) => Err("the header has no date".to_string()),
        };
        out.push(SessionColumn {
            index,
            label,
            date,
            sessions,
        });
    }
    out
}
