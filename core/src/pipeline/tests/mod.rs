//! Tests of the pipeline: one module per family of formats, the golden samples, round trips of
//! random CSV, and limits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod families;
mod golden;
mod json_xlsx;
mod limits;
mod robustness;
mod roundtrip;
mod sessions;
mod streaming;
mod validation;

use chrono::NaiveDate;

use crate::domain::Session;
use crate::pipeline::{CheckedFormat, Decoded, Format, Observation, decode};

/// Parses a format written as IT would (the keys of `[provider.format]`), unchecked.
pub(super) fn raw_format(toml_text: &str) -> Format {
    toml::from_str(toml_text).unwrap_or_else(|e| panic!("format does not parse: {e}"))
}

/// Parses and checks a format, as the configuration does.
pub(super) fn format(toml_text: &str) -> CheckedFormat {
    checked(raw_format(toml_text))
}

/// Checks a format built in a test.
pub(super) fn checked(f: Format) -> CheckedFormat {
    f.check()
        .unwrap_or_else(|issues| panic!("format is not valid: {issues:?}"))
}

pub(super) fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub(super) fn decode_ok(bytes: &[u8], name: &str, f: &CheckedFormat) -> Decoded {
    decode(bytes, name, f).unwrap_or_else(|e| panic!("{e}"))
}

/// The observation for a date and session whose identifier is `who`.
pub(super) fn find<'a>(d: &'a Decoded, who: &str, date: NaiveDate, session: Session) -> &'a Observation {
    d.observations
        .iter()
        .find(|o| o.identity.identifier().as_deref() == Some(who) && o.date == date && o.session == session)
        .unwrap_or_else(|| panic!("no observation for {who} {date} {session} in {:#?}", d.observations))
}

/// A minimal XLSX workbook: each sheet is `(name, sheetData inner XML)`. Style 1 is a date
/// format, so `<c s="1">` cells are date cells.
pub(super) fn xlsx(sheets: &[(&str, &str)]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    let mut file = |name: &str, body: &str| {
        zip.start_file(name, options).unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    };
    let mut overrides = String::new();
    let mut entries = String::new();
    let mut rels = String::new();
    for (i, (name, _)) in sheets.iter().enumerate() {
        let n = i + 1;
        overrides.push_str(&format!(r#"<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#));
        entries.push_str(&format!(r#"<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>"#));
        rels.push_str(&format!(r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#));
    }
    let styles_rel = sheets.len() + 1;
    rels.push_str(&format!(r#"<Relationship Id="rId{styles_rel}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>"#));
    file(
        "[Content_Types].xml",
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>{overrides}</Types>"#
        ),
    );
    file(
        "_rels/.rels",
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
    );
    file(
        "xl/workbook.xml",
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{entries}</sheets></workbook>"#
        ),
    );
    file(
        "xl/_rels/workbook.xml.rels",
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#
        ),
    );
    file(
        "xl/styles.xml",
        r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="165" formatCode="DD/MM/YYYY"/></numFmts><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="165"/></cellXfs></styleSheet>"#,
    );
    for (i, (_, data)) in sheets.iter().enumerate() {
        file(
            &format!("xl/worksheets/sheet{}.xml", i + 1),
            &format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{data}</sheetData></worksheet>"#
            ),
        );
    }
    zip.finish().unwrap().into_inner()
}

/// An inline-string cell.
pub(super) fn s(at: &str, text: &str) -> String {
    format!(r#"<c r="{at}" t="inlineStr"><is><t>{text}</t></is></c>"#)
}

/// A number cell; with `date`, styled as a date.
pub(super) fn n(at: &str, value: f64, date: bool) -> String {
    let style = if date { r#" s="1""# } else { "" };
    format!(r#"<c r="{at}"{style}><v>{value}</v></c>"#)
}

/// A row of cells.
pub(super) fn row(number: usize, cells: &[String]) -> String {
    format!(r#"<row r="{number}">{}</row>"#, cells.concat())
}
