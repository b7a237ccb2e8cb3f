//! The runtime: running connectors, now on demand (`sync`) or on their schedules (`scheduler`),
//! and running the alert rules and the email outbox after them.

pub mod alerts;
pub mod daemon;
pub mod jobs;
pub mod runs;
pub mod scheduler;
pub mod sync;
pub mod visits;

use std::path::{Path, PathBuf};

use apsync_connector_core::oauth2::ClientCredentials;
use apsync_connector_core::{ErrorCode, ErrorKind, Source, SourceError};
use apsync_connector_folder::FolderSource;
use apsync_connector_http::{HttpAuth, HttpCredentials, HttpSource};
use apsync_connector_imap::{ImapAuth, ImapSource};
use apsync_connector_sftp::{SftpSecrets, SftpSource};
use chrono::NaiveDate;

use crate::config::{ConnectorConfig, LoadedConfig, ProviderConfig, Secret, SecretFile, Transport};

/// How long `check --online` waits for one connector in all.
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Files over this size are refused when a provider's format sets no limit of its own.
const DEFAULT_MAX_BYTES: u64 = 20 * 1024 * 1024;

/// Reads the secret a connector's optional `*_file` key names, if it names one.
fn secret(
    connector: &ConnectorConfig,
    key: &str,
    path: Option<&PathBuf>,
    dir: &Path,
) -> Result<Option<Secret>, SourceError> {
    path.map(|p| read_secret(connector, key, p, dir)).transpose()
}

/// Reads the secret a connector's `*_file` key names: an absolute path, else a systemd credential
/// (`$CREDENTIALS_DIRECTORY`), else a file next to the configuration.
fn read_secret(connector: &ConnectorConfig, key: &str, path: &Path, dir: &Path) -> Result<Secret, SourceError> {
    let file = SecretFile {
        key: format!("connector `{}` {key}", connector.id),
        path: path.to_path_buf(),
    };
    let credentials = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
    file.read(credentials.as_deref(), dir)
        .map_err(|e| SourceError::new(ErrorKind::Config, ErrorCode::Secret, e.to_string()).with_source(e))
}

/// A connector's configuration that `apsync check` would have refused: reached only when the
/// configuration was not loaded through validation.
fn unchecked(connector: &ConnectorConfig, what: &str) -> SourceError {
    SourceError::new(
        ErrorKind::Config,
        ErrorCode::Config,
        format!(
            "connector `{}`: {what} is incomplete; run `apsync check` for what is missing",
            connector.id
        ),
    )
}

/// The client-credentials settings of a connector's `[connector.TRANSPORT.oauth2]`, checked, with
/// the secret read.
fn client_credentials(
    connector: &ConnectorConfig,
    transport: &str,
    oauth2: Option<&apsync_connector_core::OAuth2Config>,
    dir: &Path,
) -> Result<ClientCredentials, SourceError> {
    let settings = oauth2
        .and_then(|o| o.settings())
        .ok_or_else(|| unchecked(connector, &format!("[connector.{transport}.oauth2]")))?;
    let key = format!("{transport}.oauth2.client_secret_file");
    Ok(ClientCredentials {
        token_url: settings.token_url.to_string(),
        client_id: settings.client_id.to_string(),
        client_secret: read_secret(connector, &key, settings.client_secret_file, dir)?,
        scope: settings.scope.map(str::to_string),
    })
}

/// Builds the source a connector's configuration describes, reading its secrets; `dir` is the
/// configuration file's folder.
pub fn build_source(
    connector: &ConnectorConfig,
    provider: &ProviderConfig,
    dir: &Path,
    today: NaiveDate,
) -> Result<Box<dyn Source>, SourceError> {
    let max_bytes = provider
        .format
        .as_ref()
        .map_or(DEFAULT_MAX_BYTES, |f| f.limits.max_file_bytes);
    Ok(match &connector.transport {
        Transport::Folder(folder) => Box::new(FolderSource::new(folder, max_bytes)),
        Transport::Sftp(sftp) => {
            let secrets = SftpSecrets {
                private_key: secret(connector, "sftp.private_key_file", sftp.private_key_file.as_ref(), dir)?,
                passphrase: secret(
                    connector,
                    "sftp.private_key_passphrase_file",
                    sftp.private_key_passphrase_file.as_ref(),
                    dir,
                )?,
                password: secret(connector, "sftp.password_file", sftp.password_file.as_ref(), dir)?,
            };
            Box::new(SftpSource::new(sftp, secrets, max_bytes))
        }
        Transport::Imap(imap) => {
            let auth = match (&imap.password_file, &imap.oauth2) {
                (Some(pw), _) => ImapAuth::Password(read_secret(connector, "imap.password_file", pw, dir)?),
                (None, oauth2) => ImapAuth::OAuth2(client_credentials(connector, "imap", oauth2.as_ref(), dir)?),
            };
            let ca = match &imap.ca_file {
                None => None,
                Some(f) => {
                    let path = dir.join(f);
                    Some(std::fs::read(&path).map_err(|e| {
                        SourceError::new(
                            ErrorKind::Config,
                            ErrorCode::ImapTls,
                            format!(
                                "connector `{}`: cannot read imap.ca_file {}: {e}",
                                connector.id,
                                path.display()
                            ),
                        )
                    })?)
                }
            };
            Box::new(ImapSource::new(imap, auth, ca.as_deref(), max_bytes)?)
        }
        Transport::Http(http) => {
            let credentials = http
                .credentials()
                .ok_or_else(|| unchecked(connector, "[connector.http] auth"))?;
            let read = |key: &str, path: &Path| read_secret(connector, key, path, dir);
            let auth = match credentials {
                HttpCredentials::None => HttpAuth::None,
                HttpCredentials::Bearer { token_file } => HttpAuth::Bearer(read("http.token_file", token_file)?),
                HttpCredentials::ApiKey { header, key_file } => {
                    HttpAuth::ApiKey(header.to_string(), read("http.api_key_file", key_file)?)
                }
                HttpCredentials::Basic {
                    username,
                    password_file,
                } => HttpAuth::Basic(username.to_string(), read("http.password_file", password_file)?),
                HttpCredentials::OAuth2(_) => {
                    HttpAuth::OAuth2(client_credentials(connector, "http", http.oauth2.as_ref(), dir)?)
                }
            };
            Box::new(HttpSource::new(http, auth, max_bytes)?.with_today(today))
        }
    })
}

/// Where connector runs get their sources. apsync itself always uses [`ConfiguredSources`]; the
/// seam lets a caller wrap the sources it builds (to observe them, or, in the integration tests,
/// to stand in for a connector with a bug), the way [`scheduler::Clock`] stands in for time.
pub trait SourceBuilder: Send + Sync {
    /// The source for `connector`, as [`build_source`] describes.
    fn build(
        &self,
        connector: &ConnectorConfig,
        provider: &ProviderConfig,
        dir: &Path,
        today: NaiveDate,
    ) -> Result<Box<dyn Source>, SourceError>;
}

/// The sources the configuration describes ([`build_source`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct ConfiguredSources;

impl SourceBuilder for ConfiguredSources {
    fn build(
        &self,
        connector: &ConnectorConfig,
        provider: &ProviderConfig,
        dir: &Path,
        today: NaiveDate,
    ) -> Result<Box<dyn Source>, SourceError> {
        build_source(connector, provider, dir, today)
    }
}

/// Connects to a connector's server and proves it can list returns, changing nothing; the error
/// names the precise fault (DNS, refused, TLS, host key, auth, path, permission).
pub async fn check_connector(
    loaded: &LoadedConfig,
    connector: &ConnectorConfig,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), SourceError> {
    let provider = loaded.config.provider(&connector.provider).ok_or_else(|| {
        SourceError::new(
            ErrorKind::Config,
            ErrorCode::Config,
            format!("provider `{}` is not configured", connector.provider),
        )
    })?;
    let today = now.with_timezone(&loaded.config.school.timezone).date_naive();
    let mut source = build_source(connector, provider, loaded.dir(), today)?;
    tokio::time::timeout(CHECK_TIMEOUT, source.check()).await.map_err(|_| {
        SourceError::new(
            ErrorKind::Transient,
            ErrorCode::Timeout,
            format!("no answer within {} s", CHECK_TIMEOUT.as_secs()),
        )
    })?
}
