//! The library's services called in the test process, over real stores on both backends: pushing
//! visits, the visit intake (over HTTP, and through the real binary and its drop folder), and the
//! scheduler loop with an injected clock.
//!
//! One test binary per kind of need (see also `files`, `servers` and `store`), so the harness in
//! `tests/support/` is compiled once for each rather than once per file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../support/mod.rs"]
mod support;

mod mis;
mod push;
mod scheduler;
mod visits;
