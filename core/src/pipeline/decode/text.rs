//! Text encoding: turning a CSV or JSON file's bytes into text.

use std::io::Read;

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Decoder, Encoding, UTF_8};

use super::survey::choose_encoding;
use crate::pipeline::error::DecodeProblem;
use crate::pipeline::format::TextEncoding;

/// Decodes a whole file's bytes to text, without any byte order mark, choosing the encoding as
/// [`choose_encoding`] says.
pub fn decode_text(bytes: &[u8], encoding: TextEncoding) -> Result<(String, &'static Encoding), DecodeProblem> {
    let utf8 = std::str::from_utf8(bytes).map(|_| ()).map_err(|e| e.valid_up_to());
    let (used, bom_len) = choose_encoding(bytes, encoding, utf8, || {
        let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
        detector.feed(bytes, true);
        let guess = detector.guess(Some(b"uk"), Utf8Detection::Deny);
        let (_, had_errors) = guess.decode_without_bom_handling(bytes);
        (guess, !had_errors)
    })?;
    let (text, _) = used.decode_without_bom_handling(&bytes[bom_len..]);
    // A second byte order mark (files re-saved by tools that add one) is never content.
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text.into_owned(),
    };
    Ok((text, used))
}

/// Streams a file's text as UTF-8: as it is when it is UTF-8 already, else decoded from its
/// encoding; without the byte order mark (or a second one, which is never content either).
pub struct TextReader<R> {
    inner: R,
    /// `None` when the bytes are valid UTF-8 and pass through.
    decoder: Option<Decoder>,
    /// Byte order mark bytes still to drop from the input.
    skip: usize,
    input: Vec<u8>,
    input_at: usize,
    input_end: usize,
    eof: bool,
    output: Vec<u8>,
    output_at: usize,
    output_end: usize,
    at_start: bool,
    done: bool,
}

const TEXT_CHUNK: usize = 32 * 1024;

impl<R: Read> TextReader<R> {
    /// Reads `inner` in `encoding`, dropping `bom_len` bytes first; `valid_utf8` lets UTF-8
    /// through without decoding.
    pub fn new(inner: R, encoding: &'static Encoding, bom_len: usize, valid_utf8: bool) -> Self {
        let decoder = (encoding != UTF_8 || !valid_utf8).then(|| encoding.new_decoder_without_bom_handling());
        let output_len = decoder
            .as_ref()
            .and_then(|d| d.max_utf8_buffer_length(TEXT_CHUNK))
            .unwrap_or(TEXT_CHUNK)
            .max(TEXT_CHUNK);
        TextReader {
            inner,
            decoder,
            skip: bom_len,
            input: vec![0; TEXT_CHUNK],
            input_at: 0,
            input_end: 0,
            eof: false,
            output: vec![0; output_len],
            output_at: 0,
            output_end: 0,
            at_start: true,
            done: false,
        }
    }

    fn fill(&mut self) -> std::io::Result<()> {
        if self.input_at == self.input_end && !self.eof {
            let n = loop {
                match self.inner.read(&mut self.input) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            };
            self.eof = n == 0;
            let skipped = self.skip.min(n);
            self.skip -= skipped;
            self.input_at = skipped;
            self.input_end = n;
        }
        let input = &self.input[self.input_at..self.input_end];
        match &mut self.decoder {
            None => {
                self.output[..input.len()].copy_from_slice(input);
                self.output_end = input.len();
                self.input_at = self.input_end;
                self.done = self.eof;
            }
            Some(decoder) => {
                let (result, read, written, _) = decoder.decode_to_utf8(input, &mut self.output, self.eof);
                self.input_at += read;
                self.output_end = written;
                self.done = self.eof && result == encoding_rs::CoderResult::InputEmpty;
            }
        }
        self.output_at = 0;
        if self.at_start && self.output_end > 0 {
            self.at_start = false;
            if self.output[..self.output_end].starts_with("\u{feff}".as_bytes()) {
                self.output_at = 3;
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for TextReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.output_at == self.output_end {
            if self.done {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = buf.len().min(self.output_end - self.output_at);
        buf[..n].copy_from_slice(&self.output[self.output_at..self.output_at + n]);
        self.output_at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use encoding_rs::WINDOWS_1252;

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

    #[test]
    fn the_reader_streams_what_decode_text_returns() {
        let files: [&[u8]; 5] = [
            "Zoë,£5\r\nSiobhán".as_bytes(),
            b"\xef\xbb\xbf\xef\xbb\xbfname,x",
            b"O\x92Brien, Zo\xeb",
            b"\xff\xfea\x00b\x00",
            b"",
        ];
        for bytes in files {
            let (text, encoding) = decode_text(bytes, TextEncoding::Auto).unwrap();
            let bom_len = Encoding::for_bom(bytes).map_or(0, |(_, n)| n);
            let valid = std::str::from_utf8(bytes).is_ok();
            // One byte at a time, so every boundary is crossed.
            let mut reader = TextReader::new(std::io::Cursor::new(bytes), encoding, bom_len, valid);
            let mut out = Vec::new();
            let mut byte = [0u8; 1];
            while reader.read(&mut byte).unwrap() == 1 {
                out.push(byte[0]);
            }
            assert_eq!(String::from_utf8(out).unwrap(), text, "{bytes:?}");
        }
    }
}
