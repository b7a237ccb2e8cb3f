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
