//! Embedded schema migrations, one set per backend, applied by sqlx's migrator (checksummed, so a
//! migration edited after release is refused rather than silently diverging).

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::{Backend, Store, StoreError};

/// (version, description, SQLite text, PostgreSQL text).
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[(
    1,
    "foundation",
    include_str!("migrations/sqlite/0001_foundation.sql"),
    include_str!("migrations/postgres/0001_foundation.sql"),
)];

fn migrator(postgres: bool) -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|(version, description, sqlite, pg)| {
                let sql = if postgres { *pg } else { *sqlite };
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

impl Store {
    /// Brings the schema up to date; [`Store::open`] does this, and doing it again changes nothing.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(pool) => migrator(false).run(pool).await?,
            Backend::Postgres(pool) => migrator(true).run(pool).await?,
        }
        Ok(())
    }
}
