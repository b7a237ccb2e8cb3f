//! A first pass over a file's bytes, as they stream past: its digest and size, its first bytes
//! (what kind of file it looks like), and the text encoding to read it in. The file is then
//! read a second time, a window of rows at a time, so no pass holds it whole.

use std::io::Read;

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use sha2::{Digest as _, Sha256};

use crate::pipeline::error::DecodeProblem;
use crate::pipeline::format::TextEncoding;

/// How many first bytes are kept: enough to tell the kind of file and to sniff a delimiter.
pub const HEAD_BYTES: usize = 64 * 1024;

/// What the first pass found.
#[derive(Debug, Clone)]
pub struct Survey {
    /// The SHA-256 of the bytes, in lowercase hex.
    pub sha256: String,
    /// The number of bytes.
    pub size: u64,
    /// The first [`HEAD_BYTES`] bytes.
    pub head: Vec<u8>,
    /// The encoding the text is in, or why it cannot be read as text in the format's encoding.
    pub encoding: Result<&'static Encoding, DecodeProblem>,
    /// The length of the byte order mark the file starts with (0 without one).
    pub bom_len: usize,
    /// Whether the bytes are valid UTF-8 (so UTF-8 text can be read as it is, not decoded).
    pub valid_utf8: bool,
}

/// Reads every byte once: digest, size, head, and the encoding as [`TextEncoding`] says to
/// choose it (see [`choose_encoding`]); fails only when the bytes cannot be read. A file that is not UTF-8 (rare) is read a second time
/// for chardetng's guess, so UTF-8 files do not pay for it.
pub fn survey<R: Read>(open: impl Fn() -> std::io::Result<R>, encoding: TextEncoding) -> std::io::Result<Survey> {
    let mut sha = Sha256::new();
    let mut head = Vec::new();
    let mut size = 0u64;
    let mut utf8 = Utf8Check::default();
    each_chunk(open()?, |chunk| {
        sha.update(chunk);
        if head.len() < HEAD_BYTES {
            let take = (HEAD_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        size += chunk.len() as u64;
        utf8.feed(chunk);
    })?;
    let bom_len = Encoding::for_bom(&head).map_or(0, |(_, len)| len);
    let valid_utf8 = utf8.finish();
    let mut guessed = None;
    if bom_len == 0 && encoding == TextEncoding::Auto && valid_utf8.is_err() {
        let mut seen = [false; 256];
        let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
        each_chunk(open()?, |chunk| {
            for b in chunk {
                seen[usize::from(*b)] = true;
            }
            detector.feed(chunk, false);
        })?;
        detector.feed(&[], true);
        let guess = detector.guess(Some(b"uk"), Utf8Detection::Deny);
        guessed = Some((guess, decodes_cleanly(guess, &seen)));
    }
    let chosen = choose_encoding(&head, encoding, valid_utf8, || guessed.unwrap_or((WINDOWS_1252, true)));
    Ok(Survey {
        sha256: crate::sha256::hex(&sha.finalize()),
        size,
        head,
        encoding: chosen.map(|(encoding, _)| encoding),
        bom_len,
        valid_utf8: valid_utf8.is_ok(),
    })
}

fn each_chunk(mut reader: impl Read, mut f: impl FnMut(&[u8])) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => f(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The encoding to read text in, and the length of the byte order mark to skip.
///
/// A byte order mark always wins, even over an explicit encoding: a file that carries one says
/// what it is. `auto` then takes valid UTF-8, then chardetng's guess (told the text is from a
/// `.uk` site, which tips it towards Windows-1252 for English) when it is a Latin-script
/// encoding that decodes every byte, and falls back to Windows-1252, which decodes any byte.
/// On a few bytes such as `£` and `é` chardetng can guess a Cyrillic or DOS code page, and
/// returns to English schools are written in Latin script.
pub fn choose_encoding(
    head: &[u8],
    encoding: TextEncoding,
    utf8: Result<(), usize>,
    guess: impl FnOnce() -> (&'static Encoding, bool),
) -> Result<(&'static Encoding, usize), DecodeProblem> {
    if let Some((bom_encoding, bom_len)) = Encoding::for_bom(head) {
        return Ok((bom_encoding, bom_len));
    }
    match encoding {
        TextEncoding::Utf8 => match utf8 {
            Ok(()) => Ok((UTF_8, 0)),
            Err(offset) => Err(DecodeProblem::BadEncoding {
                encoding: "UTF-8",
                offset,
            }),
        },
        TextEncoding::Windows1252 => Ok((WINDOWS_1252, 0)),
        TextEncoding::Auto if utf8.is_ok() => Ok((UTF_8, 0)),
        TextEncoding::Auto => {
            let (guess, clean) = guess();
            if LATIN_SCRIPT.contains(&guess) && clean {
                Ok((guess, 0))
            } else {
                Ok((WINDOWS_1252, 0))
            }
        }
    }
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

/// Whether a single-byte encoding maps every byte value that occurs (a byte it has no
/// character for would come out as U+FFFD).
fn decodes_cleanly(encoding: &'static Encoding, seen: &[bool; 256]) -> bool {
    (0..=255u8).filter(|b| seen[usize::from(*b)]).all(|b| {
        let (_, had_errors) = encoding.decode_without_bom_handling(&[b]);
        !had_errors
    })
}

/// UTF-8 validity over chunks that may split a character.
#[derive(Default)]
struct Utf8Check {
    carry: Vec<u8>,
    offset: usize,
    invalid_at: Option<usize>,
}

impl Utf8Check {
    fn feed(&mut self, chunk: &[u8]) {
        if self.invalid_at.is_some() {
            return;
        }
        let mut data = std::mem::take(&mut self.carry);
        let start = self.offset - data.len();
        data.extend_from_slice(chunk);
        self.offset += chunk.len();
        match std::str::from_utf8(&data) {
            Ok(_) => {}
            // A character cut at the end of the chunk: keep its bytes for the next one.
            Err(e) if e.error_len().is_none() => self.carry = data[e.valid_up_to()..].to_vec(),
            Err(e) => self.invalid_at = Some(start + e.valid_up_to()),
        }
    }

    /// `Err(offset)` of the first invalid byte.
    fn finish(self) -> Result<(), usize> {
        match (self.invalid_at, self.carry.is_empty()) {
            (Some(at), _) => Err(at),
            (None, true) => Ok(()),
            (None, false) => Err(self.offset - self.carry.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn check(bytes: &[u8], chunk: usize) -> Result<(), usize> {
        let mut c = Utf8Check::default();
        for part in bytes.chunks(chunk) {
            c.feed(part);
        }
        c.finish()
    }

    #[test]
    fn utf8_is_checked_across_chunk_boundaries() {
        let text = "Zoë £5 — Siobhán".as_bytes();
        for chunk in 1..text.len() {
            assert_eq!(check(text, chunk), Ok(()), "chunk {chunk}");
        }
        let bad = b"ab\xebcd";
        for chunk in 1..bad.len() {
            assert_eq!(check(bad, chunk), Err(2), "chunk {chunk}");
        }
        // Cut short in the middle of a character.
        assert_eq!(check(&"aë".as_bytes()[..2], 1), Err(1));
    }
}
