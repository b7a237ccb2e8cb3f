//! Errors with a kind that drives retries and alerting.

use std::fmt;

/// How the daemon should react to a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
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

    /// From its lower-case name, as stored with a connector run.
    pub fn parse(text: &str) -> Option<ErrorKind> {
        [
            ErrorKind::Transient,
            ErrorKind::Auth,
            ErrorKind::Config,
            ErrorKind::Permanent,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
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

/// Declares [`ErrorCode`] from one list: each variant with its documentation and its text, so the
/// text is written once.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])+ $name:ident = $text:literal,)+) => {
        /// A failure's stable code, the closed list IT can look up in the README ("Errors carry a
        /// stable code"): one per fault a connector or a connector run names. [`ErrorCode::as_str`]
        /// is the text shown in errors, logs, `connector_runs` and the ledger.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[doc = $doc])+ $name,)+
        }

        impl ErrorCode {
            /// Every code, in the README's order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)+];

            /// The code as shown, e.g. `SFTP-HOSTKEY`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => $text,)+
                }
            }
        }
    };
}

error_codes! {
    /// The SFTP server's name cannot be looked up.
    SftpDns = "SFTP-DNS",
    /// Nothing listens on the SFTP server's port.
    SftpRefused = "SFTP-REFUSED",
    /// The SFTP server cannot be reached.
    SftpConnect = "SFTP-CONNECT",
    /// The SFTP server did not answer in time.
    SftpTimeout = "SFTP-TIMEOUT",
    /// The SSH conversation failed.
    SftpSsh = "SFTP-SSH",
    /// The server's host key is not the pinned one.
    SftpHostkey = "SFTP-HOSTKEY",
    /// The private key cannot be read.
    SftpKey = "SFTP-KEY",
    /// The SFTP login was refused.
    SftpAuth = "SFTP-AUTH",
    /// The remote path does not exist.
    SftpPath = "SFTP-PATH",
    /// The account may not do this on the server.
    SftpPermission = "SFTP-PERMISSION",
    /// A file changed while it was listed or downloaded.
    SftpChanged = "SFTP-CHANGED",
    /// A file is over the provider's size limit (refused).
    SftpTooBig = "SFTP-TOO-BIG",
    /// An SFTP read or download broke off.
    SftpIo = "SFTP-IO",
    /// A file cannot be moved aside: its folder already holds too many copies of its name.
    SftpMove = "SFTP-MOVE",
    /// The server accepted the login but not SFTP.
    SftpSubsystem = "SFTP-SUBSYSTEM",
    /// The mail server's name cannot be looked up.
    ImapDns = "IMAP-DNS",
    /// Nothing listens on the mail server's port.
    ImapRefused = "IMAP-REFUSED",
    /// The mail server cannot be reached.
    ImapConnect = "IMAP-CONNECT",
    /// The mail server did not answer in time.
    ImapTimeout = "IMAP-TIMEOUT",
    /// TLS with the mail server failed, or its extra authority cannot be read.
    ImapTls = "IMAP-TLS",
    /// The login (or its OAuth2 token) was refused.
    ImapAuth = "IMAP-AUTH",
    /// The mailbox cannot be opened.
    ImapMailbox = "IMAP-MAILBOX",
    /// An IMAP command failed.
    ImapIo = "IMAP-IO",
    /// A signer's DKIM key cannot be read from DNS just now.
    ImapDkimDns = "IMAP-DKIM-DNS",
    /// Refused: the sender is not an accepted one.
    ImapSender = "IMAP-SENDER",
    /// Refused: the `From:` header is missing, repeated or unreadable.
    ImapFrom = "IMAP-FROM",
    /// Refused: the sender was not shown genuine.
    ImapUnauthenticated = "IMAP-UNAUTHENTICATED",
    /// Refused: the authentication verdict comes from a server that is not trusted.
    ImapUntrustedVerdict = "IMAP-UNTRUSTED-VERDICT",
    /// Refused: no authentication verdict from the school's mail system.
    ImapNoVerdict = "IMAP-NO-VERDICT",
    /// Refused: no DKIM signature passed for the sender's domain.
    ImapDkim = "IMAP-DKIM",
    /// Refused: the header is too large or unreadable.
    ImapHeader = "IMAP-HEADER",
    /// Refused: no wanted attachment.
    ImapNoAttachment = "IMAP-NO-ATTACHMENT",
    /// Refused: the message cannot be read as an email.
    ImapMime = "IMAP-MIME",
    /// Refused: the message or an attachment is over the size limit.
    ImapTooBig = "IMAP-TOO-BIG",
    /// Refused: the message is nested too deeply to read safely.
    ImapNested = "IMAP-NESTED",
    /// The API cannot be reached (refused, DNS or TLS).
    HttpConnect = "HTTP-CONNECT",
    /// The API did not answer in time.
    HttpTimeout = "HTTP-TIMEOUT",
    /// The API answered with an error status.
    HttpStatus = "HTTP-STATUS",
    /// The API or its token endpoint refused the credentials.
    HttpAuth = "HTTP-AUTH",
    /// A page is not the JSON expected.
    HttpJson = "HTTP-JSON",
    /// The configured URL is not a URL.
    HttpUrl = "HTTP-URL",
    /// A page is over the provider's size limit (refused).
    HttpTooBig = "HTTP-TOO-BIG",
    /// The HTTP client cannot be started.
    HttpClient = "HTTP-CLIENT",
    /// A request failed or its answer broke off.
    HttpIo = "HTTP-IO",
    /// A page's next link points to another server.
    HttpNextOrigin = "HTTP-NEXT-ORIGIN",
    /// The API answered with a redirect, which is never followed.
    HttpRedirect = "HTTP-REDIRECT",
    /// The folder cannot be read, or a file cannot be moved aside.
    FolderIo = "FOLDER-IO",
    /// A file is over the provider's size limit (refused).
    FolderTooBig = "FOLDER-TOO-BIG",
    /// A download cannot be written to the spool folder.
    Spool = "SPOOL",
    /// A secret file cannot be read, or none is configured.
    Secret = "SECRET",
    /// The connector's provider is not configured.
    Config = "CONFIG",
    /// `check --online` got no answer in time.
    Timeout = "TIMEOUT",
    /// The database refused the import.
    Store = "STORE",
    /// A return cannot be imported with the provider's format.
    Format = "FORMAT",
    /// A fetched return cannot be read back.
    Read = "READ",
    /// An item failed run after run and was set aside.
    Quarantined = "QUARANTINED",
    /// A bug in apsync stopped the run.
    Panic = "PANIC",
}

impl ErrorCode {
    /// The code whose text is `text`, if any.
    pub fn parse(text: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == text)
    }
}

/// A code equals its text, so a test or a stored row can be compared with it directly.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, text: &&str) -> bool {
        self.as_str() == *text
    }
}

impl fmt::Display for ErrorCode {
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
    /// Its stable code, e.g. `SFTP-HOSTKEY`.
    pub code: ErrorCode,
    /// What went wrong and what to do.
    pub message: String,
    /// The underlying error, if any.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl SourceError {
    /// A failure without an underlying error.
    pub fn new(kind: ErrorKind, code: ErrorCode, message: impl Into<String>) -> Self {
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
        let e = SourceError::new(ErrorKind::Config, ErrorCode::SftpHostkey, "host key not pinned");
        assert_eq!(e.to_string(), "host key not pinned");
        assert_eq!(e.code, "SFTP-HOSTKEY");
    }

    /// The codes listed under "Errors carry a stable code" in the README: every backquoted word
    /// of capitals, digits and hyphens in that paragraph.
    fn readme_codes() -> Vec<String> {
        let readme = include_str!("../../../README.md");
        let start = readme.find("Errors carry a stable code").unwrap_or(readme.len());
        let paragraph = readme[start..].split("\n\n").next().unwrap_or_default();
        paragraph
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|w| {
                !w.is_empty()
                    && w.starts_with(|c: char| c.is_ascii_uppercase())
                    && w.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
            })
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_readme_lists_exactly_the_error_codes() {
        let listed = readme_codes();
        let codes: Vec<String> = ErrorCode::ALL.iter().map(|c| c.as_str().to_string()).collect();
        assert_eq!(
            listed, codes,
            "README.md's list of error codes must be ErrorCode::ALL, in order"
        );
    }

    /// Every `.rs` file under `dir`.
    fn sources(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }

    /// A connector names a code by its variant, never by its text, so no code exists outside the
    /// enum (and the README).
    #[test]
    fn connectors_write_no_code_as_text() {
        let connectors = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        sources(&connectors, &mut files);
        files.retain(|f| !f.ends_with("core/src/error.rs") && !f.components().any(|c| c.as_os_str() == "target"));
        assert!(files.len() > 20, "{files:?}");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for code in ErrorCode::ALL {
                let quoted = format!("\"{code}\"");
                assert!(
                    !text.contains(&quoted),
                    "{}: write ErrorCode::{code:?} instead of {quoted}",
                    file.display()
                );
            }
        }
    }

    #[test]
    fn codes_are_distinct_and_read_back() {
        for (i, code) in ErrorCode::ALL.iter().enumerate() {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
            assert_eq!(code.to_string(), code.as_str());
            assert!(
                ErrorCode::ALL[..i].iter().all(|c| c.as_str() != code.as_str()),
                "{code} twice"
            );
        }
        assert_eq!(ErrorCode::parse("SFTP-NOPE"), None);
    }
}
