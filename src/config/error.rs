//! Configuration errors: each names the file, the key and what is expected.

use std::fmt;

/// One mistake in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The key, as a dotted path (`provider[2].present_code`), or empty for the file itself.
    pub key: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl ConfigError {
    /// A mistake at `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Every mistake found in one configuration file, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    /// The file that was read.
    pub file: String,
    /// The mistakes, in the order found.
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        let plural = if n == 1 { "problem" } else { "problems" };
        writeln!(f, "{n} {plural} in the configuration {}:", self.file)?;
        for e in &self.errors {
            if e.key.is_empty() {
                writeln!(f, "  - {}", e.message)?;
            } else {
                writeln!(f, "  - `{}`: {}", e.key, e.message)?;
            }
        }
        let them = if n == 1 { "it" } else { "them" };
        write!(f, "Fix {them} and run `apsync check` again.")
    }
}
