//! apsync: keeps a school's register for pupils placed in alternative provision.
//!
//! Where things are:
//! - [`domain`]: register codes, UPNs, sessions, the calendar, attendance arithmetic (pure);
//! - [`roster`]: reading the MIS export and the placements (pure);
//! - [`pipeline`]: provider formats and decoding returns into observations (pure);
//! - [`register`]: the rules for writing marks and the kinds of review item (pure);
//! - [`email`]: rendering alerts and the digest into messages, the chart, the file transport;
//! - [`config`]: the configuration file, checked with every mistake reported at once;
//! - [`rules`]: the alert rules: facts in, conditions and changes out (pure);
//! - [`store`]: all SQL, on SQLite or PostgreSQL;
//! - [`visits`]: staff visits, their checks and the payloads endpoints receive (pure);
//! - [`outbox`]: delivering email and pushes, with retries; `outbox::push` is the HTTP sender;
//! - [`http`]: the HTTP API (visit intake with bearer tokens);
//! - [`runtime`]: running connectors, recording visits, pushing them;
//! - [`cli`]: the `apsync` command.
//!
//! (`fuzz` holds the fuzz targets' entry points, shared with the corpus replay test.)

mod bundled;
pub use apsync_core::{domain, email, register, roster, rules, schedule, settings, sha256, visits};
pub mod cli;
pub mod config;

#[doc(hidden)]
pub mod fuzz;
pub mod http;
pub mod intake;
pub mod mis;
pub mod outbox;
pub mod pipeline;
pub mod runtime;
pub mod store;
#[cfg(test)]
mod tests;
