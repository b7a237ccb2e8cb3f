//! Comparing the CLI's listings with expected files.

use std::path::Path;

/// An expected file, with CRLF line ends read as the CLI's LF.
pub fn expected(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap().replace("\r\n", "\n")
}

/// Compares line by line, so a failure shows the lines that differ rather than two whole files.
#[track_caller]
pub fn assert_lines(got: &str, want: &str, what: &str) {
    let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
    let missing: Vec<&&str> = w.iter().filter(|l| !g.contains(l)).collect();
    let extra: Vec<&&str> = g.iter().filter(|l| !w.contains(l)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: missing {missing:#?}\nunexpected {extra:#?}"
    );
    assert_eq!(g, w, "{what}: same lines, different order");
}

/// A CSV listing without the column headed `name` (a column the expected files leave out, such
/// as pupils' names beside their UPNs, which come from the roster rather than the register).
pub fn without_column(csv_text: &str, name: &str) -> String {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let keep = |record: &csv::StringRecord| -> Vec<String> {
        headers
            .iter()
            .zip(record.iter())
            .filter(|(h, _)| *h != name)
            .map(|(_, v)| v.to_string())
            .collect()
    };
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    writer.write_record(keep(&headers)).unwrap();
    for record in reader.records() {
        writer.write_record(keep(&record.unwrap())).unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}
