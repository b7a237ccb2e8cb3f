//! Reading a file a window of rows at a time gives what reading it whole gives: the same rows,
//! numbered by the same lines, and the same observations, wherever the windows and the reads
//! of the underlying bytes fall.

use proptest::prelude::*;

use super::format;
use crate::pipeline::decode::{Row, Windows, survey, windows};
use crate::pipeline::layout::Reader;
use crate::pipeline::{DecodeProblem, Decoded, decode, decode_table};

use crate::testing::Trickle;

const LONG: &str = "kind = \"csv\"\n[identity]\nupn = \"UPN\"\n[layout]\nstyle = \"long\"\ndate = \"Date\"\nsession = \"Session\"\nmark = \"Mark\"\n[marks]\ncodes = \"dfe\"";

fn open<'a>(bytes: &'a [u8], step: usize) -> impl Fn() -> std::io::Result<Trickle<'a>> {
    move || Ok(Trickle { bytes, step })
}

/// Every window's rows, and the observations read window by window.
fn streamed(bytes: &[u8], step: usize, window: usize) -> (Vec<Row>, Result<Decoded, DecodeProblem>) {
    let f = format(LONG);
    let surveyed = survey(open(bytes, step), f.encoding).unwrap();
    let mut rows = windows(&surveyed, open(bytes, step), &f).unwrap();
    assert!(matches!(rows, Windows::Csv(_)));
    // The first window holds the header (the title and header rows here); in an import it
    // holds every row the header is looked for in.
    let first = rows.next_window(2 + window).unwrap().unwrap();
    let mut reader = Reader::new(&first, &f, "a.csv").unwrap();
    let mut all_rows = Vec::new();
    let mut decoded = Decoded::default();
    let mut next = Some(first);
    while let Some(table) = next.take() {
        let mut part = reader.read(&table);
        decoded.observations.append(&mut part.observations);
        decoded.problems.append(&mut part.problems);
        all_rows.extend(table.rows);
        next = rows.next_window(window).unwrap();
    }
    (all_rows, reader.finish().map(|()| decoded))
}

fn file(records: &[(u8, &str)], crlf: bool) -> Vec<u8> {
    let end = if crlf { "\r\n" } else { "\n" };
    let mut text = format!("Attendance return{end}{end}UPN,Date,Session,Mark,Note{end}");
    for (i, (kind, note)) in records.iter().enumerate() {
        let upn = format!("A{:012}", i);
        let line = match kind % 4 {
            0 => format!("{upn},2026-03-02,AM,/,{note}"),
            1 => format!("{upn},2026-03-02,PM,N,\"{note}{end}continued\""),
            2 => String::new(),
            _ => format!("{upn},2026-03-0x,AM,/,{note}"),
        };
        text.push_str(&line);
        text.push_str(end);
    }
    text.into_bytes()
}

proptest! {
    #[test]
    fn windows_and_trickled_reads_change_nothing(
        records in prop::collection::vec((any::<u8>(), "[a-z ]{0,6}"), 1..40),
        crlf in any::<bool>(),
        step in 1..9usize,
        window in 1..6usize,
    ) {
        let records: Vec<(u8, &str)> = records.iter().map(|(k, n)| (*k, n.as_str())).collect();
        let bytes = file(&records, crlf);
        let f = format(LONG);
        let whole = decode_table(&bytes, "a.csv", &f).unwrap();
        let (rows, decoded) = streamed(&bytes, step, window);
        prop_assert_eq!(&rows, &whole.rows);
        prop_assert_eq!(decoded, decode(&bytes, "a.csv", &f).map_err(|e| e.problem));
    }
}

#[test]
fn a_file_without_rows_below_its_header_is_refused_at_the_end() {
    let f = format(LONG);
    let bytes = format!("UPN,Date,Session,Mark\n{}", ",,,\n".repeat(50)).into_bytes();
    let surveyed = survey(open(&bytes, 7), f.encoding).unwrap();
    let mut rows = windows(&surveyed, open(&bytes, 7), &f).unwrap();
    let first = rows.next_window(3).unwrap().unwrap();
    let mut reader = Reader::new(&first, &f, "a.csv").unwrap();
    let _ = reader.read(&first);
    assert!(rows.next_window(3).unwrap().is_none());
    let err = reader.finish().unwrap_err();
    assert_eq!(
        err,
        DecodeProblem::NoRows {
            header: "line 1".into()
        }
    );
}
