//! An API page of each JSON format: records paths, nested fields.
//! The work is in `apsync::fuzz::decode_json`, which the corpus replay test also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| apsync::fuzz::decode_json(data));
