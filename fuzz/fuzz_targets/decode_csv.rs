//! Arbitrary bytes through every CSV example format (long, wide with weekday headers).
#![no_main]

use std::sync::LazyLock;

use apsync::pipeline::{Format, decode};
use libfuzzer_sys::fuzz_target;

static FORMATS: LazyLock<Vec<Format>> = LazyLock::new(|| {
    [
        include_str!("../../config/formats/bright-futures.toml"),
        include_str!("../../config/formats/skills-hub.toml"),
        include_str!("../../config/formats/boxing-academy.toml"),
    ]
    .into_iter()
    .filter_map(|text| toml::from_str(text).ok())
    .collect()
});

fuzz_target!(|data: &[u8]| {
    for format in FORMATS.iter() {
        let _ = decode(data, "Register w-c 02-03-2026.csv", format);
    }
});
