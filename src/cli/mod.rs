//! The command line: the contract operators and tests rely on (see DESIGN.md, "CLI").
//!
//! Exit status: 0 success, 1 failure, 2 bad usage or bad configuration.

mod args;
mod commands;
#[cfg(test)]
mod man_page;
pub mod output;
mod secret_check;
mod unit;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};

pub use args::{Cli, Command};

use crate::config::{ConfigErrors, LoadedConfig};
use crate::store::{Store, StoreError};

/// Writes a line to standard output, as `println!` does, but a failed write (a closed pipe, as in
/// `apsync marks | head`) becomes [`CliError::Output`] instead of a panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).map_err($crate::cli::CliError::Output)?;
    }};
}
pub(crate) use say;

/// Where the configuration is read from when neither `--config` nor `APSYNC_CONFIG` is given.
pub const DEFAULT_CONFIG: &str = "/etc/apsync/apsync.toml";

/// Why a command failed, and so its exit status.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line asks for something impossible (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The configuration is wrong (exit 2).
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// The command ran and failed (exit 1).
    #[error("{0}")]
    Failed(String),
    /// The command did its work, but some rows wait for a person instead of becoming marks
    /// (exit 3): a script can tell "all in the register" from "look at the review queue".
    #[error("{0}")]
    ForReview(String),
    /// The database failed (exit 1).
    #[error("{0}")]
    Store(#[from] StoreError),
    /// Writing the output failed (exit 1).
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

impl CliError {
    /// The process exit status for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) | CliError::Config(_) => 2,
            CliError::Failed(_) | CliError::Store(_) | CliError::Output(_) => 1,
            CliError::ForReview(_) => 3,
        }
    }
}

/// The most threads tokio starts for blocking work (its default is 512).
const MAX_BLOCKING_THREADS: usize = 64;

/// The command line's definition as `--help` and the man pages show it: [`Cli`], with the global
/// `--config` hidden from `demo`, which writes a configuration of its own and never reads one.
pub fn command() -> clap::Command {
    use clap::CommandFactory as _;
    finish(Cli::command())
}

/// Hides `--config` from `demo`: a hidden option of its own takes the global one's place there
/// (clap passes a global option only to commands without one of that name).
fn finish(cmd: clap::Command) -> clap::Command {
    cmd.mut_subcommand("demo", |demo| {
        demo.arg(
            clap::Arg::new("config")
                .long("config")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .hide(true),
        )
    })
}

/// Parses the command line, runs the command, and returns the exit status.
pub fn main() -> ExitCode {
    use clap::FromArgMatches as _;
    let cli = match Cli::from_arg_matches(&command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    init_logging(cli.log_format, matches!(cli.command, Command::Run));
    // Blocking threads (file I/O, spools) are bounded well under the unit's TasksMax=256, so a
    // burst of work waits for a thread rather than failing to start one.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("apsync: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`apsync marks | head`): nothing to tell anyone.
        Err(CliError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("apsync: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Logs to journald when systemd connected standard error to the journal (`JOURNAL_STREAM`),
/// else JSON or text on standard error. The daemon logs at `info` by default, commands at `warn`;
/// `APSYNC_LOG` (an env-filter) overrides either.
fn init_logging(format: args::LogFormat, daemon: bool) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let default = if daemon { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("APSYNC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    if stderr_is_journal() {
        match tracing_journald::layer() {
            Ok(journald) => {
                let _ = tracing_subscriber::registry()
                    .with(filter)
                    .with(journald.with_syslog_identifier("apsync".into()))
                    .try_init();
                return;
            }
            Err(e) => eprintln!("apsync: journald is not reachable ({e}); logging to standard error"),
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests calling in) is harmless, so its error is ignored.
    let _ = match format {
        args::LogFormat::Json => builder.json().try_init(),
        args::LogFormat::Text => builder.try_init(),
    };
}

/// Whether standard error is the journal stream systemd set up (`JOURNAL_STREAM` is `DEV:INODE`
/// of it; a child that inherited the variable but not the stream logs normally).
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var("JOURNAL_STREAM").ok() else {
        return false;
    };
    std::fs::metadata("/proc/self/fd/2").is_ok_and(|m| journal_stream_is(&stream, m.dev(), m.ino()))
}

/// Whether a `JOURNAL_STREAM` value names the file with this device and inode.
fn journal_stream_is(value: &str, dev: u64, ino: u64) -> bool {
    value
        .split_once(':')
        .is_some_and(|(d, i)| d.parse() == Ok(dev) && i.parse() == Ok(ino))
}

/// What most commands need: the checked configuration, the open store and the clock.
pub struct Context {
    /// The configuration and its file.
    pub loaded: LoadedConfig,
    /// The open store, schema up to date, providers synchronised.
    pub store: Store,
    /// "Now": the real clock, or `--now`.
    pub now: DateTime<Utc>,
}

impl Context {
    /// `t` in the school's time zone, to the second (`2026-06-10T10:30:00+01:00`): how listings
    /// show a moment, as the school's clocks read it.
    pub fn local(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.loaded.config.school.timezone)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    }

    /// Loads the configuration, opens the store and writes the configured providers to it.
    pub async fn open(config_path: &Path, now: DateTime<Utc>) -> Result<Context, CliError> {
        Context::with(crate::config::load(config_path)?, now).await
    }

    /// [`Context::open`] ignoring `APSYNC__*` overrides: for the demo, which must never be
    /// pointed at the service's database by an override left in the shell.
    pub async fn open_ignoring_env(config_path: &Path, now: DateTime<Utc>) -> Result<Context, CliError> {
        Context::with(crate::config::load_with_env(config_path, Vec::new())?, now).await
    }

    /// Loads the configuration and opens the existing store for reading only: nothing is
    /// migrated, synchronised or written (`format try`).
    pub async fn read_only(config_path: &Path, now: DateTime<Utc>) -> Result<Context, CliError> {
        let loaded = crate::config::load(config_path)?;
        let store = connect_store(&loaded, true).await.map_err(|e| {
            CliError::Failed(format!(
                "{e}; rows are matched against the roster in the database, so load it first with `apsync roster import`"
            ))
        })?;
        Ok(Context { loaded, store, now })
    }

    async fn with(loaded: LoadedConfig, now: DateTime<Utc>) -> Result<Context, CliError> {
        let store = open_store(&loaded).await?;
        store.sync_providers(&loaded.config.providers, now).await?;
        Ok(Context { loaded, store, now })
    }
}

/// Opens the configured database, reading its password file if one is named.
pub async fn open_store(loaded: &LoadedConfig) -> Result<Store, CliError> {
    connect_store(loaded, false).await
}

/// Opens the configured database, for reading only or (migrated) for writing.
async fn connect_store(loaded: &LoadedConfig, read_only: bool) -> Result<Store, CliError> {
    let db = &loaded.config.database;
    let password = match &db.password_file {
        Some(f) => {
            let creds = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
            Some(
                f.read(creds.as_deref(), loaded.dir())
                    .map_err(|e| CliError::Failed(e.to_string()))?,
            )
        }
        None => None,
    };
    // The CA file is named relative to the configuration, like every file it names.
    let mut db = db.clone();
    db.tls.ca_file = db.tls.ca_file.map(|f| loaded.dir().join(f));
    if read_only {
        Ok(Store::open_read_only(&db, password.as_ref()).await?)
    } else {
        Ok(Store::open(&db, password.as_ref()).await?)
    }
}

#[cfg(test)]
mod journal_tests {
    #[test]
    fn journal_stream_names_device_and_inode() {
        assert!(super::journal_stream_is("8:12345", 8, 12345));
        assert!(!super::journal_stream_is("8:12345", 8, 1));
        assert!(!super::journal_stream_is("nonsense", 8, 12345));
    }
}
