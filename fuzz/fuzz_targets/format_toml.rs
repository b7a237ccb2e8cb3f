//! A provider's format_file: parsed and validated as apsync does, then used to read a real return.
//! The work is in `apsync::fuzz::format_toml`, which the corpus replay test also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| apsync::fuzz::format_toml(data));
