//! SHA-256 as lower-case hex: the core's (`apsync_core::sha256`), so a document's identity is
//! computed one way wherever it is taken.

pub use apsync_core::sha256::{Sha256Hex, hex, sha256_hex};
