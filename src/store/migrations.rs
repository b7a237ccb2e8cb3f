//! Embedded schema migrations, one set per backend, applied by sqlx's migrator (checksummed, so a
//! migration edited after release is refused rather than silently diverging).

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::{Backend, Store, StoreError};

use crate::bundled::MIGRATIONS;
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
