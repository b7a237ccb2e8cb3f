//! Errors with a kind that drives retries and alerting.

use std::fmt;

/// How the daemon should react to a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Likely to pass on its own (network, timeouts, a busy server): retry with backoff.
    Transient,
    /// Credentials refused: retry slowly and tell IT.
    Auth,
    /// The configuration is wrong (unknown host key, missing folder): tell IT; retrying won't help.
    Config,
    /// This item can never succeed (unreadable file): record it and move on.
    Permanent,
}

impl ErrorKind {
    /// Lower-case name used in logs, metrics and the `status` command.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Transient => "transient",
            ErrorKind::Auth => "auth",
            ErrorKind::Config => "config",
            ErrorKind::Permanent => "permanent",
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Transient | ErrorKind::Auth)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A connector failure, worded for a school's IT person.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SourceError {
    /// How to react.
    pub kind: ErrorKind,
    /// A stable code, e.g. `SFTP-HOSTKEY`, listed in the README.
    pub code: &'static str,
    /// What went wrong and what to do.
    pub message: String,
    /// The underlying error, if any.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl SourceError {
    /// A failure without an underlying error.
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        SourceError {
            kind,
            code,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_and_auth_failures_are_retried() {
        assert!(ErrorKind::Transient.is_retryable());
        assert!(ErrorKind::Auth.is_retryable());
        assert!(!ErrorKind::Config.is_retryable());
        assert!(!ErrorKind::Permanent.is_retryable());
        let e = SourceError::new(ErrorKind::Config, "SFTP-HOSTKEY", "host key not pinned");
        assert_eq!(e.to_string(), "host key not pinned");
    }
}
