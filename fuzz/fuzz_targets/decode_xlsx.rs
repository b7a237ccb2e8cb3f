//! A workbook of each XLSX format: zip checks, the workbook parser, two-row headers.
//! The work is in `apsync::fuzz::decode_xlsx`, which the corpus replay test also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| apsync::fuzz::decode_xlsx(data));
