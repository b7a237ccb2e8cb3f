//! Reaching a server over TCP: the one reading of why it failed, for every connector that opens
//! its own connection (SFTP, IMAP). Each names the failure with its own codes.

use std::io;

use crate::{ErrorCode, ErrorKind, SourceError};

/// The codes a transport gives the failures of reaching its server; all of them are transient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReachCodes {
    /// The server's name cannot be looked up (DNS).
    pub dns: ErrorCode,
    /// Nothing listens on the port: the connection was refused.
    pub refused: ErrorCode,
    /// Any other failure to connect (unreachable network, reset, firewall).
    pub connect: ErrorCode,
}

impl ReachCodes {
    /// Looking up `host` failed.
    pub fn lookup_failed(&self, host: &str, e: &io::Error) -> SourceError {
        SourceError::new(
            ErrorKind::Transient,
            self.dns,
            format!("cannot find the address of `{host}` (DNS): {e}; check the host name"),
        )
    }

    /// Connecting to `at` (`host:port`) failed: refused when nothing listens there, else any
    /// other connect failure.
    pub fn connect_failed(&self, at: &str, e: &io::Error) -> SourceError {
        let (code, hint) = match e.kind() {
            io::ErrorKind::ConnectionRefused => (
                self.refused,
                "nothing listens there: check the port and that the server is running",
            ),
            _ => (self.connect, "check the network path to the server"),
        };
        SourceError::new(
            ErrorKind::Transient,
            code,
            format!("cannot connect to {at}: {e}; {hint}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODES: ReachCodes = ReachCodes {
        dns: ErrorCode::SftpDns,
        refused: ErrorCode::SftpRefused,
        connect: ErrorCode::SftpConnect,
    };

    #[test]
    fn a_refusal_is_told_from_other_connect_failures() {
        let refused = CODES.connect_failed("h:22", &io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(
            (refused.code, refused.kind),
            (ErrorCode::SftpRefused, ErrorKind::Transient)
        );
        assert!(refused.message.contains("nothing listens there"), "{refused}");
        let reset = CODES.connect_failed("h:22", &io::Error::from(io::ErrorKind::ConnectionReset));
        assert_eq!((reset.code, reset.kind), (ErrorCode::SftpConnect, ErrorKind::Transient));
        assert!(reset.message.starts_with("cannot connect to h:22: "), "{reset}");
        let dns = CODES.lookup_failed("nowhere.invalid", &io::Error::other("no such host"));
        assert_eq!(dns.code, ErrorCode::SftpDns.as_str());
        assert!(dns.message.contains("`nowhere.invalid` (DNS): no such host"), "{dns}");
    }
}
