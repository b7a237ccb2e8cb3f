//! The core's alert rules and email rendering with the example configuration's school, calendar
//! and thresholds. They live here, not in `apsync-core`, because reading the configuration file
//! is this crate's.

mod email;
mod rules;
mod visit_rules;
