//! Importing a return: the I/O around the core's pure pipeline (`apsync_core::pipeline`, whose
//! items are re-exported here, so `pipeline::format` and `pipeline::decode` read as one pipeline).
//!
//! - [`import`]: a document's bytes, read a window at a time, through the core's decode and
//!   normalise stages into one store transaction, with the ledger and the raw bytes kept;
//! - `reading`: the shared read path (survey, windows) used by import and by `format try`;
//! - `trial`: `apsync format try`, the same read path with nothing written.

pub use apsync_core::pipeline::*;

pub mod import;
pub(crate) mod reading;
pub(crate) mod trial;
