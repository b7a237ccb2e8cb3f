//! Oversized files, too many rows or cells, and zip bombs are refused with a clear error.

use std::io::Write;

use super::{checked, format, n, raw_format, row, s, xlsx};
use crate::pipeline::decode::Cell;
use crate::pipeline::{DecodeProblem, decode, decode_table};

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
    let mut f = raw_format(CSV);
    f.limits.max_cells = 5;
    let f = checked(f);
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

#[test]
fn a_field_over_the_limit_or_a_line_of_too_many_fields_is_refused_with_its_line() {
    let mut f = raw_format(CSV);
    f.limits.max_file_bytes = 1 << 20;
    f.limits.max_field_bytes = 10;
    f.limits.max_cells_per_row = 4;
    let f = checked(f);
    let err = decode(b"UPN,Date,Mark\n\nA,x,\"12345678901\"\n", "field.csv", &f).unwrap_err();
    assert_eq!(
        err.problem,
        DecodeProblem::FieldTooBig {
            at: "line 3".to_string(),
            limit: 10
        }
    );
    assert!(err.to_string().contains("`limits.max_field_bytes`"), "{err}");
    let err = decode(b"UPN,Date,Mark\r\nA,x,/\r\n,,,,,,,,\r\n", "commas.csv", &f).unwrap_err();
    assert_eq!(
        err.problem,
        DecodeProblem::TooManyCellsInRow {
            at: "line 3".to_string(),
            limit: 4
        }
    );
    // At the limits exactly, the file reads.
    let d = decode(b"UPN,Date,Mark,x\nA,2026-03-02,/,1234567890\n", "ok.csv", &f).unwrap();
    assert_eq!(d.observations.len(), 2);
}

/// A workbook whose data cells all show shared string 0, `text`.
fn shared(rows: usize, text: &str) -> Vec<u8> {
    let mut data = row(1, &[s("A1", "UPN"), s("B1", "Date"), s("C1", "Mark")]);
    for r in 2..rows + 2 {
        data.push_str(&row(
            r,
            &[
                format!(r#"<c r="A{r}" t="s"><v>0</v></c>"#),
                n(&format!("B{r}"), 46083.0, true),
            ],
        ));
    }
    let book = xlsx(&[("S", &data)]);
    let mut zip = zip::ZipWriter::new_append(std::io::Cursor::new(book)).unwrap();
    zip.start_file("xl/sharedStrings.xml", zip::write::SimpleFileOptions::default())
        .unwrap();
    let sst = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{rows}" uniqueCount="1"><si><t>{text}</t></si></sst>"#
    );
    zip.write_all(sst.as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}

#[test]
fn cells_of_one_shared_string_share_one_copy() {
    let f = format(XLSX);
    let table = decode_table(&shared(3, " U1 "), "shared.xlsx", &f).unwrap();
    let cells: Vec<&Cell> = table.rows[1..].iter().map(|r| r.cell(0)).collect();
    assert_eq!(cells.len(), 3);
    let [Cell::Text(a), Cell::Text(b), Cell::Text(c)] = cells[..] else {
        panic!("{cells:?}")
    };
    assert_eq!(&**a, "U1");
    assert!(std::sync::Arc::ptr_eq(a, b) && std::sync::Arc::ptr_eq(b, c));
}

#[test]
fn text_is_counted_per_cell_against_the_limit() {
    let mut f = raw_format(XLSX);
    // The header's 11 bytes, then 10 bytes per data cell.
    f.limits.max_text_bytes = 11 + 10 * 4;
    assert!(decode_table(&shared(4, "0123456789"), "four.xlsx", &f).is_ok());
    let err = decode_table(&shared(500, "0123456789"), "many.xlsx", &f).unwrap_err();
    assert_eq!(
        err.problem,
        DecodeProblem::TooMuchText {
            what: "workbook's cells",
            // Reading stops at the first cell over the limit.
            bytes: 51,
            counted_all: false,
            limit: 51
        }
    );
    let text = err.to_string();
    assert!(
        text.contains("the workbook's cells hold more than 51 bytes of text, over `limits.max_text_bytes` = 51"),
        "{text}"
    );
    assert!(text.contains("ask the provider for a plain export"), "{text}");
}
