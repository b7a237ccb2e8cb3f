//! apsync's pure core: everything that takes data and returns data.
//!
//! - [`domain`]: register codes, UPNs, sessions, the calendar, attendance arithmetic;
//! - [`roster`]: reading the MIS export and the placements;
//! - [`pipeline`]: provider formats, decoding returns into observations, normalising them;
//! - [`register`]: the rule for writing marks and the kinds of review item;
//! - [`settings`]: the checked configuration sections the rules and emails read;
//! - [`rules`]: the alert rules: facts in, conditions and changes out;
//! - [`visits`]: staff visits, their checks and the payloads endpoints receive;
//! - [`email`]: rendering alerts and the digest into messages, and the chart;
//! - [`mis`]: the MIS link's students checked into pupils, and the write-back plan;
//! - [`schedule`]: when a job runs (cron expressions);
//! - [`sha256`]: hex digests, the identity of a document's bytes.
//!
//! Nothing here reads a file, a socket, a clock or the operating system's randomness: the
//! `apsync` crate does the I/O and passes in what it read. Cargo holds this: the crate does not
//! depend on tokio, sqlx, reqwest or getrandom, and `scripts/test` checks it stays so.

pub mod domain;
pub mod email;
pub mod mis;
pub mod pipeline;
pub mod register;
pub mod roster;
pub mod rules;
pub mod schedule;
pub mod settings;
pub mod sha256;
#[doc(hidden)]
pub mod testing;
pub mod visits;
