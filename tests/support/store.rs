//! Test stores on both backends, and the sample roster loaded into one.

use apsync::config::{DatabaseConfig, DatabaseUrl, ProviderConfig};
use apsync::domain::PresentCode;
use apsync::roster::{PlacementRecord, PupilRecord, RosterColumns, parse_placements, parse_pupils};
use apsync::store::Store;
use chrono::{DateTime, Utc};

/// The sample providers.
pub const PROVIDERS: &[&str] = &[
    "bright-futures",
    "skills-hub",
    "riverside-farm",
    "boxing-academy",
    "northstar",
];

/// Keeps whatever backs a test store alive for the test's duration.
#[allow(dead_code)]
pub enum Guard {
    /// The temp folder of an SQLite file.
    Sqlite(tempfile::TempDir),
    /// A PostgreSQL test database.
    Postgres(super::postgres::TestDatabase),
}

impl Guard {
    /// The database configuration, to open the same store again (a restart).
    pub fn config(&self) -> DatabaseConfig {
        let url = match self {
            Guard::Sqlite(dir) => DatabaseUrl::Sqlite(dir.path().join("apsync.db")),
            Guard::Postgres(db) => DatabaseUrl::Postgres(db.url().to_string()),
        };
        DatabaseConfig {
            url,
            password_file: None,
            max_connections: 4,
            tls: Default::default(),
        }
    }
}

/// A store on a temp SQLite file.
pub async fn sqlite_store() -> (Store, Guard) {
    let guard = Guard::Sqlite(tempfile::tempdir().unwrap());
    (Store::open(&guard.config(), None).await.unwrap(), guard)
}

/// A store on a fresh PostgreSQL database.
pub async fn postgres_store() -> (Store, Guard) {
    let guard = Guard::Postgres(super::postgres::test_database().await);
    (Store::open(&guard.config(), None).await.unwrap(), guard)
}

/// `2026-03-01T08:00:00Z` and the like.
pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The sample MIS export.
pub fn sample_pupils() -> Vec<PupilRecord> {
    parse_pupils(
        include_bytes!("../../samples/roster/pupils.csv"),
        &RosterColumns::default(),
    )
    .unwrap()
}

/// The sample placements.
pub fn sample_placements() -> Vec<PlacementRecord> {
    parse_placements(
        include_bytes!("../../samples/roster/placements.csv"),
        &RosterColumns::default(),
        PROVIDERS,
    )
    .unwrap()
}

/// The sample providers as configured.
pub fn providers() -> Vec<ProviderConfig> {
    PROVIDERS
        .iter()
        .map(|id| ProviderConfig {
            id: id.to_string(),
            name: id.to_string(),
            present_code: PresentCode::B,
            urn: None,
            ukprn: None,
            qa_approval_expires: None,
            contact_email: None,
            format: None,
            alerts: Default::default(),
        })
        .collect()
}

/// Loads the sample roster.
pub async fn with_roster(store: &Store) {
    store
        .sync_providers(&providers(), t("2026-03-01T08:00:00Z"))
        .await
        .unwrap();
    store
        .import_roster(&sample_pupils(), Some(&sample_placements()), t("2026-03-01T08:00:00Z"))
        .await
        .unwrap();
}
