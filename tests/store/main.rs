//! The store story suite: every story runs on SQLite (a temp file) and on PostgreSQL (a fresh
//! database on the server the harness finds or starts), in every test run. One file per part of
//! the data model. `support_smoke` proves the harness's databases the stories stand on.
//!
//! One test binary per kind of need (see also `files`, `servers` and `library`), so the harness in
//! `tests/support/` is compiled once for each rather than once per file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../support/mod.rs"]
mod support;

mod alerts;
mod outbox;
mod register;
mod rule;
mod runs;
mod support_smoke;
mod text;
mod visits;

use apsync::domain::{Code, Session, Upn};
use apsync::store::{NewDocument, NewMark};
use chrono::NaiveDate;

use support::store::{postgres_store, sqlite_store, t};

/// Runs each story once per backend.
macro_rules! stories {
    ($($part:ident :: $story:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test] async fn $story() { let (s, _g) = super::sqlite_store().await; super::$part::$story(s).await } )*
        }
        mod postgres {
            $( #[tokio::test] async fn $story() { let (s, _g) = super::postgres_store().await; super::$part::$story(s).await } )*
        }
    };
}

stories!(
    register::migrations_are_idempotent,
    register::roster_import_is_an_upsert_that_keeps_leavers,
    register::placements_for_unknown_pupils_refuse_the_whole_import,
    register::same_bytes_import_once,
    register::later_return_replaces_and_history_keeps_the_earlier_mark,
    register::another_providers_mark_is_a_conflict_for_review,
    register::a_document_that_contradicts_itself_sends_the_session_to_review,
    register::rejected_document_writes_nothing_but_the_ledger_row,
    register::review_resolve_writes_the_mark_and_dismiss_keeps_the_record,
    register::marks_are_listed_in_register_order_and_filtered,
    register::checkpoints_compare_and_swap,
    register::status_counts_everything,
    rule::the_stores_sql_applies_the_registers_rule,
    outbox::outbox_delivers_once_and_dead_letters_keep_the_payload,
    outbox::leases_of_senders_gone_from_this_host_are_released_and_no_others,
    outbox::an_acceptance_written_down_before_a_crash_is_not_sent_again,
    visits::visits_are_queued_per_endpoint_and_imported_rows_record_once,
    visits::tokens_are_kept_hashed_and_revocable,
    visits::last_visit_per_placed_pupil_is_the_overdue_hook,
    alerts::alerts_are_raised_once_with_their_email_and_resolved_by_occurrence,
    alerts::ops_facts_count_failed_runs_in_a_row_and_dead_letters,
    runs::runs_cut_short_by_a_gone_process_are_closed_as_interrupted,
    text::nul_bytes_in_cells_are_stored_cleaned_and_the_ledger_keeps_them,
);

pub(crate) fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub(crate) fn upn(s: &str) -> Upn {
    Upn::parse(s).unwrap()
}

pub(crate) fn doc(provider: &str, name: &str, bytes: &[u8]) -> NewDocument {
    NewDocument {
        provider_id: provider.into(),
        connector: "manual".into(),
        external_id: name.into(),
        file_name: name.into(),
        media_type: Some("text/csv".into()),
        bytes: bytes.to_vec(),
        metadata: serde_json::json!({}),
        received_at: t("2026-03-02T10:00:00Z"),
        rejected: None,
    }
}

pub(crate) fn mark(u: &str, date: &str, session: Session, code: Code) -> NewMark {
    NewMark {
        upn: upn(u),
        date: d(date),
        session,
        code,
        raw_mark: code.as_str().into(),
        comment: None,
        locator: "line 2".into(),
        raw_row: vec![u.into(), date.into()],
    }
}

/// `verify-full` really verifies: against the local server's TLS (Debian's cluster serves the
/// snakeoil certificate, made out to `localhost`), the connection is refused without the CA,
/// with a message saying what to do, and made with it.
#[tokio::test]
async fn postgres_verify_full_checks_the_servers_certificate() {
    use apsync::config::{DatabaseConfig, DatabaseTls, DatabaseUrl, SslMode};
    if support::postgres::server_kind().await != "127.0.0.1:5432" {
        eprintln!("not the machine's own PostgreSQL: its TLS is not known, so this is not checked");
        return;
    }
    let db = support::postgres::test_database().await;
    let pool = db.pool().await;
    let ssl: String = sqlx::query_scalar("SHOW ssl").fetch_one(&pool).await.unwrap();
    let cert: String = sqlx::query_scalar("SHOW ssl_cert_file").fetch_one(&pool).await.unwrap();
    pool.close().await;
    if ssl != "on" {
        eprintln!("the local PostgreSQL has TLS off: verify-full is not checked");
        return;
    }
    let url = db.url().split('?').next().unwrap().replace("127.0.0.1", "localhost");
    let config = |ca_file: Option<std::path::PathBuf>| DatabaseConfig {
        url: DatabaseUrl::Postgres(url.clone()),
        password_file: None,
        max_connections: 1,
        tls: DatabaseTls {
            mode: Some(SslMode::VerifyFull),
            ca_file,
        },
    };
    let Err(refused) = apsync::store::Store::open(&config(None), None).await else {
        panic!("an unknown CA is refused");
    };
    let said = refused.to_string();
    assert!(said.contains("database.ca_file"), "{said}");
    let store = apsync::store::Store::open(&config(Some(cert.into())), None)
        .await
        .unwrap();
    store.ping().await.unwrap();
    store.close().await;
}

/// The two backends' migrations build the same schema: the same tables, each with the same
/// columns, of the same kind (SQLite keeps dates and times as text), and the same nullability.
#[tokio::test]
async fn the_sqlite_and_postgresql_schemas_agree() {
    use std::collections::BTreeMap;
    use support::store::Guard;
    type Columns = BTreeMap<(String, String), (String, bool)>;
    let (sqlite, sqlite_guard) = sqlite_store().await;
    let (postgres, postgres_guard) = postgres_store().await;
    drop((sqlite, postgres));
    let Guard::Sqlite(dir) = &sqlite_guard else {
        unreachable!()
    };
    let Guard::Postgres(db) = &postgres_guard else {
        unreachable!()
    };

    let lite = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("apsync.db").display()))
        .await
        .unwrap();
    let rows: Vec<(String, String, String, bool)> = sqlx::query_as(
        "SELECT m.name, p.name, upper(p.type), p.\"notnull\" = 1 OR p.pk > 0 FROM sqlite_master m
         JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'",
    )
    .fetch_all(&lite)
    .await
    .unwrap();
    let kind_sqlite = |t: &str| match t {
        "INTEGER" | "BIGINT" | "BOOLEAN" | "INT" => "integer",
        "BLOB" => "bytes",
        "REAL" | "DOUBLE" => "real",
        _ => "text",
    };
    let lite_columns: Columns = rows
        .into_iter()
        .map(|(t, c, ty, not_null)| ((t, c), (kind_sqlite(&ty).to_string(), not_null)))
        .collect();

    let pg = db.pool().await;
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'",
    )
    .fetch_all(&pg)
    .await
    .unwrap();
    let kind_pg = |t: &str| match t {
        "integer" | "bigint" | "smallint" | "boolean" => "integer",
        "bytea" => "bytes",
        "real" | "double precision" | "numeric" => "real",
        _ => "text",
    };
    let pg_columns: Columns = rows
        .into_iter()
        .map(|(t, c, ty, nullable)| ((t, c), (kind_pg(&ty).to_string(), nullable == "NO")))
        .collect();

    let only = |a: &Columns, b: &Columns| -> Vec<(String, String)> {
        a.keys().filter(|k| !b.contains_key(*k)).cloned().collect()
    };
    assert!(lite_columns.len() > 50, "the schema was read: {lite_columns:?}");
    assert_eq!(
        only(&lite_columns, &pg_columns),
        Vec::<(String, String)>::new(),
        "columns only SQLite has"
    );
    assert_eq!(
        only(&pg_columns, &lite_columns),
        Vec::<(String, String)>::new(),
        "columns only PostgreSQL has"
    );
    let differing: Vec<_> = lite_columns
        .iter()
        .filter(|(k, v)| pg_columns.get(*k) != Some(*v))
        .map(|(k, v)| format!("{}.{}: SQLite {v:?}, PostgreSQL {:?}", k.0, k.1, pg_columns.get(k)))
        .collect();
    assert!(
        differing.is_empty(),
        "columns that differ in kind or nullability:\n{}",
        differing.join("\n")
    );
}
