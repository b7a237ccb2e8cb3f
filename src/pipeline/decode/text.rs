//! Text encoding: turning a CSV or JSON file's bytes into text.

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

use crate::pipeline::error::DecodeProblem;
use crate::pipeline::format::TextEncoding;

/// Decodes a file's bytes to text, without any byte order mark.
///
/// A byte order mark always wins, even over an explicit encoding: a file that carries one says
/// what it is. `auto` then takes valid UTF-8, then asks chardetng (told the text is from a
/// `.uk` site, which tips it towards Windows-1252 for English), and falls back to
/// Windows-1252, which can decode any byte. chardetng's guess is only taken when it is a
/// Latin-script encoding: on a few bytes such as `£` and `é` it can guess a Cyrillic or DOS
/// code page, and returns to English schools are written in Latin script.
pub fn decode_text(bytes: &[u8], encoding: TextEncoding) -> Result<(String, &'static Encoding), DecodeProblem> {
    let (text, used) = match Encoding::for_bom(bytes) {
        Some((bom_encoding, bom_len)) => {
            let (text, _) = bom_encoding.decode_without_bom_handling(&bytes[bom_len..]);
            (text.into_owned(), bom_encoding)
        }
        None => match encoding {
            TextEncoding::Utf8 => match std::str::from_utf8(bytes) {
                Ok(text) => (text.to_string(), UTF_8),
                Err(e) => {
                    return Err(DecodeProblem::BadEncoding {
                        encoding: "UTF-8",
                        offset: e.valid_up_to(),
                    });
                }
            },
            TextEncoding::Windows1252 => {
                let (text, _) = WINDOWS_1252.decode_without_bom_handling(bytes);
                (text.into_owned(), WINDOWS_1252)
            }
            TextEncoding::Auto => auto(bytes),
        },
    };
    // A second byte order mark (files re-saved by tools that add one) is never content.
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    };
    Ok((text, used))
}

/// The legacy encodings of Latin-script European languages that chardetng may pick.
const LATIN_SCRIPT: [&Encoding; 7] = [
    WINDOWS_1252,
    encoding_rs::ISO_8859_15,
    encoding_rs::WINDOWS_1250,
    encoding_rs::ISO_8859_2,
    encoding_rs::WINDOWS_1254,
    encoding_rs::WINDOWS_1257,
    encoding_rs::ISO_8859_13,
];

fn auto(bytes: &[u8]) -> (String, &'static Encoding) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return (text.to_string(), UTF_8);
    }
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let guess = detector.guess(Some(b"uk"), Utf8Detection::Deny);
    if LATIN_SCRIPT.contains(&guess) {
        let (text, had_errors) = guess.decode_without_bom_handling(bytes);
        if !had_errors {
            return (text.into_owned(), guess);
        }
    }
    let (text, _) = WINDOWS_1252.decode_without_bom_handling(bytes);
    (text.into_owned(), WINDOWS_1252)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bom_then_utf8_then_windows_1252() {
        let (t, e) = decode_text(b"\xef\xbb\xbfname", TextEncoding::Auto).unwrap();
        assert_eq!((t.as_str(), e), ("name", UTF_8));
        let (t, _) = decode_text("Zoë".as_bytes(), TextEncoding::Auto).unwrap();
        assert_eq!(t, "Zoë");
        let (t, e) = decode_text(b"O\x92Brien, Zo\xeb, Siobh\xe1n", TextEncoding::Auto).unwrap();
        assert_eq!(t, "O\u{2019}Brien, Zoë, Siobhán");
        assert_eq!(e, WINDOWS_1252);
        // Too little text for statistics: chardetng alone would pick a DOS Cyrillic code page.
        let (t, _) = decode_text(b"\xa3\n\xa3\xe9", TextEncoding::Auto).unwrap();
        assert_eq!(t, "£\n£é");
    }

    #[test]
    fn explicit_encodings() {
        let (t, _) = decode_text(b"Zo\xeb", TextEncoding::Windows1252).unwrap();
        assert_eq!(t, "Zoë");
        // The BOM wins over the configured encoding, and is not content.
        let (t, _) = decode_text(b"\xef\xbb\xbfZo\xc3\xab", TextEncoding::Windows1252).unwrap();
        assert_eq!(t, "Zoë");
        let err = decode_text(b"ab\xeb", TextEncoding::Utf8).unwrap_err();
        assert_eq!(
            err,
            DecodeProblem::BadEncoding {
                encoding: "UTF-8",
                offset: 2
            }
        );
        let (t, _) = decode_text(b"\xff\xfea\x00b\x00", TextEncoding::Auto).unwrap();
        assert_eq!(t, "ab");
    }
}
