//! Hex and SHA-256 helpers shared by the ledger, tokens, idempotency keys and Message-IDs.

pub use apsync_connector_core::digest::{Sha256Hex, hex, sha256_hex};

#[cfg(test)]
mod tests {
    #[test]
    fn hex_and_sha256() {
        assert_eq!(super::hex(&[0, 15, 255]), "000fff");
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
