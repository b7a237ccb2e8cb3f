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
    /// A query failed: said as what failed and what to do ([`QueryFailure`]), with the
    /// driver's own text after it, for whoever looks further.
    #[error("{}. Detail: {}", QueryFailure::of(.0).words(), .0)]
    Query(#[from] sqlx::Error),
    /// Stored data could not be read back (e.g. a code this version does not know).
    #[error(
        "the database holds a value this version of apsync cannot read ({0}): if the database was changed by hand or \
         by a newer apsync, restore the last backup or run that version"
    )]
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
            StoreError::Query(e) => QueryFailure::of(e).kind(),
            StoreError::Migrate(_) => ErrorKind::Config,
            StoreError::Corrupt(_) | StoreError::NotFound(_) | StoreError::Conflict(_) => ErrorKind::Permanent,
        }
    }
}

/// What kind of thing went wrong when a query failed, in the terms of the person who keeps the
/// database running rather than the driver's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryFailure {
    /// The connection was lost, or no connection came free in time.
    Unreachable,
    /// Another writer held the database (SQLite's lock, PostgreSQL's serialization or deadlock).
    Busy,
    /// The secure connection failed.
    Tls,
    /// The database refused to write: its disk is full, or it is read-only.
    CannotWrite,
    /// The database refused a change that breaks one of its rules (a unique key, a reference).
    Refused,
    /// The database holds tables or values this version of apsync does not expect.
    Unexpected,
    /// Anything else.
    Other,
}

impl QueryFailure {
    /// The kind of `e`.
    pub fn of(e: &sqlx::Error) -> QueryFailure {
        match e {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
                QueryFailure::Unreachable
            }
            sqlx::Error::Tls(_) => QueryFailure::Tls,
            sqlx::Error::Database(db) if is_busy(db.as_ref()) => QueryFailure::Busy,
            sqlx::Error::Database(db) if cannot_write(db.as_ref()) => QueryFailure::CannotWrite,
            sqlx::Error::Database(db) if db.kind() != sqlx::error::ErrorKind::Other => QueryFailure::Refused,
            sqlx::Error::RowNotFound
            | sqlx::Error::TypeNotFound { .. }
            | sqlx::Error::ColumnIndexOutOfBounds { .. }
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_) => QueryFailure::Unexpected,
            _ => QueryFailure::Other,
        }
    }

    /// Whether retrying later may help: only when the database was out of reach or busy.
    pub fn kind(self) -> ErrorKind {
        match self {
            QueryFailure::Unreachable | QueryFailure::Busy => ErrorKind::Transient,
            _ => ErrorKind::Permanent,
        }
    }

    /// What failed and what to do, for a school's IT person.
    pub fn words(self) -> &'static str {
        match self {
            QueryFailure::Unreachable => {
                "the database could not be reached (the connection was lost or timed out): check that the database \
                 server is running and reachable from this machine (`apsync check --online` tries it); apsync tries \
                 again by itself"
            }
            QueryFailure::Busy => {
                "the database was busy with another writer: apsync tries again by itself; if this keeps happening, \
                 see whether another apsync or a backup job holds the database for long"
            }
            QueryFailure::Tls => {
                "the secure connection to the database failed: check database.ssl_mode and database.ca_file in the \
                 configuration (`apsync check --online` tries the connection)"
            }
            QueryFailure::CannotWrite => {
                "the database refused to write: its disk may be full, or the database or its file read-only; free \
                 space or fix the permissions, then run again"
            }
            QueryFailure::Refused => {
                "the database refused a change that breaks one of its rules: nothing of this change was kept; run \
                 `apsync check`, and if it passes, report this with the detail that follows"
            }
            QueryFailure::Unexpected => {
                "the database holds something this version of apsync does not expect: run `apsync check`; if the \
                 database was changed by hand or by a newer apsync, restore the last backup"
            }
            QueryFailure::Other => {
                "a database query failed: run `apsync check --online`; if it passes and this keeps happening, report \
                 it with the detail that follows"
            }
        }
    }
}

/// SQLite's full disk (13) and read-only database (8), PostgreSQL's disk full (53100) and
/// read-only transaction (25006).
fn cannot_write(e: &dyn sqlx::error::DatabaseError) -> bool {
    matches!(e.code().as_deref(), Some("13" | "8" | "53100" | "25006"))
}

/// SQLite's "database is locked" and PostgreSQL's serialization/deadlock failures pass on retry.
fn is_busy(e: &dyn sqlx::error::DatabaseError) -> bool {
    matches!(e.code().as_deref(), Some("5" | "6" | "40001" | "40P01" | "55P03"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_query_says_what_failed_what_to_do_and_keeps_the_drivers_text() {
        let lost = StoreError::from(sqlx::Error::PoolTimedOut);
        let said = lost.to_string();
        assert!(said.starts_with("the database could not be reached"), "{said}");
        assert!(said.contains("apsync check --online"), "{said}");
        assert!(
            said.ends_with(&format!("Detail: {}", sqlx::Error::PoolTimedOut)),
            "{said}"
        );
        assert_eq!(lost.kind(), ErrorKind::Transient);

        let odd = StoreError::from(sqlx::Error::ColumnNotFound("code".into()));
        assert_eq!(
            QueryFailure::of(&sqlx::Error::ColumnNotFound("code".into())),
            QueryFailure::Unexpected
        );
        assert!(odd.to_string().contains("restore the last backup"), "{odd}");
        assert_eq!(odd.kind(), ErrorKind::Permanent);
    }
}
