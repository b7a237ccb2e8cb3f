//! Checks a whole format and reports every problem at once.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::check_date_pattern;
use super::marks::{MarkRule, normalise_key};
use super::template::{Placeholder, Template};
use super::{FileKind, Format, LayoutStyle, TextEncoding, TimeRange};

/// One problem in a format: the key it concerns (`format.layout.session`) and what is wrong,
/// in words that say what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct FormatIssue {
    /// The dotted key, starting at `format`.
    pub key: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl std::fmt::Display for FormatIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`: {}", self.key, self.message)
    }
}

#[derive(Default)]
pub(super) struct Issues(Vec<FormatIssue>);

impl Issues {
    pub(super) fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(FormatIssue {
            key: format!("format.{}", key.into()),
            message: message.into(),
        });
    }
}

pub(super) fn validate(f: &Format) -> Result<(), Vec<FormatIssue>> {
    let mut issues = Issues::default();
    file_kind(f, &mut issues);
    dates(f, &mut issues);
    columns(f, &mut issues);
    identity(f, &mut issues);
    layout(f, &mut issues);
    session_times(f, &mut issues);
    roles(f, &mut issues);
    super::items::validate(f, &mut issues);
    document_date(f, &mut issues);
    marks(f, &mut issues);
    limits(f, &mut issues);
    if issues.0.is_empty() { Ok(()) } else { Err(issues.0) }
}

fn file_kind(f: &Format, issues: &mut Issues) {
    let only = |kind: FileKind| format!("only used when kind = \"{kind}\"; remove it");
    if let Some(d) = &f.delimiter {
        if f.kind != FileKind::Csv {
            issues.add("delimiter", only(FileKind::Csv));
        } else if f.delimiter_byte().is_none() {
            issues.add(
                "delimiter",
                format!("`{d}` is not a delimiter: write one character such as \",\", \";\", \"|\" or \"\\t\" (tab)"),
            );
        }
    }
    if let Some(sheet) = &f.sheet {
        if f.kind != FileKind::Xlsx {
            issues.add("sheet", only(FileKind::Xlsx));
        } else if sheet.trim().is_empty() {
            issues.add(
                "sheet",
                "is empty: name the sheet, or remove the key to read the first sheet",
            );
        }
    }
    if let Some(records) = &f.records {
        if f.kind != FileKind::Json {
            issues.add("records", only(FileKind::Json));
        } else if !records.trim().is_empty() && records.split('.').any(|s| s.trim().is_empty()) {
            issues.add(
                "records",
                format!("`{records}` is not a path: write keys separated by dots, such as `data` or `result.items`"),
            );
        }
    }
    if f.kind == FileKind::Xlsx && f.encoding != TextEncoding::Auto {
        issues.add("encoding", "a workbook carries its own encoding; remove this key");
    }
    if f.header_rows > 2 {
        issues.add("header_rows", "must be 0, 1 or 2");
    }
    if f.kind == FileKind::Json && f.header_rows != 1 {
        issues.add(
            "header_rows",
            "a JSON file has no header rows: fields are named by their paths; remove this key",
        );
    }
    for (i, word) in f.skip_rows_starting_with.iter().enumerate() {
        if word.trim().is_empty() {
            issues.add(
                format!("skip_rows_starting_with[{i}]"),
                "is empty: it would skip every row",
            );
        }
    }
}

fn dates(f: &Format, issues: &mut Issues) {
    for (i, pattern) in f.date_formats.iter().enumerate() {
        if let Err(message) = check_date_pattern(pattern) {
            issues.add(format!("date_formats[{i}]"), message.to_string());
        }
    }
}

fn columns(f: &Format, issues: &mut Issues) {
    let named = f
        .identity
        .keyed_columns()
        .into_iter()
        .map(|(k, c)| (format!("identity.{k}"), c))
        .chain(
            f.layout
                .keyed_columns()
                .into_iter()
                .map(|(k, c)| (format!("layout.{k}"), c)),
        );
    for (key, column) in named {
        if column.trim().is_empty() {
            issues.add(key, "is empty: write the column's header text, or remove the key");
        } else if f.header_rows == 0 && position_column(column).is_none() {
            issues.add(
                key,
                format!("with header_rows = 0 columns are named by position (`#1` is the first); `{column}` is not"),
            );
        } else if f.kind == FileKind::Json && column.split('.').any(|s| s.trim().is_empty()) {
            issues.add(
                key,
                format!("`{column}` is not a path: write keys separated by dots, such as `student.ref`"),
            );
        }
    }
}

/// A column named by position, `#1` for the first.
pub fn position_column(name: &str) -> Option<usize> {
    let n: usize = name.trim().strip_prefix('#')?.trim().parse().ok()?;
    n.checked_sub(1)
}

fn identity(f: &Format, issues: &mut Issues) {
    let id = &f.identity;
    if id.columns().next().is_none() {
        issues.add("identity", "names no column: name at least one of upn, admission_number, provider_ref, name (with date_of_birth), or surname and forename");
    }
    match (&id.name, &id.name_order) {
        (Some(_), None) => issues.add("identity.name_order", "is needed with `name`: write \"surname_first\" (`Surname, Forename`) or \"forename_first\" (`Forename Surname`)"),
        (None, Some(_)) => issues.add("identity.name_order", "is only used with `name`; remove it"),
        _ => {}
    }
}

fn layout(f: &Format, issues: &mut Issues) {
    let l = &f.layout;
    match l.style {
        LayoutStyle::Long => long_layout(f, issues),
        LayoutStyle::Wide => {
            if f.header_rows == 0 {
                issues.add(
                    "header_rows",
                    "a wide layout finds its session columns by their headers: use 1 or 2",
                );
            }
            if l.session_times.is_some() {
                issues.add("layout.session_times", "only used with style = \"long\"; remove it");
            }
            for (key, _) in l.keyed_columns() {
                if !matches!(key, "reason" | "comment") {
                    issues.add(
                        format!("layout.{key}"),
                        "only used with style = \"long\"; remove it (wide columns are found by `session_columns`)",
                    );
                }
            }
            match &l.session_columns {
                None => issues.add("layout.session_columns", "is needed with style = \"wide\": the pattern of a session column's header, such as \"{date} {session}\" or \"{weekday} {session}\""),
                Some(text) => match Template::parse(text) {
                    Err(e) => issues.add("layout.session_columns", e.to_string()),
                    Ok(t) => {
                        if !t.has(Placeholder::Date) && !t.has(Placeholder::Weekday) {
                            issues.add("layout.session_columns", "needs `{date}` or `{weekday}` so each column has a date");
                        } else if !t.has(Placeholder::Date) && f.document_date.is_none() {
                            issues.add("document_date", "is needed with `{weekday}` headers: say where the week's date is (a `label` cell or the `file_name`)");
                        }
                        if t.placeholder_count() == t.part_count() && t.count(Placeholder::Any) > 0 {
                            issues.add("layout.session_columns", "needs some fixed text besides `{any}`, or it would match every column");
                        }
                    }
                },
            }
        }
    }
    duplicates(l.session_values.keys(), "layout.session_values", issues);
    for word in l.session_values.keys() {
        if normalise_key(word).is_empty() {
            issues.add("layout.session_values", "has an empty word");
        }
    }
}

/// A long layout's keys: where the date, the session and the mark come from, each one way.
fn long_layout(f: &Format, issues: &mut Issues) {
    let l = &f.layout;
    let has = |o: &Option<String>| o.is_some();
    if has(&l.session_columns) {
        issues.add("layout.session_columns", "only used with style = \"wide\"; remove it");
    }
    if !has(&l.date) && !has(&l.datetime) && f.document_date.is_none() {
        issues.add(
            "layout.date",
            "is needed: name the date column, or give a [document_date] when the whole file is for one date",
        );
    }
    let split = has(&l.am) || has(&l.pm);
    if split && (has(&l.session) || has(&l.mark)) {
        issues.add(
            "layout",
            "use either `session` and `mark` (a row per session) or `am` and `pm` (a column each), not both",
        );
    }
    for (key, given) in [("session", &l.session), ("time", &l.time), ("datetime", &l.datetime)] {
        if has(given) && !has(&l.mark) {
            issues.add(
                "layout.mark",
                format!("is needed with `{key}`: name the column holding the mark"),
            );
        }
    }
    if split && (has(&l.time) || has(&l.datetime)) {
        issues.add(
            "layout",
            "`am` and `pm` columns say their own session: a `time` or `datetime` column is used with `mark` instead",
        );
    }
    if has(&l.datetime) {
        for (key, given) in [("date", &l.date), ("session", &l.session), ("time", &l.time)] {
            if has(given) {
                issues.add(
                    format!("layout.{key}"),
                    "`datetime` already gives the date and the session (by its time of day); remove this key",
                );
            }
        }
    }
    if has(&l.time) && has(&l.session) {
        issues.add(
            "layout.time",
            "use either `session` (a column of session words) or `time` (a column of start times), not both",
        );
    }
    if !split && !has(&l.mark) {
        issues.add(
            "layout",
            "names no mark column: give `session` and `mark`, or `am` and `pm`, or `mark` alone for whole-day marks",
        );
    }
    if has(&l.am_reason) && !has(&l.am) {
        issues.add(
            "layout.am_reason",
            "only used with `am`; use `reason` for a shared reason column",
        );
    }
    if has(&l.pm_reason) && !has(&l.pm) {
        issues.add(
            "layout.pm_reason",
            "only used with `pm`; use `reason` for a shared reason column",
        );
    }
}

/// The ranges of times that mean AM and PM: each readable, and not overlapping.
fn session_times(f: &Format, issues: &mut Issues) {
    let l = &f.layout;
    let Some(times) = &l.session_times else { return };
    if f.layout.style == LayoutStyle::Long && l.time.is_none() && l.datetime.is_none() {
        issues.add(
            "layout.session_times",
            "only used with `time` or `datetime` (a session told by its start time); remove it",
        );
    }
    for (key, given) in [("am", &times.am), ("pm", &times.pm)] {
        if let Some(Err(why)) = given.as_deref().map(TimeRange::parse) {
            issues.add(format!("layout.session_times.{key}"), why.to_string());
        }
    }
    if let Ok([(_, am), (_, pm)]) = times.ranges()
        && am.overlaps(&pm)
    {
        issues.add(
            "layout.session_times",
            format!(
                "the morning ({am}) and the afternoon ({pm}) overlap, so a time in both would be a guess: \
                 make them meet, such as am = \"08:00-12:30\" and pm = \"12:30-17:00\" (a range omitted is the default)"
            ),
        );
    }
}

/// A column plays one role: the same column named as both the date and the session (or the
/// mark, or an identifier) would read every row wrongly. A reason column may also be the
/// comment. The one column holding both the date and the session is `datetime`.
fn roles(f: &Format, issues: &mut Issues) {
    let named: Vec<(String, &str)> = f
        .identity
        .keyed_columns()
        .into_iter()
        .map(|(k, c)| (format!("identity.{k}"), c))
        .chain(
            f.layout
                .keyed_columns()
                .into_iter()
                .map(|(k, c)| (format!("layout.{k}"), c)),
        )
        .collect();
    let shareable = |a: &str, b: &str| {
        let reasonish = |k: &str| k.ends_with("reason") || k == "layout.comment";
        (reasonish(a) && reasonish(b)) || (a.starts_with("identity.") && b.starts_with("identity."))
    };
    for (i, (key, column)) in named.iter().enumerate() {
        let same = normalise_key(column);
        if same.is_empty() {
            continue;
        }
        if let Some((first, _)) = named[..i]
            .iter()
            .find(|(k, c)| normalise_key(c) == same && !shareable(k, key))
        {
            let pair = [first.as_str(), key.as_str()];
            let hint = if pair.iter().any(|k| k.ends_with(".date"))
                && pair.iter().any(|k| k.ends_with(".session") || k.ends_with(".time"))
            {
                ": for a column holding a date and a start time (`2026-04-20T09:00`), name it once as `layout.datetime`"
            } else {
                ": name each column once, for the role it plays"
            };
            issues.add(
                key.clone(),
                format!("names `{column}`, which `{first}` names already; a column plays one role{hint}"),
            );
        }
    }
}

fn document_date(f: &Format, issues: &mut Issues) {
    for (key, spec) in [("document_date", &f.document_date), ("report_date", &f.report_date)] {
        if let Some(d) = spec {
            date_of_file(key, d, issues);
        }
    }
}

/// A [`DocumentDate`]-shaped key (`document_date`, `report_date`): somewhere to look, and a
/// file-name pattern with one `{date}`.
fn date_of_file(key: &str, d: &crate::pipeline::format::DocumentDate, issues: &mut Issues) {
    if d.label.is_none() && d.file_name.is_none() {
        issues.add(
            key,
            "says nowhere to look: give a `label` (a title cell such as \"Week commencing:\") or a `file_name` pattern",
        );
    }
    if let Some(label) = &d.label
        && normalise_key(label).trim_end_matches(':').is_empty()
    {
        issues.add(
            format!("{key}.label"),
            "is empty: write the label's text, such as \"Week commencing:\"",
        );
    }
    if let Some(pattern) = &d.file_name {
        match Template::parse(pattern) {
            Err(e) => issues.add(format!("{key}.file_name"), e.to_string()),
            Ok(t) => {
                if t.count(Placeholder::Date) != 1 {
                    issues.add(
                        format!("{key}.file_name"),
                        "needs exactly one `{date}`, such as \"{any}w-c {date}.csv\"",
                    );
                }
                if t.has(Placeholder::Session) || t.has(Placeholder::Weekday) {
                    issues.add(format!("{key}.file_name"), "may only use `{date}` and `{any}`");
                }
            }
        }
    }
}

fn marks(f: &Format, issues: &mut Issues) {
    let m = &f.marks;
    let mut defers = false;
    for (mark, value) in &m.map {
        let key = format!("marks.map.\"{mark}\"");
        if normalise_key(mark).is_empty() {
            issues.add(&key, "a blank cell is never a mark; remove this entry");
        }
        match MarkRule::parse(value, true) {
            Ok(MarkRule::Reason) => defers = true,
            Ok(_) => {}
            Err(e) => issues.add(key, e.to_string()),
        }
    }
    duplicates(m.map.keys(), "marks.map", issues);
    if defers && !f.layout.has_reason_column() {
        issues.add("marks.map", "a mark defers to the reason, but the layout names no reason column: add `reason` (or `am_reason`/`pm_reason`) to [layout]");
    }
    reason_table(&m.reasons, "marks.reasons", issues);
    for (mark, table) in &m.reasons_for {
        let key = format!("marks.reasons_for.\"{mark}\"");
        if !matches!(m.rule(mark), Some(MarkRule::Reason)) {
            issues.add(
                &key,
                format!(
                    "`{mark}` does not defer to the reason in [marks.map]: map it to \"reason\", or remove this table"
                ),
            );
        }
        reason_table(table, &key, issues);
    }
    duplicates(m.reasons_for.keys(), "marks.reasons_for", issues);
    if m.map.is_empty() && m.codes.is_none() {
        issues.add("marks", "has no vocabulary: list the provider's marks in [marks.map], or write codes = \"dfe\" if it writes statutory codes");
    }
}

fn reason_table(table: &BTreeMap<String, String>, key: &str, issues: &mut Issues) {
    for (reason, value) in table {
        if let Err(e) = MarkRule::parse(value, false) {
            issues.add(format!("{key}.\"{reason}\""), e.to_string());
        }
    }
    duplicates(table.keys(), key, issues);
}

/// Keys that differ only in case or spaces would be ambiguous once matched.
fn duplicates<'a>(keys: impl Iterator<Item = &'a String>, key: &str, issues: &mut Issues) {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for k in keys {
        if let Some(first) = seen.insert(normalise_key(k), k) {
            issues.add(
                key,
                format!("`{first}` and `{k}` are the same once case and spaces are ignored; keep one"),
            );
        }
    }
}

fn limits(f: &Format, issues: &mut Issues) {
    let l = &f.limits;
    let checks = [
        ("limits.max_file_bytes", l.max_file_bytes == 0),
        ("limits.max_rows", l.max_rows == 0),
        ("limits.max_cells", l.max_cells == 0),
        ("limits.max_xlsx_uncompressed_bytes", l.max_xlsx_uncompressed_bytes == 0),
        ("limits.max_text_bytes", l.max_text_bytes == 0),
        ("limits.max_field_bytes", l.max_field_bytes == 0),
        ("limits.max_cells_per_row", l.max_cells_per_row == 0),
    ];
    for (key, zero) in checks {
        if zero {
            issues.add(key, "must be more than 0");
        }
    }
}
