//! The store: every table of the data model, on SQLite (embedded default) or PostgreSQL, behind
//! one interface. All SQL of apsync lives under this folder.
//!
//! One [`Store`] value wraps a pool of either backend. The queries are written once, in the
//! dialect both share (`$1` parameters, `ON CONFLICT`, `RETURNING`, `FILTER`), and the
//! [`with_pool!`] and [`write_tx!`] macros stamp each method's body out once per backend, so each
//! is type-checked against its own driver without generic trait bounds. Where the dialects differ
//! (types in the migrations, how a write transaction starts) the difference is spelt out here.

mod alerts;
mod documents;
mod error;
mod failures;
mod history;
mod import;
mod leases;
mod ledger;
mod marks;
mod metrics;
mod migrations;
mod outbox;
mod refusals;
mod review;
mod roster;
mod runs;
mod shared;
mod staged;
mod status;
mod text;
mod tokens;
mod visits;

use std::str::FromStr;
use std::time::Duration;

use apsync_connector_core::web::redact_url as redact;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use crate::register::Mark;
pub use crate::register::{NewMark, NewReview};
pub use alerts::{AlertCounts, AlertRow};
pub use documents::{DocumentFilter, DocumentRow};
pub use error::{QueryFailure, StoreError};
pub use history::HistoryRow;
pub use import::{ImportTx, NewOrDuplicate};
pub use leases::JobLease;
pub use ledger::{CheckpointUpdate, DocumentEntry, DocumentStatus, ImportSummary, NewDocument, PART_BYTES};
pub use marks::MarkFilter;
pub use metrics::MetricsSnapshot;
pub use outbox::{Channel, Delivery, NewDelivery, Released};
pub use refusals::{RefusalRow, RefusedSender, STRANGER_CODE};
pub use review::{Decision, MisConflictItem, ReviewRow, ReviewStatus};
pub use roster::{RosterChanges, StoredPupil};
pub use runs::{ConnectorRun, RunStatus};
pub use status::StoreStatus;
pub use tokens::{ActiveToken, TokenInfo};
pub use visits::{LastVisit, NewVisit, Origin, PupilLookup, StoredVisit, VisitDelivery, VisitFilter};

use crate::config::{DatabaseConfig, DatabaseUrl, Secret, SslMode};

/// How long a writer waits for SQLite's lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The database behind [`Store`].
#[derive(Debug, Clone)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The register and everything it is built from, on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
}

/// Runs `$body` with `$pool` bound to the backend's pool.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($pool) => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Runs `$body` inside a write transaction bound to `$tx`, committing when it returns `Ok`.
/// SQLite takes the write lock up front (`BEGIN IMMEDIATE`): a deferred transaction that later
/// writes fails with SQLITE_BUSY instead of waiting.
macro_rules! write_tx {
    ($store:expr, $tx:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::store::Backend::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}
pub(crate) use write_tx;

impl Store {
    /// Opens (creating an SQLite file if needed) and brings the schema up to date.
    pub async fn open(config: &DatabaseConfig, password: Option<&Secret>) -> Result<Store, StoreError> {
        let store = Store::connect(config, password, false).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens an existing database for reading only, as it is: nothing is created or migrated,
    /// and every write fails (SQLite opens the file read-only; PostgreSQL sessions default to
    /// read-only transactions). For commands that must write nothing, such as `format try`.
    pub async fn open_read_only(config: &DatabaseConfig, password: Option<&Secret>) -> Result<Store, StoreError> {
        Store::connect(config, password, true).await
    }

    async fn connect(config: &DatabaseConfig, password: Option<&Secret>, read_only: bool) -> Result<Store, StoreError> {
        Ok(match &config.url {
            DatabaseUrl::Sqlite(path) => {
                let mut options = SqliteConnectOptions::new()
                    .filename(path)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true);
                options = if read_only {
                    options.read_only(true)
                } else {
                    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        std::fs::create_dir_all(dir).map_err(|e| StoreError::open(path.display(), e))?;
                    }
                    options
                        .create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                };
                let pool = SqlitePoolOptions::new()
                    .max_connections(config.max_connections)
                    .connect_with(options)
                    .await
                    .map_err(|e| StoreError::open(path.display(), e))?;
                Store {
                    backend: Backend::Sqlite(pool),
                }
            }
            DatabaseUrl::Postgres(url) => {
                let mut options = PgConnectOptions::from_str(url).map_err(|e| StoreError::open(redact(url), e))?;
                if let Some(pw) = password {
                    options = options.password(pw.expose());
                }
                if read_only {
                    options = options.options([("default_transaction_read_only", "on")]);
                }
                if let Some(mode) = config.tls.mode {
                    options = options.ssl_mode(match mode {
                        SslMode::Disable => PgSslMode::Disable,
                        SslMode::Prefer => PgSslMode::Prefer,
                        SslMode::Require => PgSslMode::Require,
                        SslMode::VerifyCa => PgSslMode::VerifyCa,
                        SslMode::VerifyFull => PgSslMode::VerifyFull,
                    });
                }
                if let Some(ca) = &config.tls.ca_file {
                    options = options.ssl_root_cert(ca);
                }
                let pool = PgPoolOptions::new()
                    .max_connections(config.max_connections)
                    .acquire_timeout(Duration::from_secs(15))
                    .connect_with(options)
                    .await
                    .map_err(|e| StoreError::open(redact(url), e))?;
                Store {
                    backend: Backend::Postgres(pool),
                }
            }
        })
    }

    /// `sqlite` or `postgres`, for `status` and logs.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The database file, on SQLite (for the outbox receipts kept beside it).
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        match &self.backend {
            Backend::Sqlite(pool) => Some(pool.connect_options().get_filename().to_path_buf()),
            Backend::Postgres(_) => None,
        }
    }

    /// Closes the pool, waiting for connections in use.
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }
}
