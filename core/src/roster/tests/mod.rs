#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod placements;
mod pupils;

use super::*;

const PUPILS: &str = include_str!("../../../../samples/roster/pupils.csv");
const PLACEMENTS: &str = include_str!("../../../../samples/roster/placements.csv");
const PROVIDERS: &[&str] = &[
    "bright-futures",
    "skills-hub",
    "riverside-farm",
    "boxing-academy",
    "northstar",
];

/// The text with LF line ends (the samples are CRLF).
fn lf(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// The sample text with line `line` (1-based) replaced.
fn replace_line(text: &str, line: usize, new: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines[line - 1] = new;
    lines.join("\n") + "\n"
}

/// The row problems, as (line, problem).
fn row_problems(err: &RosterFileError) -> Vec<(usize, RosterRowProblem)> {
    err.problems
        .iter()
        .filter_map(|p| match p {
            RosterProblem::Row { line, problem } => Some((*line, problem.clone())),
            _ => None,
        })
        .collect()
}
