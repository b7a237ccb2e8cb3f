//! Proves the shared test harness (`tests/support/`) works: test databases on whichever server the
//! harness picks, the throwaway-cluster path on every run, and its cleanup even when the test
//! process is killed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};

use crate::support::postgres::{process_alive, server_kind, sqlite_url, start_throwaway_cluster, test_database};

async fn database_exists(admin_url: &str, name: &str) -> bool {
    let mut conn = PgConnection::connect(admin_url).await.unwrap();
    let n: i64 = sqlx::query_scalar("select count(*) from pg_database where datname = $1")
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    n == 1
}

#[tokio::test]
async fn test_databases_are_distinct_empty_usable_and_dropped() {
    let a = test_database().await;
    let b = test_database().await;
    eprintln!("server: {}; {} and {}", server_kind().await, a.url(), b.url());
    assert_ne!(a.name(), b.name());
    assert_ne!(a.url(), b.url());
    assert!(a.name().starts_with(&format!("apsync_test_{}_", std::process::id())));

    let pool_a = a.pool().await;
    let pool_b = b.pool().await;
    for (db, pool) in [(&a, &pool_a), (&b, &pool_b)] {
        assert!(db.url().contains(&format!("/{}", db.name())), "{}", db.url());
        let one: i32 = sqlx::query_scalar("select 1").fetch_one(pool).await.unwrap();
        assert_eq!(one, 1);
        let current: String = sqlx::query_scalar("select current_database()::text")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(current, db.name());
        let tables: i64 =
            sqlx::query_scalar("select count(*) from information_schema.tables where table_schema = 'public'")
                .fetch_one(pool)
                .await
                .unwrap();
        assert_eq!(tables, 0, "a fresh database is empty");
    }

    // Isolation: a table made in one is not in the other.
    sqlx::query("create table t (x int)").execute(&pool_a).await.unwrap();
    let in_b: i64 = sqlx::query_scalar("select count(*) from information_schema.tables where table_name = 't'")
        .fetch_one(&pool_b)
        .await
        .unwrap();
    assert_eq!(in_b, 0);

    // Dropping works while a pool still holds a connection (DROP ... WITH (FORCE)).
    let (admin, name_a, name_b) = (a.admin_url().to_owned(), a.name().to_owned(), b.name().to_owned());
    let _held = pool_a.acquire().await.unwrap();
    assert!(database_exists(&admin, &name_a).await);
    drop(a);
    assert!(!database_exists(&admin, &name_a).await, "{name_a} is gone");
    pool_b.close().await;
    drop(b);
    assert!(!database_exists(&admin, &name_b).await, "{name_b} is gone");
}

#[tokio::test]
async fn throwaway_cluster_starts_answers_and_stops() {
    let t0 = Instant::now();
    let cluster = start_throwaway_cluster().await.unwrap_or_else(|e| panic!("{e}"));
    let started = t0.elapsed();
    let (pid, dir, port) = (cluster.postgres_pid(), cluster.dir().to_owned(), cluster.port());
    assert!(process_alive(pid));
    assert!(dir.join("data/PG_VERSION").is_file());

    let mut conn = PgConnection::connect(&cluster.admin_url()).await.unwrap();
    let one: i32 = sqlx::query_scalar("select 1").fetch_one(&mut conn).await.unwrap();
    assert_eq!(one, 1);
    let fsync: String = sqlx::query_scalar("show fsync").fetch_one(&mut conn).await.unwrap();
    assert_eq!(fsync, "off");
    // Left open on purpose: the stop is a fast shutdown that does not wait for clients.
    let _still_open = conn;

    let t1 = Instant::now();
    cluster.stop();
    let stopped = t1.elapsed();
    eprintln!("throwaway cluster: start {started:?}, stop {stopped:?}");
    assert!(!process_alive(pid), "postgres {pid} is gone after stop()");
    assert!(!dir.exists(), "{} is removed", dir.display());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} is closed"
    );
}

/// Run by `throwaway_cluster_dies_with_a_killed_test_process` in a child process, which it kills.
#[tokio::test]
#[ignore = "helper: run only by throwaway_cluster_dies_with_a_killed_test_process"]
async fn throwaway_cluster_helper() {
    if std::env::var_os("APSYNC_SMOKE_HELPER").is_none() {
        return;
    }
    let cluster = start_throwaway_cluster().await.unwrap_or_else(|e| panic!("{e}"));
    println!(
        "CLUSTER {} {} {}",
        cluster.postgres_pid(),
        cluster.guardian_pid().unwrap(),
        cluster.dir().display()
    );
    tokio::time::sleep(Duration::from_secs(120)).await;
    drop(cluster);
}

#[test]
fn throwaway_cluster_dies_with_a_killed_test_process() {
    // The helper's name as the test binary knows it: its module path without the crate's name.
    let helper = match module_path!().split_once("::") {
        Some((_, module)) => format!("{module}::throwaway_cluster_helper"),
        None => "throwaway_cluster_helper".to_string(),
    };
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([helper.as_str(), "--exact", "--ignored", "--nocapture"])
        .env("APSYNC_SMOKE_HELPER", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut found = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("CLUSTER ") {
            let mut parts = rest.splitn(3, ' ');
            let pg: u32 = parts.next().unwrap().parse().unwrap();
            let guardian: u32 = parts.next().unwrap().parse().unwrap();
            let dir = std::path::PathBuf::from(parts.next().unwrap());
            found = Some((pg, guardian, dir));
            break;
        }
    }
    let Some((pg, guardian, dir)) = found else {
        let _ = child.kill();
        let status = child.wait().unwrap();
        panic!("the helper printed no CLUSTER line ({status})");
    };
    assert!(process_alive(pg) && process_alive(guardian) && dir.exists());

    child.kill().unwrap(); // SIGKILL: no Drop, no destructor runs in the helper
    child.wait().unwrap();

    let t0 = Instant::now();
    while (process_alive(pg) || process_alive(guardian) || dir.exists()) && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!("cleanup after SIGKILL took {:?}", t0.elapsed());
    assert!(!process_alive(pg), "postgres {pg} outlived the killed test process");
    assert!(!process_alive(guardian), "guardian {guardian} outlived it");
    assert!(!dir.exists(), "{} outlived it", dir.display());
}

#[tokio::test]
async fn sqlite_url_opens_a_file_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    assert!(url.starts_with("sqlite://"));
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("create table t (x integer)").execute(&pool).await.unwrap();
    sqlx::query("insert into t values (41 + 1)")
        .execute(&pool)
        .await
        .unwrap();
    let x: i64 = sqlx::query_scalar("select x from t").fetch_one(&pool).await.unwrap();
    assert_eq!(x, 42);
    pool.close().await;
    assert!(dir.path().join("apsync-test.sqlite3").is_file());
}
