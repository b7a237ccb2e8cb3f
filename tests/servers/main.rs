//! The real binary against real servers started by the harness: OpenSSH sshd (SFTP), Dovecot
//! (IMAP), aiosmtpd (SMTP), a provider API and the CPOMS-style endpoint in the test process, and
//! the daemon over all of them.
//!
//! One test binary per kind of need (see also `files`, `library` and `store`), so the harness in
//! `tests/support/` is compiled once for each rather than once per file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../support/mod.rs"]
mod support;

mod acceptance;
mod conformance;
mod daemon;
mod email;
mod http_api;
mod imap;
mod sftp;
