//! SHA-256 as lower-case hex: the ledger's identity of a document's bytes (the same whether the
//! bytes are whole in memory or read a part at a time), tokens, idempotency keys and Message-IDs.

use sha2::{Digest, Sha256};

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// The SHA-256 of `bytes`, as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// A SHA-256 taken a part at a time (a file too big to hold), with the bytes counted.
#[derive(Debug, Default, Clone)]
pub struct Sha256Hex {
    hasher: Sha256,
    size: u64,
}

impl Sha256Hex {
    /// Adds the next part.
    pub fn update(&mut self, part: &[u8]) {
        self.hasher.update(part);
        self.size += part.len() as u64;
    }

    /// How many bytes it covers so far.
    pub fn len(&self) -> u64 {
        self.size
    }

    /// Whether no byte was added yet.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The digest as lower-case hex, and how many bytes it covers.
    pub fn finish(self) -> (String, u64) {
        (hex(&self.hasher.finalize()), self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_sha256() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parts_give_the_digest_of_the_whole() {
        let mut h = Sha256Hex::default();
        h.update(b"a");
        h.update(b"bc");
        assert_eq!(
            h.finish(),
            (
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_string(),
                3
            )
        );
    }
}
