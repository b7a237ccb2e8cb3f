//! Test harness shared by the integration tests: each test binary's `tests/<name>/main.rs` says
//! `#[path = "../support/mod.rs"] mod support;`, and its modules `use crate::support`.
//!
//! - [`install`]: a temp installation of apsync (example configuration, formats) and the real binary;
//! - [`postgres`]: a fresh, uniquely named PostgreSQL database per test (an existing server if one
//!   answers, else a throwaway cluster that dies with the test process), and SQLite URLs so the same
//!   story can run on both store backends;
//! - [`store`]: test stores on either backend, with the sample roster;
//! - [`endpoint`]: a CPOMS-style HTTP endpoint in the test process, scripted to fail as real ones do.
//!
//! Modules for the other real servers of `DESIGN.md` ("Testing") come later, one per server, in the
//! same shape: `sshd` (SFTP) and `dovecot` (IMAP). [`smtp`]: the aiosmtpd capture with STARTTLS and AUTH.
//! Recipes: `shared/reference/test-servers.md`.

// Each test binary uses only part of the harness.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod api;
pub mod dovecot;
pub mod endpoint;
pub mod fixtures;
pub mod golden;
pub mod install;
pub mod postgres;
pub mod sample_servers;
pub mod smtp;
pub mod sshd;
pub mod store;
pub mod wonde;
