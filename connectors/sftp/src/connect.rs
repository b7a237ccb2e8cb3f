//! Connecting and logging in, with the host key pinned and each failure named precisely.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use apsync_connector_core::net::ReachCodes;
use apsync_connector_core::{ErrorCode, ErrorKind, Secret, SourceError};
use russh::client;
use russh::keys::{PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh_sftp::client::SftpSession;
use russh_sftp::protocol::StatusCode;

/// The codes of failures to reach the SFTP server.
const REACH: ReachCodes = ReachCodes {
    dns: ErrorCode::SftpDns,
    refused: ErrorCode::SftpRefused,
    connect: ErrorCode::SftpConnect,
};

/// Where and how to log in.
pub(crate) struct Target {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub host_key: Option<String>,
    pub key: Option<Secret>,
    pub passphrase: Option<Secret>,
    pub password: Option<Secret>,
    pub timeout: Duration,
}

/// An open SFTP session; the SSH handle is kept so the connection lives as long as the session.
pub(crate) struct Connection {
    pub sftp: SftpSession,
    handle: client::Handle<Pinned>,
}

impl Connection {
    /// Closes politely; errors are irrelevant at that point.
    pub async fn close(self) {
        let _ = self.sftp.close().await;
        let _ = self.handle.disconnect(russh::Disconnect::ByApplication, "", "en").await;
    }
}

/// A key's SHA256 fingerprint as `ssh-keygen -l` prints it (`SHA256:...`), which is what a
/// provider reads out over the phone.
fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(russh::keys::HashAlg::Sha256).to_string()
}

/// Parses a pinned key line `ssh-ed25519 AAAA... [comment]`.
pub(crate) fn parse_host_key(line: &str) -> Option<PublicKey> {
    PublicKey::from_openssh(line.trim()).ok()
}

/// The SSH handler: accepts the server only if it shows the pinned key, and remembers the key
/// it offered for the error message.
struct Pinned {
    expected: Option<PublicKey>,
    offered: Arc<Mutex<Option<String>>>,
}

impl client::Handler for Pinned {
    type Error = russh::Error;

    async fn check_server_key(&mut self, offered: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = offered else {
            self.record("(an SSH certificate; pin the server's plain host key instead)".into());
            return Ok(false);
        };
        let mut line = key.clone();
        line.set_comment("");
        let text = line.to_openssh().unwrap_or_else(|_| "(unprintable key)".into());
        self.record(format!("{text}` (fingerprint {})", fingerprint(key)));
        Ok(self.expected.as_ref().is_some_and(|e| e.key_data() == key.key_data()))
    }
}

impl Pinned {
    fn record(&self, line: String) {
        if let Ok(mut slot) = self.offered.lock() {
            *slot = Some(line);
        }
    }
}

fn fail(kind: ErrorKind, code: ErrorCode, message: String) -> SourceError {
    SourceError::new(kind, code, message)
}

async fn within<T, E>(
    limit: Duration,
    what: &str,
    target: &Target,
    f: impl Future<Output = Result<T, E>>,
) -> Result<Result<T, E>, SourceError> {
    tokio::time::timeout(limit, f).await.map_err(|_| {
        fail(
            ErrorKind::Transient,
            ErrorCode::SftpTimeout,
            format!(
                "{}:{}: no answer within {} s while {what}; check the server is up and reachable from this machine (firewall)",
                target.host,
                target.port,
                limit.as_secs()
            ),
        )
    })
}

/// Connects, checks the host key, logs in and opens the SFTP subsystem.
pub(crate) async fn connect(t: &Target) -> Result<Connection, SourceError> {
    let at = format!("{}:{}", t.host, t.port);
    let addrs: Vec<_> = within(
        t.timeout,
        "looking up the name",
        t,
        tokio::net::lookup_host((t.host.as_str(), t.port)),
    )
    .await?
    .map_err(|e| REACH.lookup_failed(&t.host, &e))?
    .collect();
    let stream = within(t.timeout, "connecting", t, tokio::net::TcpStream::connect(&addrs[..]))
        .await?
        .map_err(|e| REACH.connect_failed(&at, &e))?;
    let offered = Arc::new(Mutex::new(None));
    let handler = Pinned {
        expected: t.host_key.as_deref().and_then(parse_host_key),
        offered: offered.clone(),
    };
    let config = Arc::new(client::Config {
        inactivity_timeout: Some(t.timeout * 4),
        ..Default::default()
    });
    let connected = within(
        t.timeout,
        "starting SSH",
        t,
        client::connect_stream(config, stream, handler),
    )
    .await?;
    let mut handle = match connected {
        Ok(h) => h,
        Err(e) => {
            let offered = offered.lock().ok().and_then(|o| o.clone());
            return Err(match offered {
                Some(line) if matches!(e, russh::Error::UnknownKey) => host_key_error(t, &at, &line),
                _ => fail(
                    ErrorKind::Transient,
                    ErrorCode::SftpSsh,
                    format!("SSH with {at} failed: {e}; check this is an SSH server"),
                ),
            });
        }
    };
    authenticate(&mut handle, t, &at).await?;
    let channel = within(t.timeout, "opening a session", t, handle.channel_open_session())
        .await?
        .map_err(|e| ssh_error(&at, "open a session", e))?;
    within(t.timeout, "starting SFTP", t, channel.request_subsystem(true, "sftp"))
        .await?
        .map_err(|e| ssh_error(&at, "start SFTP", e))?;
    let sftp = within(t.timeout, "starting SFTP", t, SftpSession::new(channel.into_stream()))
        .await?
        .map_err(|e| {
            fail(
                ErrorKind::Config,
                ErrorCode::SftpSubsystem,
                format!("{at} accepted the login but not SFTP: {e}; ask the provider to enable SFTP for the account"),
            )
        })?;
    sftp.set_timeout(t.timeout.as_secs().max(1));
    Ok(Connection { sftp, handle })
}

/// The refusal of a key that is not the pinned one. `offered` is ``KEY` (fingerprint SHA256:...)``
/// as [`Pinned`] recorded it: both fingerprints are shown, so IT can read them to the provider.
fn host_key_error(t: &Target, at: &str, offered: &str) -> SourceError {
    let what = match &t.host_key {
        None => "no host key is pinned for it".to_string(),
        Some(k) => match parse_host_key(k) {
            Some(pinned) => format!(
                "the pinned key is `{}` (fingerprint {})",
                k.trim(),
                fingerprint(&pinned)
            ),
            None => format!("the pinned key is `{}`", k.trim()),
        },
    };
    let line = offered.split('`').next().unwrap_or(offered);
    fail(
        ErrorKind::Config,
        ErrorCode::SftpHostkey,
        format!(
            "{at} offered the host key `{offered}, but {what}; refused. If the provider confirms the offered \
             fingerprint (ask them to run `ssh-keygen -lf` on their host key and read it out), set in \
             [connector.sftp]: host_key = \"{line}\""
        ),
    )
}

fn ssh_error(at: &str, what: &str, e: russh::Error) -> SourceError {
    fail(
        ErrorKind::Transient,
        ErrorCode::SftpSsh,
        format!("{at}: cannot {what}: {e}"),
    )
    .with_source(e)
}

async fn authenticate(handle: &mut client::Handle<Pinned>, t: &Target, at: &str) -> Result<(), SourceError> {
    let result = if let Some(key) = &t.key {
        let key = russh::keys::decode_secret_key(key.expose(), t.passphrase.as_ref().map(Secret::expose)).map_err(|e| {
            fail(
                ErrorKind::Config,
                ErrorCode::SftpKey,
                format!(
                    "cannot read the private key (private_key_file): {e}; it must be an OpenSSH private key (ed25519), with private_key_passphrase_file if it has a passphrase"
                ),
            )
        })?;
        let key = PrivateKeyWithHashAlg::new(Arc::new(key), None);
        within(t.timeout, "logging in", t, handle.authenticate_publickey(&t.user, key)).await?
    } else {
        let password = t.password.as_ref().map(Secret::expose).unwrap_or_default();
        within(t.timeout, "logging in", t, handle.authenticate_password(&t.user, password)).await?
    }
    .map_err(|e| ssh_error(at, "log in", e))?;
    if result.success() {
        Ok(())
    } else {
        let how = if t.key.is_some() { "key" } else { "password" };
        Err(fail(
            ErrorKind::Auth,
            ErrorCode::SftpAuth,
            format!(
                "{at} refused the login of `{}` by {how}; check the user name and that the provider installed the school's public key (or the password)",
                t.user
            ),
        ))
    }
}

/// Names an SFTP failure on `path` by its cause: a missing path or a permission is the
/// configuration's fault; anything else may pass.
pub(crate) fn sftp_error(at: &str, what: &str, path: &str, e: russh_sftp::client::error::Error) -> SourceError {
    use russh_sftp::client::error::Error as E;
    let (kind, code, hint) = match &e {
        E::Status(s) if s.status_code == StatusCode::NoSuchFile => (
            ErrorKind::Config,
            ErrorCode::SftpPath,
            "it does not exist: check the path with the provider",
        ),
        E::Status(s) if s.status_code == StatusCode::PermissionDenied => (
            ErrorKind::Config,
            ErrorCode::SftpPermission,
            "the account may not do this: ask the provider to grant it",
        ),
        E::Timeout => (
            ErrorKind::Transient,
            ErrorCode::SftpTimeout,
            "the server did not answer in time",
        ),
        _ => (ErrorKind::Transient, ErrorCode::SftpIo, "will retry"),
    };
    fail(kind, code, format!("{at}: cannot {what} `{path}`: {e}; {hint}"))
}
