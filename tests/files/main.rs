//! The real binary on files and folders, with no server but the database: the command line, the
//! sample and fixture goldens, bad files, and folder sync. Each runs on SQLite and, where it says
//! so, on PostgreSQL.
//!
//! One test binary per kind of need (see also `servers`, `library` and `store`), so the harness in
//! `tests/support/` is compiled once for each rather than once per file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../support/mod.rs"]
mod support;

mod bad_files;
mod cli;
mod fixtures_golden;
mod golden;
mod sync;
