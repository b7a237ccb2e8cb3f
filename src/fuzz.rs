//! Entry points for fuzzing: one function per target in `fuzz/`, each taking arbitrary bytes
//! through pure code as apsync reads them (no network, no disk). The fuzz targets call these, and
//! the test at the end replays every file of `fuzz/corpus/<target>/` through the same function,
//! so the corpus is checked in every ordinary test run. Not an API: hidden from the docs.
//!
//! Each function must return without panicking, whatever the bytes. The assertions in them are
//! properties the daemon relies on (a file read a window at a time gives what reading it whole
//! gives; a refused visit names a field), so a failing one is a bug like a panic.

use std::sync::LazyLock;

use apsync_core::testing::Trickle;
use chrono::{DateTime, TimeZone, Utc};

use crate::config::parse_format_file;
use crate::roster::{RosterColumns, parse_placements, parse_pupils};
use crate::visits::VisitNotes;
use crate::visits::{PayloadTemplate, VisitDocument, check};
use apsync_core::pipeline::decode::{Origin, ReadError, Row, Table, Windows, survey, windows};
use apsync_core::pipeline::format::FileKind;
use apsync_core::pipeline::layout::Reader;
use apsync_core::pipeline::{CheckedFormat, DecodeProblem, Decoded, Format, decode_table};

/// A fuzz target's function.
pub type Target = fn(&[u8]);

/// Every fuzz target by name (its `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("decode_csv", decode_csv),
    ("decode_xlsx", decode_xlsx),
    ("decode_json", decode_json),
    ("imap_message", imap_message),
    ("imap_fetch", imap_fetch),
    ("format_toml", format_toml),
    ("visit_json", visit_json),
    ("roster", roster),
];

/// A provider's format with the name of one of its real files (formats may take the file's
/// date from its name).
struct Provider {
    format: CheckedFormat,
    file_name: &'static str,
}

/// The example and fixture formats, read as `apsync` reads a `format_file`.
fn providers(files: &[(&str, &'static str)]) -> Vec<Provider> {
    files
        .iter()
        .filter_map(|(text, file_name)| {
            let format = parse_format_file(text).format.ok()?.check().ok()?;
            Some(Provider { format, file_name })
        })
        .collect()
}

const CSV_FORMATS: &[(&str, &str)] = &[
    (
        include_str!("../config/formats/bright-futures.toml"),
        "BF_attendance_2026-03-02.csv",
    ),
    (
        include_str!("../config/formats/skills-hub.toml"),
        "Skills Hub Register w-c 02-03-2026.csv",
    ),
    (
        include_str!("../config/formats/boxing-academy.toml"),
        "attendance-week-10.csv",
    ),
    (
        include_str!("../fixtures/formats/oak-farm.toml"),
        "OakFarm_Attendance_2026-06-08.csv",
    ),
    (
        include_str!("../fixtures/formats/city-tutors.toml"),
        "CityTutors register 08-06-2026.csv",
    ),
    (
        include_str!("../fixtures/formats/ring-fit-boxing.toml"),
        "ringfit_week_24.txt",
    ),
    (
        include_str!("../fixtures/online/formats/bright-sparks.toml"),
        "BrightSparks_lessons_2026-06-08.csv",
    ),
];

const XLSX_FORMATS: &[(&str, &str)] = &[
    (
        include_str!("../config/formats/riverside-farm.toml"),
        "riverside_2026-03-02.xlsx",
    ),
    (
        include_str!("../fixtures/formats/pathways-college.toml"),
        "pathways-2026-06-08.xlsx",
    ),
];

const JSON_FORMATS: &[(&str, &str)] = &[
    (include_str!("../config/formats/northstar.toml"), "page-1.json"),
    (
        include_str!("../fixtures/formats/bridge-tuition.toml"),
        "bridge-page-1.json",
    ),
    (
        include_str!("../fixtures/online/formats/northway-mentoring.toml"),
        "northway-feed-1.json",
    ),
];

static CSV: LazyLock<Vec<Provider>> = LazyLock::new(|| providers(CSV_FORMATS));
static XLSX: LazyLock<Vec<Provider>> = LazyLock::new(|| providers(XLSX_FORMATS));
static JSON: LazyLock<Vec<Provider>> = LazyLock::new(|| providers(JSON_FORMATS));

/// Arbitrary bytes as a return of each CSV format, read whole ([`decode`]) and read as an
/// import reads it: surveyed, then a window of rows at a time from a reader that hands over a
/// few bytes per call. Both reads must give the same rows, and the same observations or the same
/// refusal.
///
/// Only the formats whose columns the bytes name are used (or one, chosen by the length, when
/// they name none): reading a file costs the same whatever its format makes of it, so this keeps
/// the fuzzer fast without losing what each format reaches.
pub fn decode_csv(data: &[u8]) {
    // The window sizes and read size vary with the input, so the fuzzer explores them too.
    let shape = Shape::of(data);
    let lower = data.to_ascii_lowercase();
    let mut named: Vec<&Provider> = CSV.iter().filter(|p| names_its_columns(&lower, &p.format)).collect();
    if named.is_empty() {
        named.extend(CSV.get(data.len() % CSV.len().max(1)));
    }
    for p in named {
        compare_streamed(data, p.file_name, &p.format, shape);
    }
}

/// Whether text (in ASCII lower case) holds the name of every column a format requires.
fn names_its_columns(lower: &[u8], format: &Format) -> bool {
    format
        .named_columns()
        .iter()
        .filter(|(_, required)| *required)
        .all(|(name, _)| memchr::memmem::find(lower, name.to_ascii_lowercase().as_bytes()).is_some())
}

/// Arbitrary bytes as a workbook of each XLSX format (zip checks, the workbook parser, two-row
/// headers), read whole and as an import reads it.
pub fn decode_xlsx(data: &[u8]) {
    for p in XLSX.iter() {
        compare_streamed(data, p.file_name, &p.format, Shape::of(data));
    }
}

/// Arbitrary bytes as an API page of each JSON format (records paths, nested fields).
pub fn decode_json(data: &[u8]) {
    for p in JSON.iter() {
        compare_streamed(data, p.file_name, &p.format, Shape::of(data));
    }
}

/// Arbitrary bytes as an email the IMAP connector reads (see
/// [`apsync_connector_imap::fuzz_entry::message`]).
pub fn imap_message(data: &[u8]) {
    apsync_connector_imap::fuzz_entry::message(data);
}

/// Arbitrary bytes as an IMAP `FETCH` response with a `BODYSTRUCTURE` (see
/// [`apsync_connector_imap::fuzz_entry::fetch_response`]).
pub fn imap_fetch(data: &[u8]) {
    apsync_connector_imap::fuzz_entry::fetch_response(data);
}

/// A real return of each kind, read through a fuzzed format.
const SAMPLE_CSV: &[u8] = include_bytes!("../samples/returns/skills-hub/Skills Hub Register w-c 02-03-2026.csv");
const SAMPLE_XLSX: &[u8] = include_bytes!("../samples/returns/riverside-farm/riverside_2026-03-02.xlsx");
const SAMPLE_JSON: &[u8] = include_bytes!("../samples/returns/northstar/page-1.json");

/// Arbitrary text as a provider's `format_file`: parsed as `apsync` parses one, validated, and
/// when valid used to read a real return of its kind (whole, and a window at a time). A format
/// that does not validate is refused by [`decode`] with its issues.
pub fn format_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(format) = parse_format_file(text).format else {
        return;
    };
    let (sample, name) = match format.kind {
        FileKind::Csv => (SAMPLE_CSV, "Skills Hub Register w-c 02-03-2026.csv"),
        FileKind::Xlsx => (SAMPLE_XLSX, "riverside_2026-03-02.xlsx"),
        FileKind::Json => (SAMPLE_JSON, "page-1.json"),
    };
    // An invalid format never reaches decoding: only a `CheckedFormat` can.
    match format.check() {
        Ok(checked) => compare_streamed(sample, name, &checked, Shape::of(data)),
        Err(issues) => {
            assert!(!issues.is_empty(), "a format refused without an issue");
        }
    }
}

/// Arbitrary bytes as the body of `POST /api/v1/visits`: parsed, checked against the school's
/// time zone and clock, and when valid rendered as the payload an endpoint receives. A refusal
/// names at least one field; an accepted visit survives its trip through the outbox (JSON).
pub fn visit_json(data: &[u8]) {
    let Ok(crate::http::BodyVisit { input, .. }) = crate::http::visit_from_json(data) else {
        return;
    };
    let tz = chrono_tz::Europe::London;
    let now: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 3, 2, 17, 0, 0).single().unwrap_or_default();
    let visit = match check(&input, tz, now) {
        Ok(visit) => visit,
        Err(problems) => {
            assert!(!problems.is_empty(), "a visit refused without a problem");
            return;
        }
    };
    let document = VisitDocument {
        external_id: "visit-00000000000000000000000000000000".into(),
        upn: "A123456789012".into(),
        admission_number: visit.pupil.clone(),
        provider: Some("bright-futures".into()),
        occurred_at: visit.occurred_at,
        staff: visit.staff,
        kind: visit.kind,
        notes: VisitNotes {
            pupil_views: visit.notes.pupil_views,
            progress: visit.notes.progress,
            behaviour: visit.notes.behaviour,
            welfare: visit.notes.welfare,
            actions: visit.notes.actions,
        },
        follow_up: visit.follow_up,
    };
    let payload = PayloadTemplate::default().render(&document, tz);
    assert!(payload.is_object(), "a payload that is not an object: {payload}");
    let queued = serde_json::to_vec(&document).map_err(|e| e.to_string());
    let back = queued.and_then(|bytes| serde_json::from_slice::<VisitDocument>(&bytes).map_err(|e| e.to_string()));
    assert_eq!(
        back.as_ref(),
        Ok(&document),
        "a visit changed on its way through the outbox"
    );
}

/// Arbitrary bytes as the MIS export of pupils and as the placements file, with the default
/// columns. A refused file lists at least one problem.
pub fn roster(data: &[u8]) {
    let columns = RosterColumns::default();
    if let Err(e) = parse_pupils(data, &columns) {
        assert!(!e.problems.is_empty(), "a pupils file refused without a problem");
    }
    let providers = [
        "bright-futures",
        "riverside-farm",
        "northstar",
        "skills-hub",
        "boxing-academy",
    ];
    if let Err(e) = parse_placements(data, &columns, &providers) {
        assert!(!e.problems.is_empty(), "a placements file refused without a problem");
    }
}

/// How a streamed read is cut: rows in the first window (where the header is looked for), rows
/// in each later window, and bytes handed over per read.
#[derive(Debug, Clone, Copy)]
struct Shape {
    prelude: usize,
    window: usize,
    step: usize,
}

impl Shape {
    fn of(data: &[u8]) -> Shape {
        let n = data.len();
        Shape {
            prelude: 3 + n % 9,
            window: 1 + n % 4,
            step: 1 + n % 7,
        }
    }
}

/// The windows of a file, read as `pipeline::import` reads them, or why the file was refused.
fn read_windows(data: &[u8], format: &CheckedFormat, shape: Shape) -> Result<Vec<Table>, DecodeProblem> {
    let open = || {
        Ok(Trickle {
            bytes: data,
            step: shape.step,
        })
    };
    let surveyed = survey(open, format.encoding).map_err(|e| ReadError::Io(e).into_problem())?;
    assert_eq!(surveyed.size, data.len() as u64);
    let mut rows: Windows<Trickle<'_>> = windows(&surveyed, open, format).map_err(ReadError::into_problem)?;
    let mut tables = Vec::new();
    let mut size = shape.prelude;
    while let Some(table) = rows.next_window(size).map_err(ReadError::into_problem)? {
        tables.push(table);
        size = shape.window;
    }
    Ok(tables)
}

/// The observations of windows read as an import reads them: the header from the first window,
/// then every window in turn.
fn read_observations(tables: &[Table], format: &Format, file_name: &str) -> Result<Decoded, DecodeProblem> {
    let empty = Table::new(Origin::Csv);
    let prelude = tables.first().unwrap_or(&empty);
    let mut reader = Reader::new(prelude, format, file_name)?;
    let mut decoded = Decoded::default();
    for table in tables {
        let mut part = reader.read(table);
        decoded.observations.append(&mut part.observations);
        decoded.problems.append(&mut part.problems);
    }
    reader.finish()?;
    Ok(decoded)
}

/// Reads a file whole and a window at a time, and checks both reads agree.
fn compare_streamed(data: &[u8], file_name: &str, format: &CheckedFormat, shape: Shape) {
    let whole_table = decode_table(data, file_name, format).map_err(|e| e.problem);
    // What `decode` gives (the format is valid), without reading the file a second time.
    let whole = whole_table
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|table| apsync_core::pipeline::layout::extract(table, format, file_name));
    let tables = read_windows(data, format, shape);
    let rows = |t: &Table| t.rows.clone();
    let streamed_rows: Result<Vec<Row>, _> = tables.as_ref().map(|ts| ts.iter().flat_map(rows).collect());
    assert_eq!(
        whole_table.as_ref().map(rows),
        streamed_rows,
        "the rows read a window at a time ({shape:?}) differ from the rows read whole"
    );
    let Ok(tables) = tables else { return };
    let streamed = read_observations(&tables, format, file_name);
    // The header is looked for in the first window only: when it is not there, an import refuses
    // the file where a whole read finds it further down (an import's first window holds more
    // rows than a header is ever looked for in, so only this small window can miss it).
    let header_missed = tables.len() > 1
        && matches!(
            streamed,
            Err(DecodeProblem::HeaderNotFound { .. } | DecodeProblem::DocumentDateNotFound { .. })
        );
    // A labelled document date is looked for in the first window only, likewise.
    let labelled = format.document_date.as_ref().is_some_and(|d| d.label.is_some()) && tables.len() > 1;
    if !header_missed && !labelled {
        assert_eq!(
            whole, streamed,
            "the observations read a window at a time ({shape:?}) differ from those read whole"
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::path::Path;

    use super::*;

    #[test]
    fn every_bundled_format_loads() {
        assert_eq!(CSV.len(), CSV_FORMATS.len());
        assert_eq!(XLSX.len(), XLSX_FORMATS.len());
        assert_eq!(JSON.len(), JSON_FORMATS.len());
    }

    /// Every file of every target's corpus (the seeds, and each crash found and fixed) through
    /// the target's function, as the fuzzer would run it.
    #[test]
    fn every_corpus_file_replays_without_a_panic() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        for (target, run) in TARGETS {
            let dir = root.join(target);
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|entry| entry.unwrap().path())
                .collect();
            files.sort();
            assert!(!files.is_empty(), "the corpus of {target} is empty: {}", dir.display());
            for file in files {
                let data = std::fs::read(&file).unwrap();
                let outcome = std::panic::catch_unwind(|| run(&data));
                assert!(outcome.is_ok(), "{target} panicked on {}", file.display());
            }
        }
    }
}
