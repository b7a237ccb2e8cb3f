//! The daemon's configuration: one TOML file plus `APSYNC__SECTION__KEY` environment overrides,
//! checked purely so that every mistake is reported at once.
//!
//! Reading happens in three steps: [`load`] parses the file and the environment (I/O), collecting
//! unknown keys on the way; [`validate::validate`] turns what was written into a typed [`Config`]
//! (pure); secrets named by `*_file` keys are read only when a component needs them.

pub mod alerts;
mod aliases;
pub mod email;
mod entries;
mod error;
pub mod mis;
pub mod raw;
mod secret;
mod secret_files;
pub mod validate;
pub mod visits;

use std::path::{Path, PathBuf};

pub use apsync_core::settings::{AlertsConfig, ProviderAlerts, ProviderConfig, Role, Roles, Route, School};
pub use email::{EmailConfig, EmailTransport, SmtpConfig, TlsMode};
pub use error::{ConfigError, ConfigErrors};
pub use mis::{MisConfig, MisKind};
pub use secret::{Secret, SecretError, SecretFile};
pub use secret_files::secret_files;
pub use visits::{EndpointAuth, EndpointConfig, HttpServerConfig, TlsFiles, VisitsConfig};

use crate::roster::RosterColumns;
use apsync_core::email::{EmailError, EmailSettings, Templates};
use apsync_core::pipeline::format::Format;
use apsync_core::rules::RuleSettings;

/// The school calendar, as checked from `[calendar]`.
pub use crate::domain::SchoolCalendar as Calendar;

/// Prefix of environment variables that override the file: `APSYNC__DATABASE__URL`.
pub const ENV_PREFIX: &str = "APSYNC";

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `[school]`.
    pub school: School,
    /// `[calendar]`: which days are school days.
    pub calendar: Calendar,
    /// `[database]`.
    pub database: DatabaseConfig,
    /// `[roster]`: header names of the MIS export.
    pub roster: RosterColumns,
    /// `[[provider]]`: the approved providers pupils are placed with.
    pub providers: Vec<ProviderConfig>,
    /// `[[connector]]`: where returns are fetched from.
    pub connectors: Vec<ConnectorConfig>,
    /// `[http]`: the visit intake API.
    pub http: HttpServerConfig,
    /// `[visits]`.
    pub visits: VisitsConfig,
    /// `[[endpoint]]`: where visits are pushed.
    pub endpoints: Vec<EndpointConfig>,
    /// `[roles]`: each role's addresses.
    pub roles: Roles,
    /// `[email]`: how mail leaves; `None` keeps alerts in the store only.
    pub email: Option<EmailConfig>,
    /// `[alerts]`: the rules.
    pub alerts: AlertsConfig,
    /// `[mis]`: the link to the school's MIS; `None` when there is none.
    pub mis: Option<MisConfig>,
}

/// One connector.
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    /// Short stable identifier.
    pub id: String,
    /// The provider whose returns it fetches.
    pub provider: String,
    /// The transport and its settings.
    pub transport: Transport,
    /// When the scheduler runs it.
    pub schedule: apsync_core::schedule::Schedule,
    /// After how many runs failing on the same item (a file that can never be read, a download
    /// that always breaks off) that item is quarantined, so the rest are not held up.
    pub quarantine_after: u32,
}

/// How a connector fetches.
#[derive(Debug, Clone)]
pub enum Transport {
    /// A local folder.
    Folder(apsync_connector_folder::FolderConfig),
    /// An SFTP server.
    Sftp(apsync_connector_sftp::SftpConfig),
    /// A mailbox, over IMAP.
    Imap(apsync_connector_imap::ImapConfig),
    /// A provider's JSON API.
    Http(apsync_connector_http::HttpConfig),
}

impl Config {
    /// The provider with this id.
    pub fn provider(&self, id: &str) -> Option<&ProviderConfig> {
        self.rule_settings().provider(id)
    }

    /// What the alert rules read.
    pub fn rule_settings(&self) -> RuleSettings<'_> {
        RuleSettings {
            school: &self.school,
            calendar: &self.calendar,
            alerts: &self.alerts,
            providers: &self.providers,
        }
    }

    /// What rendering emails reads; `None` when `[email]` is absent (alerts stay in the store).
    pub fn email_settings(&self) -> Option<EmailSettings<'_>> {
        let email = self.email.as_ref()?;
        Some(EmailSettings {
            from: &email.from,
            roles: &self.roles,
            rules: self.rule_settings(),
        })
    }

    /// The endpoint with this id.
    pub fn endpoint(&self, id: &str) -> Option<&EndpointConfig> {
        self.endpoints.iter().find(|e| e.id == id)
    }
}

/// `[database]`.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// Which database.
    pub url: DatabaseUrl,
    /// The file holding the PostgreSQL password, if the server wants one.
    pub password_file: Option<SecretFile>,
    /// Connections in the pool.
    pub max_connections: u32,
    /// PostgreSQL TLS, as the configuration asks (and, beyond this machine, at least
    /// verify-full unless it says otherwise).
    pub tls: DatabaseTls,
}

/// How the PostgreSQL connection is secured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseTls {
    /// The mode; None leaves it to the URL's `sslmode` (or the driver's `prefer`), which is
    /// only allowed for a server on this machine.
    pub mode: Option<SslMode>,
    /// The CA certificate file, resolved against the configuration's folder.
    pub ca_file: Option<PathBuf>,
}

/// PostgreSQL's `sslmode`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, unverified.
    Prefer,
    /// TLS, unverified.
    Require,
    /// TLS, the certificate's chain verified.
    VerifyCa,
    /// TLS, the chain and the host name verified.
    VerifyFull,
}

impl SslMode {
    /// From PostgreSQL's name for it.
    pub fn parse(text: &str) -> Option<SslMode> {
        Some(match text {
            "disable" => SslMode::Disable,
            "prefer" | "allow" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
}

/// The store's location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An SQLite file (created when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL URL without a password.
    Postgres(String),
}

/// A configuration read from a file, with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The checked configuration.
    pub config: Config,
    /// The file it came from.
    pub path: PathBuf,
    /// What is accepted but should be written differently (an old name), each at its key.
    pub warnings: Vec<ConfigError>,
    /// The email templates, IT's overrides read and every template parsed once, here.
    pub templates: std::sync::Arc<Templates>,
}

impl LoadedConfig {
    /// The folder relative secret files and paths are read from.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// Where apsync keeps what it writes besides the database: systemd's `$STATE_DIRECTORY`
    /// (`/var/lib/apsync` for the installed unit), else the SQLite file's folder, else
    /// `/var/lib/apsync`. Never the configuration's folder, which the service cannot write.
    pub fn state_dir(&self) -> PathBuf {
        let from_systemd = std::env::var_os("STATE_DIRECTORY")
            .and_then(|v| std::env::split_paths(&v).next())
            .filter(|p| !p.as_os_str().is_empty());
        if let Some(dir) = from_systemd {
            return dir;
        }
        match &self.config.database.url {
            DatabaseUrl::Sqlite(file) => match file.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
                _ => PathBuf::from("."),
            },
            DatabaseUrl::Postgres(_) => PathBuf::from("/var/lib/apsync"),
        }
    }

    /// Where the file transport writes its .eml files, when it is the one configured: the
    /// `folder` written (relative to the configuration's folder), else `outgoing-mail` in the
    /// [state directory](Self::state_dir).
    pub fn mail_folder(&self) -> Option<PathBuf> {
        match self.config.email.as_ref().map(|e| &e.transport) {
            Some(EmailTransport::File { folder: Some(f) }) => Some(self.dir().join(f)),
            Some(EmailTransport::File { folder: None }) => Some(self.state_dir().join("outgoing-mail")),
            _ => None,
        }
    }
}

/// Reads `path` and the `APSYNC__*` environment, and checks them.
pub fn load(path: &Path) -> Result<LoadedConfig, ConfigErrors> {
    let env = std::env::vars().filter(|(k, _)| k.starts_with(&format!("{ENV_PREFIX}__")));
    load_with_env(path, env.collect())
}

/// [`load`] with the environment given, so tests need not touch the process's.
pub fn load_with_env(path: &Path, env: Vec<(String, String)>) -> Result<LoadedConfig, ConfigErrors> {
    let file = path.display().to_string();
    let fail = |errors| ConfigErrors {
        file: file.clone(),
        errors,
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        fail(vec![ConfigError::new(
            "",
            format!("cannot read the file: {e}. Give the path with --config or APSYNC_CONFIG"),
        )])
    })?;
    let (raw, warnings) = parse_with_warnings(&text, env).map_err(fail)?;
    let mut raw = raw;
    let names = entries::EntryNames::of(&raw.0);
    let mut warnings = warnings;
    names.apply(&mut warnings);
    let dir = path.parent().unwrap_or(Path::new("."));
    let format_problems = read_format_files(&mut raw.0, dir);
    raw.1.extend(format_problems);
    let config = validate::validate(raw.0).map_err(|mut errors| {
        errors.splice(0..0, raw.1.clone());
        names.apply(&mut errors);
        fail(errors)
    })?;
    if !raw.1.is_empty() {
        names.apply(&mut raw.1);
        return Err(fail(raw.1));
    }
    let folder = config.alerts.templates_folder.as_ref().map(|f| dir.join(f));
    let templates = load_templates(folder.as_deref())
        .map_err(|e| fail(vec![ConfigError::new("alerts.templates_folder", e.to_string())]))?;
    Ok(LoadedConfig {
        config,
        path: path.to_path_buf(),
        warnings,
        templates: std::sync::Arc::new(templates),
    })
}

/// The built-in email templates, each replaced by a file of the same name in `folder` (IT's
/// `[alerts] templates_folder`).
pub fn load_templates(folder: Option<&Path>) -> Result<Templates, EmailError> {
    Templates::new(|name| {
        let Some(path) = folder.map(|f| f.join(name)).filter(|p| p.exists()) else {
            return Ok(None);
        };
        std::fs::read_to_string(&path).map(Some).map_err(|e| EmailError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    })
}

/// Parses TOML text plus overrides into the raw structure and the unknown keys found.
pub fn parse(text: &str, env: Vec<(String, String)>) -> Result<(raw::RawConfig, Vec<ConfigError>), Vec<ConfigError>> {
    parse_with_warnings(text, env).map(|(raw, _)| raw)
}

/// [`parse`], with the old names used as warnings (see `aliases`); an old name given beside
/// its new one is among the problems.
pub fn parse_with_warnings(text: &str, env: Vec<(String, String)>) -> Result<Parsed, Vec<ConfigError>> {
    let renamed = aliases::rename(text);
    let (raw, mut problems) = parse_text(renamed.text.as_deref().unwrap_or(text), env)?;
    problems.splice(0..0, renamed.errors);
    Ok(((raw, problems), renamed.warnings))
}

/// The raw configuration with its problems, and the warnings.
pub type Parsed = ((raw::RawConfig, Vec<ConfigError>), Vec<ConfigError>);

fn parse_text(text: &str, env: Vec<(String, String)>) -> Result<(raw::RawConfig, Vec<ConfigError>), Vec<ConfigError>> {
    let env_map: config::Map<String, String> = env.into_iter().collect();
    let built = config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml))
        .add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(env_map)),
        )
        .build()
        .map_err(|e| vec![ConfigError::new("", e.to_string())])?;
    let mut unknown = Vec::new();
    let raw: raw::RawConfig = serde_ignored::deserialize(built, |path| {
        unknown.push(ConfigError::new(
            key_path(&path),
            "unknown key: check its spelling against config/apsync.example.toml",
        ))
    })
    .map_err(|e| vec![ConfigError::new("", e.to_string())])?;
    // The parser's maps are unordered; a sorted list reads the same on every run.
    unknown.sort_by(|a, b| a.key.cmp(&b.key));
    Ok((raw, unknown))
}

/// Reads each provider's `format_file` into its `format`, so validation sees one shape. The
/// files' own unknown keys are reported like the main file's.
fn read_format_files(raw: &mut raw::RawConfig, dir: &Path) -> Vec<ConfigError> {
    let mut problems = Vec::new();
    for (i, p) in raw.providers.iter_mut().enumerate() {
        let Some(file) = &p.format_file else { continue };
        let key = format!("provider[{i}].format_file");
        if p.format.is_some() {
            problems.push(ConfigError::new(
                &key,
                "give the format inline ([provider.format]) or in format_file, not both",
            ));
            continue;
        }
        let path = dir.join(file);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                problems.push(ConfigError::new(&key, format!("cannot read {}: {e}", path.display())));
                continue;
            }
        };
        let FormatFile {
            format: parsed,
            unknown_keys: unknown,
        } = parse_format_file(&text);
        match parsed {
            Ok(format) => p.format = Some(format),
            Err(e) => problems.push(ConfigError::new(&key, format!("{}: {e}", path.display()))),
        }
        for k in unknown {
            problems.push(ConfigError::new(
                format!("{key} ({}): {k}", path.display()),
                "unknown key: check its spelling against docs/formats.md",
            ));
        }
    }
    problems
}

/// A provider's `format_file`, read: the format or why it cannot be read, and its unknown keys.
#[derive(Debug)]
pub struct FormatFile {
    /// The format (not yet checked: see [`apsync_core::pipeline::Format::check`]), or the TOML
    /// or type error that stops it being read.
    pub format: Result<Format, config::ConfigError>,
    /// Keys the format language does not have, sorted; found even when the format cannot be read.
    pub unknown_keys: Vec<String>,
}

/// Parses the text of a provider's `format_file` as [`load`] reads it (pure: no I/O).
pub fn parse_format_file(text: &str) -> FormatFile {
    let built = config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml))
        .build();
    let mut unknown_keys = Vec::new();
    let format = built.and_then(|b| serde_ignored::deserialize(b, |path| unknown_keys.push(key_path(&path))));
    unknown_keys.sort();
    FormatFile { format, unknown_keys }
}

/// `provider[0].format.colour` rather than serde_ignored's `provider.0.format.colour`.
fn key_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path as P;
    match path {
        P::Root => String::new(),
        P::Seq { parent, index } => format!("{}[{index}]", key_path(parent)),
        P::Map { parent, key } => {
            let head = key_path(parent);
            if head.is_empty() {
                key.clone()
            } else {
                format!("{head}.{key}")
            }
        }
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => key_path(parent),
    }
}

#[cfg(test)]
mod tests;
