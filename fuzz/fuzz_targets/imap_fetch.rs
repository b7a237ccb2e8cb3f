//! An IMAP FETCH response: its BODYSTRUCTURE into parts, each rebuilt header read back.
//! The work is in `apsync::fuzz::imap_fetch`, which the corpus replay test also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| apsync::fuzz::imap_fetch(data));
