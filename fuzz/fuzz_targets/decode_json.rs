//! Arbitrary bytes through the JSON example format: records path, nested fields.
#![no_main]

use std::sync::LazyLock;

use apsync::pipeline::{Format, decode};
use libfuzzer_sys::fuzz_target;

static FORMAT: LazyLock<Option<Format>> =
    LazyLock::new(|| toml::from_str(include_str!("../../config/formats/northstar.toml")).ok());

fuzz_target!(|data: &[u8]| {
    if let Some(format) = FORMAT.as_ref() {
        let _ = decode(data, "page-1.json", format);
    }
});
