//! Connecting: TCP, TLS (implicit or STARTTLS, verified against the system's authorities plus
//! an optional extra CA file), and login by password or XOAUTH2; each failure named precisely.

use std::sync::Arc;
use std::time::Duration;

use apsync_connector_core::net::ReachCodes;
use apsync_connector_core::{ErrorCode, ErrorKind, Secret, SourceError};
use async_imap::{Client, Session};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::Security;
use crate::nesting::NestingGuard;

/// The codes of failures to reach the mail server.
const REACH: ReachCodes = ReachCodes {
    dns: ErrorCode::ImapDns,
    refused: ErrorCode::ImapRefused,
    connect: ErrorCode::ImapConnect,
};

/// The byte stream under IMAP, TLS or (loopback only) not.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Io for T {}

/// A logged-in IMAP session.
pub(crate) type ImapSession = Session<Box<dyn Io>>;

/// Where and how to connect.
pub(crate) struct Endpoint {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub extra_roots: Vec<CertificateDer<'static>>,
    pub timeout: Duration,
    /// The deepest response the [`NestingGuard`] lets through.
    pub max_nesting: usize,
}

/// How to log in, with the secret already read (and the OAuth2 token already fetched).
pub(crate) enum Login {
    Password(String, Secret),
    Bearer(String, Secret),
}

/// The stream with every response's nesting checked before async-imap parses it (see
/// [`NestingGuard`]).
fn guarded(io: Box<dyn Io>, max_nesting: usize) -> Box<dyn Io> {
    Box::new(NestingGuard::new(io, max_nesting))
}

pub(crate) fn fail(kind: ErrorKind, code: ErrorCode, message: String) -> SourceError {
    SourceError::new(kind, code, message)
}

/// An IMAP step that failed on the account `at` (`user@host:port`): `IMAP-IO`, transient, saying
/// what could not be done (`what`, e.g. "search the mailbox") and why.
pub(crate) fn io_error(at: &str, what: &str, e: impl std::fmt::Display) -> SourceError {
    fail(
        ErrorKind::Transient,
        ErrorCode::ImapIo,
        format!("{at}: cannot {what}: {e}"),
    )
}

/// Why a `ca_file` gives no certificate authority.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CaFileError {
    /// It is PEM without a certificate.
    #[error("no certificate in it")]
    Empty,
    /// It is not PEM.
    #[error("{0}")]
    Pem(#[from] rustls::pki_types::pem::Error),
}

/// Reads extra certificate authorities from PEM text.
pub(crate) fn parse_roots(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, CaFileError> {
    let roots = CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>()?;
    if roots.is_empty() {
        return Err(CaFileError::Empty);
    }
    Ok(roots)
}

impl Endpoint {
    fn at(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Runs `f` within the timeout, naming what was being done if it runs out.
    pub async fn within<T>(&self, what: &str, f: impl Future<Output = T>) -> Result<T, SourceError> {
        tokio::time::timeout(self.timeout, f).await.map_err(|_| {
            fail(
                ErrorKind::Transient,
                ErrorCode::ImapTimeout,
                format!(
                    "{}: no answer within {} s while {what}",
                    self.at(),
                    self.timeout.as_secs()
                ),
            )
        })
    }

    /// Runs an IMAP command within the timeout (`waiting` names it if the time runs out); its
    /// failure is an [`io_error`] on `at` saying what could not be done.
    pub async fn command<T, E: std::fmt::Display>(
        &self,
        at: &str,
        waiting: &str,
        what: &str,
        f: impl Future<Output = Result<T, E>>,
    ) -> Result<T, SourceError> {
        self.within(waiting, f).await?.map_err(|e| io_error(at, what, e))
    }

    async fn tcp(&self) -> Result<tokio::net::TcpStream, SourceError> {
        let addrs: Vec<_> = self
            .within(
                "looking up the name",
                tokio::net::lookup_host((self.host.as_str(), self.port)),
            )
            .await?
            .map_err(|e| REACH.lookup_failed(&self.host, &e))?
            .collect();
        self.within("connecting", tokio::net::TcpStream::connect(&addrs[..]))
            .await?
            .map_err(|e| REACH.connect_failed(&self.at(), &e))
    }

    async fn tls<S: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug + 'static>(
        &self,
        stream: S,
    ) -> Result<Box<dyn Io>, SourceError> {
        let tls_fail = |e: String| {
            fail(
                ErrorKind::Config,
                ErrorCode::ImapTls,
                format!(
                    "TLS with {} failed: {e}; check the server's certificate is valid for `{}` (or name its authority in ca_file)",
                    self.at(),
                    self.host
                ),
            )
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier =
            rustls_platform_verifier::Verifier::new_with_extra_roots(self.extra_roots.clone(), provider.clone())
                .map_err(|e| tls_fail(e.to_string()))?;
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_fail(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        let name = ServerName::try_from(self.host.clone()).map_err(|e| tls_fail(e.to_string()))?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let stream = self
            .within("starting TLS", connector.connect(name, stream))
            .await?
            .map_err(|e| tls_fail(e.to_string()))?;
        Ok(Box::new(stream))
    }

    /// Connects, secures, reads the greeting and logs in.
    pub async fn open(&self, login: &Login) -> Result<ImapSession, SourceError> {
        let tcp = self.tcp().await?;
        let io_fail = |e: &dyn std::fmt::Display| {
            fail(
                ErrorKind::Transient,
                ErrorCode::ImapIo,
                format!(
                    "{}: the IMAP conversation failed: {e}; check this is an IMAP server and the security setting",
                    self.at()
                ),
            )
        };
        let mut client = match self.security {
            Security::Implicit => Client::new(guarded(self.tls(tcp).await?, self.max_nesting)),
            Security::None => Client::new(guarded(Box::new(tcp), self.max_nesting)),
            Security::Starttls => {
                let mut plain = Client::new(tcp);
                self.within("reading the greeting", plain.read_response())
                    .await?
                    .map_err(|e| io_fail(&e))?;
                self.within("asking for STARTTLS", plain.run_command_and_check_ok("STARTTLS", None))
                    .await?
                    .map_err(|e| {
                        fail(
                            ErrorKind::Config,
                            ErrorCode::ImapTls,
                            format!(
                                "{} does not offer STARTTLS ({e}); try security = \"implicit\" on port 993",
                                self.at()
                            ),
                        )
                    })?;
                // The plain greeting and STARTTLS answer are short and end before TLS; the guard
                // goes on the TLS stream (on the plain one it would scan ciphertext).
                Client::new(guarded(self.tls(plain.into_inner()).await?, self.max_nesting))
            }
        };
        if self.security != Security::Starttls {
            self.within("reading the greeting", client.read_response())
                .await?
                .map_err(|e| io_fail(&e))?;
        }
        let (user, result) = match login {
            Login::Password(user, password) => (
                user,
                self.within("logging in", client.login(user, password.expose())).await?,
            ),
            Login::Bearer(user, token) => {
                let auth = XOAuth2(format!("user={user}\x01auth=Bearer {}\x01\x01", token.expose()));
                (
                    user,
                    self.within("logging in", client.authenticate("XOAUTH2", auth)).await?,
                )
            }
        };
        result.map_err(|(e, _)| {
            fail(
                ErrorKind::Auth,
                ErrorCode::ImapAuth,
                format!(
                    "{} refused the login of `{user}`: {e}; check the account and its password or OAuth2 grant",
                    self.at()
                ),
            )
        })
    }
}

/// The XOAUTH2 SASL response (Microsoft 365, Google Workspace).
struct XOAuth2(String);

impl async_imap::Authenticator for XOAuth2 {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        // A second challenge carries the server's error; answering empty ends the exchange.
        std::mem::take(&mut self.0)
    }
}
