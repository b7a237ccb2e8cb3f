//! Arbitrary bytes through the XLSX example format: zip parsing, bomb checks, the workbook.
#![no_main]

use std::sync::LazyLock;

use apsync::pipeline::{Format, decode};
use libfuzzer_sys::fuzz_target;

static FORMAT: LazyLock<Option<Format>> =
    LazyLock::new(|| toml::from_str(include_str!("../../config/formats/riverside-farm.toml")).ok());

fuzz_target!(|data: &[u8]| {
    if let Some(format) = FORMAT.as_ref() {
        let _ = decode(data, "riverside_2026-03-02.xlsx", format);
    }
});
