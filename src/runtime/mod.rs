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
use apsync_connector_core::{ErrorKind, Source, SourceError};
use apsync_connector_folder::FolderSource;
use apsync_connector_http::{AuthKind, HttpAuth, HttpSource};
use apsync_connector_imap::{ImapAuth, ImapSource};
use apsync_connector_sftp::{SftpSecrets, SftpSource};
use chrono::NaiveDate;

use crate::config::{ConnectorConfig, LoadedConfig, ProviderConfig, Secret, SecretFile, Transport};

/// How long `check --online` waits for one connector in all.
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Files over this size are refused when a provider's format sets no limit of its own.
const DEFAULT_MAX_BYTES: u64 = 20 * 1024 * 1024;

/// Reads the secret a connector's `*_file` key names: an absolute path, else a systemd credential
/// (`$CREDENTIALS_DIRECTORY`), else a file next to the configuration.
fn secret(
    connector: &ConnectorConfig,
    key: &str,
    path: Option<&PathBuf>,
    dir: &Path,
) -> Result<Option<Secret>, SourceError> {
    let Some(path) = path else { return Ok(None) };
    let file = SecretFile {
        key: format!("connector `{}` {key}", connector.id),
        path: path.clone(),
    };
    let credentials = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
    file.read(credentials.as_deref(), dir)
        .map(Some)
        .map_err(|e| SourceError::new(ErrorKind::Config, "SECRET", e.to_string()).with_source(e))
}

/// A secret the validated configuration guarantees is named.
fn required(secret: Option<Secret>) -> Result<Secret, SourceError> {
    secret.ok_or_else(|| {
        SourceError::new(
            ErrorKind::Config,
            "SECRET",
            "a secret file is missing from the configuration",
        )
    })
}

/// The client-credentials settings of a connector's `[connector.TRANSPORT.oauth2]`, with the
/// secret read.
fn client_credentials(
    connector: &ConnectorConfig,
    transport: &str,
    oauth2: Option<&apsync_connector_core::OAuth2Config>,
    dir: &Path,
) -> Result<ClientCredentials, SourceError> {
    let oauth2 = oauth2.cloned().unwrap_or_default();
    let key = format!("{transport}.oauth2.client_secret_file");
    Ok(ClientCredentials {
        token_url: oauth2.token_url.unwrap_or_default(),
        client_id: oauth2.client_id.unwrap_or_default(),
        client_secret: required(secret(connector, &key, oauth2.client_secret_file.as_ref(), dir)?)?,
        scope: oauth2.scope,
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
                (Some(pw), _) => ImapAuth::Password(required(secret(connector, "imap.password_file", Some(pw), dir)?)?),
                (None, oauth2) => ImapAuth::OAuth2(client_credentials(connector, "imap", oauth2.as_ref(), dir)?),
            };
            let ca = match &imap.ca_file {
                None => None,
                Some(f) => {
                    let path = dir.join(f);
                    Some(std::fs::read(&path).map_err(|e| {
                        SourceError::new(
                            ErrorKind::Config,
                            "IMAP-TLS",
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
            let read = |key: &str, path: &Option<PathBuf>| required(secret(connector, key, path.as_ref(), dir)?);
            let auth = match http.auth.unwrap_or_default() {
                AuthKind::None => HttpAuth::None,
                AuthKind::Bearer => HttpAuth::Bearer(read("http.token_file", &http.token_file)?),
                AuthKind::ApiKey => HttpAuth::ApiKey(
                    http.api_key_header.clone().unwrap_or_default(),
                    read("http.api_key_file", &http.api_key_file)?,
                ),
                AuthKind::Basic => HttpAuth::Basic(
                    http.username.clone().unwrap_or_default(),
                    read("http.password_file", &http.password_file)?,
                ),
                AuthKind::Oauth2 => HttpAuth::OAuth2(client_credentials(connector, "http", http.oauth2.as_ref(), dir)?),
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
            "CONFIG",
            format!("provider `{}` is not configured", connector.provider),
        )
    })?;
    let today = now.with_timezone(&loaded.config.school.timezone).date_naive();
    let mut source = build_source(connector, provider, loaded.dir(), today)?;
    tokio::time::timeout(CHECK_TIMEOUT, source.check()).await.map_err(|_| {
        SourceError::new(
            ErrorKind::Transient,
            "TIMEOUT",
            format!("no answer within {} s", CHECK_TIMEOUT.as_secs()),
        )
    })?
}
