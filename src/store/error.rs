//! Store errors, with the kind that tells the daemon whether to retry.

use apsync_connector_core::ErrorKind;

/// A database failure, worded for a school's IT person.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or reached.
    #[error("cannot open the database {target}: {source}. {hint}")]
    Open {
        /// The file or URL (without password).
        target: String,
        /// What to do.
        hint: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The schema could not be brought up to date.
    #[error("cannot update the database schema: {0}. Restore the last backup if the database was changed by hand")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// Stored data could not be read back (e.g. a code this version does not know).
    #[error("unexpected value in the database: {0}")]
    Corrupt(String),
    /// The request refers to something that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with what is stored (e.g. a review item already decided).
    #[error("{0}")]
    Conflict(String),
}

impl StoreError {
    pub(super) fn open(target: impl std::fmt::Display, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        // A certificate refused says so anywhere in its chain of causes.
        let mut tls = false;
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&source);
        while let Some(c) = cause {
            let text = c.to_string().to_ascii_lowercase();
            tls |= text.contains("certificate") || text.contains("tls") || text.contains("ssl");
            cause = c.source();
        }
        let hint = if tls {
            "The server's TLS certificate was not accepted: name the CA that signed it in database.ca_file, and connect by \
             the name on the certificate (or, knowingly, set database.ssl_mode = \"require\")"
        } else {
            "Check [database] url in the configuration and that the server is running"
        };
        StoreError::Open {
            target: target.to_string(),
            hint,
            source: Box::new(source),
        }
    }

    /// Whether retrying later may help.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::Open { .. } => ErrorKind::Transient,
            StoreError::Query(e) => match e {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => ErrorKind::Transient,
                sqlx::Error::Database(db) if is_busy(db.as_ref()) => ErrorKind::Transient,
                _ => ErrorKind::Permanent,
            },
            StoreError::Migrate(_) => ErrorKind::Config,
            StoreError::Corrupt(_) | StoreError::NotFound(_) | StoreError::Conflict(_) => ErrorKind::Permanent,
        }
    }
}

/// SQLite's "database is locked" and PostgreSQL's serialization/deadlock failures pass on retry.
fn is_busy(e: &dyn sqlx::error::DatabaseError) -> bool {
    matches!(e.code().as_deref(), Some("5" | "6" | "40001" | "40P01" | "55P03"))
}
