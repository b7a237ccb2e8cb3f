//! Random tables written as CSV in every dialect we accept read back as the same cells.

use proptest::prelude::*;

use super::format;
use crate::pipeline::decode_table;

fn cells(pattern: &'static str, min_width: usize) -> impl Strategy<Value = Vec<Vec<String>>> {
    (min_width..6usize).prop_flat_map(move |width| {
        let cell = proptest::string::string_regex(pattern).unwrap();
        prop::collection::vec(prop::collection::vec(cell, width), 1..8)
    })
}

#[derive(Debug, Clone)]
struct Dialect {
    delimiter: u8,
    quote: u8,
    crlf: bool,
    bom: bool,
    windows_1252: bool,
    auto: bool,
}

fn dialect() -> impl Strategy<Value = Dialect> {
    (
        prop::sample::select(vec![b',', b';', b'\t', b'|']),
        0..3u8,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(delimiter, quote, crlf, bom, windows_1252, auto)| Dialect {
            delimiter,
            quote,
            crlf,
            bom,
            windows_1252,
            auto,
        })
}

fn write(rows: &[Vec<String>], d: &Dialect) -> Vec<u8> {
    let quote = match d.quote {
        0 => csv::QuoteStyle::Necessary,
        1 => csv::QuoteStyle::Always,
        _ => csv::QuoteStyle::NonNumeric,
    };
    let terminator = if d.crlf {
        csv::Terminator::CRLF
    } else {
        csv::Terminator::Any(b'\n')
    };
    let mut writer = csv::WriterBuilder::new()
        .delimiter(d.delimiter)
        .quote_style(quote)
        .terminator(terminator)
        .flexible(true)
        .from_writer(Vec::new());
    for row in rows {
        writer.write_record(row).unwrap();
    }
    let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
    if d.windows_1252 {
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
        assert!(!unmappable);
        bytes.into_owned()
    } else if d.bom {
        [&b"\xef\xbb\xbf"[..], text.as_bytes()].concat()
    } else {
        text.into_bytes()
    }
}

/// What the table should hold: trimmed cells, no trailing blanks, no blank rows.
fn expected(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| {
            let mut cells: Vec<String> = row.iter().map(|c| c.trim().to_string()).collect();
            while cells.last().is_some_and(String::is_empty) {
                cells.pop();
            }
            cells
        })
        .filter(|row| !row.is_empty())
        .collect()
}

fn read(bytes: &[u8], d: &Dialect, give_delimiter: bool) -> Vec<Vec<String>> {
    let delimiter = match d.delimiter {
        b'\t' => "\\t".to_string(),
        other => (other as char).to_string(),
    };
    let encoding = match (d.auto, d.windows_1252) {
        (true, _) => "auto",
        (false, true) => "windows-1252",
        (false, false) => "utf-8",
    };
    let delimiter_line = if give_delimiter {
        format!("delimiter = \"{delimiter}\"")
    } else {
        String::new()
    };
    let f = format(&format!(
        r#"
        kind = "csv"
        encoding = "{encoding}"
        {delimiter_line}
        [identity]
        upn = "UPN"
        [layout]
        style = "long"
        date = "Date"
        mark = "Mark"
        [marks]
        codes = "dfe"
        "#
    ));
    let table = decode_table(bytes, "random.csv", &f).unwrap();
    table
        .rows
        .iter()
        .map(|r| r.cells.iter().map(|c| c.as_text().into_owned()).collect())
        .collect()
}

/// Random bytes in Windows-1252 can be valid UTF-8 too (`É’` is `C9 92`, UTF-8 for `ɒ`), and
/// a few random accented bytes are no evidence of any encoding: so random text is read with its
/// encoding named, or as UTF-8 when detected; detection of Windows-1252 is checked on real
/// words below.
fn explicit_unless_utf8(mut d: Dialect) -> Dialect {
    d.auto &= !d.windows_1252;
    d
}

/// Words as they appear in returns, with the accents and symbols a UK provider writes.
const WORDS: &[&str] = &[
    "O’Brien, Zoë",
    "Kelly, Siobhán",
    "Renée",
    "café visit",
    "£5 lunch",
    "Ms Müller",
    "Ünal Çelik",
    "Absent – ill",
    "Late",
    "P",
    "02/03/2026",
    "“Nan”",
    "Señor",
    "naïve",
    "Begum, Amira",
];

proptest! {
    #[test]
    fn csv_dialects_round_trip(rows in cells("[a-zA-Z0-9 éÉ’£'\"\\n\\r,;|\\t-]{0,8}", 1), d in dialect()) {
        let d = explicit_unless_utf8(d);
        let bytes = write(&rows, &d);
        prop_assert_eq!(read(&bytes, &d, true), expected(&rows));
    }

    #[test]
    fn sniffed_delimiters_round_trip(rows in cells("[a-zA-Z0-9éÉ’£'\"-][a-zA-Z0-9 éÉ’£'\"\\n-]{0,7}", 2), d in dialect()) {
        let d = explicit_unless_utf8(d);
        let bytes = write(&rows, &d);
        prop_assert_eq!(read(&bytes, &d, false), expected(&rows));
    }

    #[test]
    fn windows_1252_is_detected_in_real_words(
        rows in prop::collection::vec(prop::collection::vec(prop::sample::select(WORDS), 2..6), 1..6),
        d in dialect(),
    ) {
        let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|w| (*w).to_string()).collect()).collect();
        let d = Dialect { windows_1252: true, auto: true, ..d };
        let bytes = write(&rows, &d);
        // The delimiter is given: these words hold commas, which no sniffer can tell apart.
        prop_assert_eq!(read(&bytes, &d, true), expected(&rows));
    }
}
