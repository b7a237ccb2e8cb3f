//! A secret value handed to a connector: read by the daemon from a `*_file` key or a systemd
//! credential, and never printed.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A secret value (a password, token or private key). `Debug` and `Display` print `[REDACTED]`.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a value read from a trusted place.
    pub fn new(value: String) -> Self {
        Secret(SecretString::from(value))
    }

    /// The value, for handing to a client library at the moment of use.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2".into());
        assert_eq!(format!("{s:?} {s}"), "[REDACTED] [REDACTED]");
        assert_eq!(s.expose(), "hunter2");
    }
}
