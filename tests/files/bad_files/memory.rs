//! Files whose size is modest but whose cells would take gigabytes once read: a workbook whose
//! cells all point at one long shared string, a CSV field of 19 MB, a line of 19 MB of commas,
//! a 19 MB mark. Each is refused by a limit that names itself and says what to do, recorded in
//! the ledger with its digest, and `apsync` stays under 256 MiB of memory while refusing it
//! (measured by `/usr/bin/time`, the Debian package `time`, which `scripts/test` installs).

use std::cell::RefCell;
use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};
use sqlx::Connection;

use super::{Install, Recorded, installed, rejects_with, run_measured, write};

/// The most memory `apsync` may use on any of these files, in KiB.
const PEAK_KIB: u64 = 256 * 1024;

/// 19 MiB: just under the default `limits.max_file_bytes` of 20 MiB.
const NINETEEN_MB: usize = 19 * 1024 * 1024;

/// The length of the one shared string every cell of the bomb workbooks refers to.
const SHARED: usize = 10 * 1024;

/// Column letters as a sheet writes them: 0 is `A`, 26 is `AA`.
fn column(mut n: usize) -> String {
    let mut name = Vec::new();
    n += 1;
    while n > 0 {
        n -= 1;
        name.push(b'A' + (n % 26) as u8);
        n /= 26;
    }
    name.reverse();
    String::from_utf8(name).unwrap()
}

/// A workbook with the sheet `Attendance`, `rows` rows of 1,000 cells, every one of them the
/// shared string 0, which is `SHARED` bytes long.
fn shared_string_bomb(rows: usize) -> Vec<u8> {
    const NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    const PKG: &str = "http://schemas.openxmlformats.org/package/2006";
    const MAIN: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml";
    let cells = rows * 1000;
    let parts = [
        (
            "[Content_Types].xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{PKG}/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="{MAIN}.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="{MAIN}.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="{MAIN}.sharedStrings+xml"/></Types>"#
            ),
        ),
        (
            "_rels/.rels",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}/relationships"><Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
            ),
        ),
        (
            "xl/workbook.xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{NS}" xmlns:r="{REL}"><sheets><sheet name="Attendance" sheetId="1" r:id="rId1"/></sheets></workbook>"#
            ),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}/relationships"><Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#
            ),
        ),
        (
            "xl/sharedStrings.xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{NS}" count="{cells}" uniqueCount="1"><si><t>{}</t></si></sst>"#,
                "x".repeat(SHARED)
            ),
        ),
    ];
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, body) in parts {
        zip.start_file(name, options).unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    }
    zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    write!(
        zip,
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{NS}"><sheetData>"#
    )
    .unwrap();
    let names: Vec<String> = (0..1000).map(column).collect();
    let mut line = String::new();
    for r in 1..=rows {
        line.clear();
        line.push_str(&format!(r#"<row r="{r}">"#));
        for name in &names {
            line.push_str(&format!(r#"<c r="{name}{r}" t="s"><v>0</v></c>"#));
        }
        line.push_str("</row>");
        zip.write_all(line.as_bytes()).unwrap();
    }
    zip.write_all(b"</sheetData></worksheet>").unwrap();
    zip.finish().unwrap().into_inner()
}

/// A Bright Futures return: the header, one good row, then `bad`.
fn return_with(bad: &str) -> Vec<u8> {
    let mut text = String::with_capacity(bad.len() + 200);
    text.push_str("Learner Ref,UPN,Surname,Forename,Date,Session,Mark,Notes\r\n");
    text.push_str("BF-104,,Clarke,Jayden,04/03/2026,AM,/,\r\n");
    text.push_str(bad);
    text.push_str("\r\n");
    text.into_bytes()
}

/// The ledger's row for a file: its status, digest and reason, read from the SQLite store.
fn ledger(install: &Install, file_name: &str) -> (String, String, Option<String>) {
    let url = format!("sqlite://{}", install.path("apsync.db").display());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_as("SELECT status, sha256, reason FROM documents WHERE file_name = ?")
            .bind(file_name)
            .fetch_one(&mut db)
            .await
            .unwrap()
    })
}

/// The bad file refused as `says` while the good files around it import, recorded as rejected
/// with its digest, within `PEAK_KIB`. Prints the peak, which the report quotes.
fn refused_within_memory(install: &Install, provider: &str, bad: &Path, says: &[&str]) {
    assert!(
        Path::new("/usr/bin/time").exists(),
        "/usr/bin/time is missing: install the Debian package `time` (scripts/test does)"
    );
    let peaks = RefCell::new(Vec::new());
    let reason = rejects_with(install, provider, bad, says, Recorded::Yes, |args| {
        run_measured(install, args, &peaks)
    });
    let name = bad.file_name().unwrap().to_str().unwrap();
    let (status, sha256, recorded) = ledger(install, name);
    let digest: String = Sha256::digest(std::fs::read(bad).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!((status.as_str(), sha256.as_str()), ("rejected", digest.as_str()));
    let recorded = recorded.unwrap_or_default();
    assert!(
        reason.contains(&recorded),
        "the ledger keeps the reason shown: {recorded}"
    );
    let peak = peaks.borrow().iter().copied().max().unwrap();
    eprintln!("peak memory for {name}: {peak} KiB");
    assert!(
        peak < PEAK_KIB,
        "peak memory {peak} KiB for {name}, over {PEAK_KIB} KiB"
    );
}

#[test]
fn a_workbook_whose_three_million_cells_share_one_long_string_is_refused() {
    let i = installed();
    let book = shared_string_bomb(3000);
    assert!(book.len() < 20 * 1024 * 1024, "{} bytes", book.len());
    let bad = write(&i, "riverside_2026-03-04.xlsx", &book);
    let says = [
        "the workbook's cells hold more than 67108864 bytes of text",
        "over `limits.max_text_bytes` = 67108864",
        "ask the provider for a plain export",
    ];
    refused_within_memory(&i, "riverside-farm", &bad, &says);
}

#[test]
fn a_small_workbook_whose_cells_share_one_long_string_is_refused() {
    let i = installed();
    // 17,000 cells: about half a megabyte of sheet, 174 MB of text as a person would see it.
    let bad = write(&i, "riverside_2026-03-04.xlsx", &shared_string_bomb(17));
    let says = [
        "the workbook's cells hold more than 67108864 bytes of text",
        "`limits.max_text_bytes`",
        "ask the provider for a plain export",
    ];
    refused_within_memory(&i, "riverside-farm", &bad, &says);
}

#[test]
fn a_csv_field_of_nineteen_megabytes_is_refused() {
    let i = installed();
    let field = format!("BF-104,,Clarke,Jayden,04/03/2026,PM,/,\"{}\"", "n".repeat(NINETEEN_MB));
    let bad = write(&i, "BF_attendance_2026-03-04.csv", &return_with(&field));
    let says = [
        "line 3 has a cell of more than 65536 bytes, over `limits.max_field_bytes`",
        "ask the provider to send the return again without the oversized text",
    ];
    refused_within_memory(&i, "bright-futures", &bad, &says);
}

#[test]
fn a_csv_line_of_nineteen_megabytes_of_commas_is_refused() {
    let i = installed();
    let bad = write(
        &i,
        "BF_attendance_2026-03-04.csv",
        &return_with(&",".repeat(NINETEEN_MB)),
    );
    let says = [
        "line 3 has more than 1000 fields, over `limits.max_cells_per_row`",
        "ask the provider to send the return again",
    ];
    refused_within_memory(&i, "bright-futures", &bad, &says);
}

#[test]
fn a_csv_mark_of_nineteen_megabytes_is_refused() {
    let i = installed();
    let mark = format!("BF-104,,Clarke,Jayden,04/03/2026,PM,{},", "X".repeat(NINETEEN_MB));
    let bad = write(&i, "BF_attendance_2026-03-04.csv", &return_with(&mark));
    let says = [
        "line 3 has a cell of more than 65536 bytes, over `limits.max_field_bytes`",
        "or raise `limits.max_field_bytes` in its format",
    ];
    refused_within_memory(&i, "bright-futures", &bad, &says);
}

/// A mark and a note just under `limits.max_field_bytes` are read, and the row goes to review
/// as a bounded excerpt: the review row stays a few kilobytes, not the 120 KB of the line.
#[test]
fn a_long_mark_under_the_field_limit_goes_to_review_as_an_excerpt() {
    let i = installed();
    let line = format!(
        "BF-104,,Clarke,Jayden,04/03/2026,PM,{},{}",
        "X".repeat(60_000),
        "n".repeat(60_000)
    );
    let file = write(&i, "BF_attendance_2026-03-04.csv", &return_with(&line));
    let out = i.run(&["import", "--provider", "bright-futures", file.to_str().unwrap()]);
    // Imported, with the row waiting for a person: exit 3.
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let url = format!("sqlite://{}", i.path("apsync.db").display());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sizes: Vec<(i64, i64, i64)> = runtime.block_on(async {
        let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_as("SELECT length(raw_row), length(raw_mark), length(reason) FROM review")
            .fetch_all(&mut db)
            .await
            .unwrap()
    });
    assert_eq!(sizes.len(), 1, "{sizes:?}");
    let (raw_row, raw_mark, reason) = sizes[0];
    assert!(raw_row <= 4096, "raw_row of {raw_row} characters");
    assert!(raw_mark <= 201, "raw_mark of {raw_mark} characters");
    assert!(reason <= 1001, "reason of {reason} characters");
    let listing = i.ok(&["review", "list", "--format", "json"]);
    assert!(listing.contains("XXXX…"), "the mark is shown cut short: {listing}");
    assert!(listing.len() < 4096, "the review listing is {} bytes", listing.len());
}
