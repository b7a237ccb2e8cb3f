//! An email as the IMAP connector reads it: header screening, attachments, each part alone.
//! The work is in `apsync::fuzz::imap_message`, which the corpus replay test also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| apsync::fuzz::imap_message(data));
