//! Visits in a CSV file (a form's export): a header row naming the fields, a visit per row.
//!
//! Headers are the field names of [`super::FIELDS`], matched ignoring case, with spaces or `-`
//! for `_` (`Occurred At` is `occurred_at`). An unknown header is refused, so a misnamed column
//! never silently drops a note.

use super::{FIELDS, Problem, VisitInput};

/// One visit row, with its line number (the header is line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvVisit {
    /// The line in the file.
    pub line: u64,
    /// The row's fields.
    pub input: VisitInput,
}

/// Reads every row; a file whose header is wrong is refused with every header problem.
pub fn parse(bytes: &[u8]) -> Result<Vec<CsvVisit>, Vec<Problem>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| vec![Problem::new("header", format!("cannot read the header row: {e}"))])?
        .clone();
    let mut columns: Vec<Option<&'static str>> = Vec::new();
    let mut problems = Vec::new();
    for h in &headers {
        let key = h.trim().to_lowercase().replace([' ', '-'], "_");
        match FIELDS.iter().find(|f| **f == key) {
            Some(f) if columns.contains(&Some(*f)) => {
                problems.push(Problem::new("header", format!("column `{h}` appears twice")));
                columns.push(None);
            }
            Some(f) => columns.push(Some(*f)),
            None if key.is_empty() => columns.push(None),
            None => {
                problems.push(Problem::new(
                    "header",
                    format!("unknown column `{h}`: the columns are {}", FIELDS.join(", ")),
                ));
                columns.push(None);
            }
        }
    }
    for required in ["pupil", "occurred_at", "staff", "type"] {
        if !columns.contains(&Some(required)) {
            problems.push(Problem::new("header", format!("no `{required}` column")));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let record = record.map_err(|e| {
            vec![Problem::new(
                format!("line {line}"),
                format!("cannot read the row: {e}"),
            )]
        })?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        let mut input = VisitInput::default();
        for (value, column) in record.iter().zip(&columns) {
            let slot = match column {
                Some("pupil") => &mut input.pupil,
                Some("occurred_at") => &mut input.occurred_at,
                Some("staff") => &mut input.staff,
                Some("type") => &mut input.kind,
                Some("pupil_views") => &mut input.notes.pupil_views,
                Some("progress") => &mut input.notes.progress,
                Some("behaviour") => &mut input.notes.behaviour,
                Some("welfare") => &mut input.notes.welfare,
                Some("actions") => &mut input.notes.actions,
                Some("follow_up") => &mut input.follow_up,
                _ => continue,
            };
            *slot = Some(value.to_string());
        }
        rows.push(CsvVisit { line, input });
    }
    Ok(rows)
}
