//! Oversized files, too many rows or cells, and zip bombs are refused with a clear error.

use std::io::Write;

use super::{format, n, row, s, xlsx};
use crate::pipeline::{DecodeProblem, decode};

const CSV: &str = r#"
    kind = "csv"
    [identity]
    upn = "UPN"
    [layout]
    style = "long"
    date = "Date"
    mark = "Mark"
    [marks]
    codes = "dfe"
    [limits]
    max_file_bytes = 64
    max_rows = 3
"#;

#[test]
fn an_oversize_file_is_refused_before_it_is_read() {
    let f = format(CSV);
    let big = format!("UPN,Date,Mark\n{}", "A,2026-03-02,/\n".repeat(10));
    let err = decode(big.as_bytes(), "big.csv", &f).unwrap_err();
    assert_eq!(
        err.problem,
        DecodeProblem::TooBig {
            size: big.len() as u64,
            limit: 64
        }
    );
    let text = err.to_string();
    assert!(
        text.starts_with("`big.csv`: the file is 164 bytes, more than the limit of 64"),
        "{text}"
    );
    assert!(text.contains("limits.max_file_bytes"), "{text}");
}

#[test]
fn too_many_rows_or_cells_are_refused() {
    let f = format(CSV);
    let err = decode(b"UPN,Date,Mark\nA,x,/\nB,x,/\nC,x,/\n", "rows.csv", &f).unwrap_err();
    assert_eq!(err.problem, DecodeProblem::TooManyRows { limit: 3 });
    let mut f = format(CSV);
    f.limits.max_cells = 5;
    let err = decode(b"UPN,Date,Mark\nA,x,/\n", "cells.csv", &f).unwrap_err();
    assert_eq!(err.problem, DecodeProblem::TooManyCells { limit: 5 });
}

const XLSX: &str = r#"
    kind = "xlsx"
    [identity]
    upn = "UPN"
    [layout]
    style = "long"
    date = "Date"
    mark = "Mark"
    [marks]
    codes = "dfe"
    [limits]
    max_xlsx_uncompressed_bytes = 1048576
"#;

/// A workbook with an extra part of `size` zero bytes: it compresses to almost nothing.
fn bomb(size: usize) -> Vec<u8> {
    let book = xlsx(&[("S", &row(1, &[s("A1", "UPN"), s("B1", "Date"), s("C1", "Mark")]))]);
    let mut zip = zip::ZipWriter::new_append(std::io::Cursor::new(book)).unwrap();
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("xl/media/padding.bin", options).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    for _ in 0..size / chunk.len() {
        zip.write_all(&chunk).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn a_zip_bomb_is_refused_by_its_declared_size() {
    let f = format(XLSX);
    let book = bomb(4 * 1024 * 1024);
    assert!(book.len() < 64 * 1024, "the bomb is small: {} bytes", book.len());
    let err = decode(&book, "bomb.xlsx", &f).unwrap_err();
    assert_eq!(
        err.problem,
        DecodeProblem::ZipBomb {
            how: "declares that it unzips to more than the limit",
            limit: 1_048_576
        }
    );
    assert!(err.to_string().contains("possible zip bomb"), "{err}");
}

#[test]
fn a_zip_bomb_that_lies_about_its_size_is_refused_when_inflated() {
    let f = format(XLSX);
    let mut book = bomb(4 * 1024 * 1024);
    // Rewrite the padding's declared size (local header and central directory) to 1 byte.
    let name = b"xl/media/padding.bin";
    let mut patched = 0;
    for at in 0..book.len().saturating_sub(name.len()) {
        let (local, central) = (
            book[at..].starts_with(b"PK\x03\x04"),
            book[at..].starts_with(b"PK\x01\x02"),
        );
        let (size_at, name_at) = match (local, central) {
            (true, _) => (at + 22, at + 30),
            (_, true) => (at + 24, at + 46),
            _ => continue,
        };
        if book[name_at..].starts_with(name) {
            book[size_at..size_at + 4].copy_from_slice(&1u32.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2);
    let err = decode(&book, "liar.xlsx", &f).unwrap_err();
    assert_eq!(
        err.problem,
        DecodeProblem::ZipBomb {
            how: "unzips to more than it declares",
            limit: 1_048_576
        }
    );
}

#[test]
fn a_workbook_under_the_limits_still_reads() {
    let f = format(XLSX);
    let data = [
        row(1, &[s("A1", "UPN"), s("B1", "Date"), s("C1", "Mark")]),
        row(2, &[s("A2", "U1"), n("B2", 46083.0, true), s("C2", "/")]),
    ]
    .concat();
    // A whole-day mark: both sessions.
    let d = decode(&xlsx(&[("S", &data)]), "ok.xlsx", &f).unwrap();
    assert_eq!(d.observations.len(), 2);
}
