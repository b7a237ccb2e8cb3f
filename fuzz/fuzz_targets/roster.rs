//! The roster files: the MIS export of pupils and the placements file.
//! The work is in `apsync::fuzz::roster`, which the corpus replay test also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| apsync::fuzz::roster(data));
