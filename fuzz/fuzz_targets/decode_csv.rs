//! A return of each CSV format, read whole and a window at a time (trickled reads): same rows, same observations.
//! The work is in `apsync::fuzz::decode_csv`, which the corpus replay test also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| apsync::fuzz::decode_csv(data));
