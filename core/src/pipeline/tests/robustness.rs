//! Arbitrary and damaged files never panic: they decode or are refused.

use proptest::prelude::*;

use super::{format, xlsx};
use crate::pipeline::decode;

const FORMATS: [&str; 5] = [
    include_str!("../../../../config/formats/bright-futures.toml"),
    include_str!("../../../../config/formats/skills-hub.toml"),
    include_str!("../../../../config/formats/riverside-farm.toml"),
    include_str!("../../../../config/formats/boxing-academy.toml"),
    include_str!("../../../../config/formats/northstar.toml"),
];

const SAMPLES: [&[u8]; 4] = [
    include_bytes!("../../../../samples/returns/riverside-farm/riverside_2026-03-05.xlsx"),
    include_bytes!("../../../../samples/returns/skills-hub/Skills Hub Register w-c 02-03-2026.csv"),
    include_bytes!("../../../../samples/returns/boxing-academy/attendance-week-10.csv"),
    include_bytes!("../../../../samples/returns/northstar/page-2.json"),
];

/// Pieces of sheet XML, well-formed or not, with out-of-range references and bad types.
const FRAGMENTS: &[&str] = &[
    r#"<row r="1">"#,
    r#"<row r="1048576">"#,
    r#"<row r="0">"#,
    r#"<row>"#,
    "</row>",
    r#"<c r="A1" t="inlineStr"><is><t>Student Name</t></is></c>"#,
    r#"<c r="C1" t="inlineStr"><is><t>Date</t></is></c>"#,
    r#"<c r="D1" t="inlineStr"><is><t>AM</t></is></c>"#,
    r#"<c r="E2" t="s"><v>99</v></c>"#,
    r#"<c r="XFD2"><v>1</v></c>"#,
    r#"<c r="B2" s="1"><v>-5</v></c>"#,
    r#"<c r="C2" s="1"><v>1e308</v></c>"#,
    r#"<c r="C3" s="7"><v>46083</v></c>"#,
    r#"<c r="D2" t="b"><v>2</v></c>"#,
    r#"<c r="D3" t="e"><v>#N/A</v></c>"#,
    r#"<c r="A2" t="d"><v>2026-13-45</v></c>"#,
    r#"<c r="ZZZZZ9"><v>1</v></c>"#,
    "<c>",
    "</c>",
    "<v>",
    "</v>",
    "&amp;",
    "&bogus;",
    "<![CDATA[x]]>",
    r#"<c r="A3" t="inlineStr"><is><t>Kacper Nowak</t></is></c>"#,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn damaged_sheet_xml_never_panics(pieces in prop::collection::vec(prop::sample::select(FRAGMENTS), 0..24)) {
        let book = xlsx(&[("Attendance", &pieces.concat())]);
        let _ = decode(&book, "r.xlsx", &format(FORMATS[2]));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        for text in FORMATS {
            let _ = decode(&bytes, "Register w-c 02-03-2026.csv", &format(text));
        }
    }

    #[test]
    fn damaged_samples_never_panic(
        sample in 0..SAMPLES.len(),
        damage in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = SAMPLES[sample].to_vec();
        for (at, value) in damage {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        for text in FORMATS {
            let _ = decode(&bytes, "Register w-c 02-03-2026.csv", &format(text));
        }
    }
}
