//! The body of POST /api/v1/visits: parsed, checked, rendered as an endpoint's payload.
//! The work is in `apsync::fuzz::visit_json`, which the corpus replay test also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| apsync::fuzz::visit_json(data));
