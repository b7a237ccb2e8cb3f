//! File names as the folder holds them (bytes, on Linux any but `/` and NUL) and as people are
//! shown them (text). A name that is not valid UTF-8 (a provider's Windows-1252 `é` copied
//! byte for byte onto the share) is shown with each byte that is not text written `\xHH`, so the
//! oddity is visible; the bytes themselves are kept for reading and moving the file.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// The name as shown: itself when it is UTF-8, else its text with `\xHH` for each stray byte.
pub fn shown(name: &OsStr) -> String {
    let bytes = name.as_bytes();
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.to_string();
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stray_bytes_are_shown_escaped_and_text_as_it_is() {
        assert_eq!(shown(OsStr::from_bytes(b"caf\xe9 week 10.csv")), "caf\\xE9 week 10.csv");
        assert_eq!(shown(OsStr::from_bytes("café.csv".as_bytes())), "café.csv");
        assert_eq!(shown(OsStr::from_bytes(b"\xff\xfe")), "\\xFF\\xFE");
    }
}
