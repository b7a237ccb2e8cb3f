//! PostgreSQL (and SQLite) databases for integration tests.
//!
//! [`test_database`] hands each test a fresh, empty, uniquely named database and drops it again when
//! the returned [`TestDatabase`] is dropped. The server behind it is chosen once per test process:
//!
//! 1. `TEST_DATABASE_URL`, if set: the databases are created on that server (it must answer);
//! 2. else `postgres://postgres@127.0.0.1:5432`, if it answers a real query (the test URLs then
//!    end in `?sslmode=disable`: TLS on loopback only slows every connection down);
//! 3. else a throwaway cluster ([`start_throwaway_cluster`]): `initdb` + `postgres` in a temp dir
//!    on a free port, run as the `postgres` OS user when the tests run as root. It is stopped and
//!    its directory removed when the test process ends, however it ends (see [`ThrowawayCluster`]).
//!
//! Set `APSYNC_TEST_KEEP_DB=1` to keep the test databases for a post-mortem (their URLs are
//! printed on stderr).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;

/// The PostgreSQL server used by [`test_database`] in this process (chosen once).
static SERVER: OnceCell<Server> = OnceCell::const_new();

/// Counts the databases made by this process, for unique names.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The prefix of every database name made by this harness.
const DB_PREFIX: &str = "apsync_test_";

/// What to tell a developer when no PostgreSQL server can be had.
const HOW_TO_GET_POSTGRES: &str = "PostgreSQL for the tests: either set TEST_DATABASE_URL=postgres://USER@HOST:PORT/DB \
     (a server where USER may CREATE DATABASE), or run a server on 127.0.0.1:5432 with trust auth for \
     user postgres, or install the server binaries so the tests can start a throwaway cluster: \
     `apt-get install postgresql` on Debian/Ubuntu (initdb and postgres under /usr/lib/postgresql/*/bin); \
     `scripts/test` installs it when run as root";

/// A fresh, empty PostgreSQL database for one test; dropped (`WITH (FORCE)`) when this is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
}

impl TestDatabase {
    /// The database URL, `postgres://postgres@127.0.0.1:PORT/apsync_test_…` (`?sslmode=disable`
    /// on 5432; on the server of `TEST_DATABASE_URL`, with its user, password and parameters).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database name, `apsync_test_<pid>_<n>_<nanos>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of the maintenance database on the same server (used to create and drop).
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// A small pool on this database, created in the calling test's runtime.
    pub async fn pool(&self) -> PgPool {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connecting to test database {}: {e}", self.url))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if std::env::var_os("APSYNC_TEST_KEEP_DB").is_some_and(|v| !v.is_empty() && v != "0") {
            eprintln!("apsync test support: keeping {}", self.url);
            return;
        }
        // Drop is sync and may run inside (or outside) a test's runtime: use a thread with its own.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let result = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?
                .block_on(drop_database(&admin_url, &name))
        })
        .join();
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("apsync test support: could not drop {}: {e}", self.name),
            Err(_) => eprintln!("apsync test support: dropping {} panicked", self.name),
        }
    }
}

/// A fresh, empty, uniquely named database on the test server (see the module docs for which).
///
/// Panics with what is missing and how to install it when no server can be had.
pub async fn test_database() -> TestDatabase {
    let server = server().await;
    let name = unique_name();
    let admin_url = server.admin_url.clone();
    let url = with_database(&admin_url, &name)
        .unwrap_or_else(|e| panic!("building the test database URL from {admin_url}: {e}"));
    let create = format!(
        "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'",
        quote_ident(&name)
    );
    let mut conn = connect(&admin_url, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("connecting to the test server {admin_url}: {e}"));
    sqlx::raw_sql(AssertSqlSafe(create))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("creating test database {name} on {admin_url}: {e}"));
    let _ = conn.close().await;
    TestDatabase { name, url, admin_url }
}

/// Which kind of server [`test_database`] uses in this process: `"TEST_DATABASE_URL"`,
/// `"127.0.0.1:5432"` or `"throwaway cluster"` (starting it if needed).
pub async fn server_kind() -> &'static str {
    server().await.kind
}

/// A URL for a SQLite database file in `dir` (created on first connect: `mode=rwc`).
pub fn sqlite_url(dir: &Path) -> String {
    let mut path = String::new();
    for c in dir.join("apsync-test.sqlite3").to_string_lossy().chars() {
        match c {
            // sqlx percent-decodes the path and splits it at '?'.
            '%' | '?' | '#' => {
                let _ = write!(path, "%{:02X}", c as u32);
            }
            c => path.push(c),
        }
    }
    format!("sqlite://{path}?mode=rwc")
}

/// The server chosen for this process.
struct Server {
    kind: &'static str,
    admin_url: String,
    /// Kept alive for the whole process; its guardian stops it when the process ends.
    _cluster: Option<ThrowawayCluster>,
}

async fn server() -> &'static Server {
    match SERVER.get_or_try_init(choose_server).await {
        Ok(server) => server,
        Err(e) => panic!("apsync test support: no PostgreSQL server for the tests.\n{e}"),
    }
}

async fn choose_server() -> Result<Server, String> {
    if let Some(url) = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        probe(&url, Duration::from_secs(15))
            .await
            .map_err(|e| format!("TEST_DATABASE_URL={url} does not answer: {e}"))?;
        eprintln!("apsync test support: PostgreSQL from TEST_DATABASE_URL");
        return Ok(Server {
            kind: "TEST_DATABASE_URL",
            admin_url: url,
            _cluster: None,
        });
    }

    // Debian's cluster has ssl = on, and sslmode=prefer would make every connection of every test
    // do a TLS handshake on loopback (>1 s per smoke test in a debug build): plain TCP instead.
    let local = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 5432));
    let why_not_local = match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
        Err(e) => format!("nothing answers on 127.0.0.1:5432 ({e})"),
        Ok(_) => match probe(local, Duration::from_secs(10)).await {
            Ok(()) => {
                sweep_stale_databases(local).await;
                return Ok(Server {
                    kind: "127.0.0.1:5432",
                    admin_url: local.to_owned(),
                    _cluster: None,
                });
            }
            Err(e) => {
                format!("127.0.0.1:5432 answers but not as user postgres with trust auth ({e})")
            }
        },
    };

    match start_throwaway_cluster().await {
        Ok(cluster) => {
            eprintln!(
                "apsync test support: {why_not_local}; started a throwaway cluster on port {} in {}",
                cluster.port(),
                cluster.dir().display()
            );
            Ok(Server {
                kind: "throwaway cluster",
                admin_url: cluster.admin_url(),
                _cluster: Some(cluster),
            })
        }
        Err(e) => Err(format!(
            "- {why_not_local}\n- no throwaway cluster either: {e}\n{HOW_TO_GET_POSTGRES}"
        )),
    }
}

/// Connect and run a real query.
async fn probe(url: &str, timeout: Duration) -> Result<(), String> {
    let mut conn = connect(url, timeout).await?;
    let one: i32 = sqlx::query_scalar("select 1")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let _ = conn.close().await;
    if one == 1 {
        Ok(())
    } else {
        Err(format!("select 1 returned {one}"))
    }
}

async fn connect(url: &str, timeout: Duration) -> Result<PgConnection, String> {
    match tokio::time::timeout(timeout, PgConnection::connect(url)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no connection within {timeout:?}")),
    }
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), String> {
    let mut conn = connect(admin_url, Duration::from_secs(30)).await?;
    let ident = quote_ident(name);
    let forced = format!("DROP DATABASE IF EXISTS {ident} WITH (FORCE)");
    if sqlx::raw_sql(AssertSqlSafe(forced)).execute(&mut conn).await.is_err() {
        // PostgreSQL < 13 has no WITH (FORCE): end the sessions by hand, then drop.
        sqlx::query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1")
            .bind(name)
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {ident}")))
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
    }
    let _ = conn.close().await;
    Ok(())
}

/// Drop databases left on the local server by test processes of this machine that are gone
/// (killed before their `Drop` ran).
async fn sweep_stale_databases(admin_url: &str) {
    let Ok(mut conn) = connect(admin_url, Duration::from_secs(10)).await else {
        return;
    };
    let names: Vec<String> =
        sqlx::query_scalar(r"select datname from pg_database where datname like 'apsync\_test\_%'")
            .fetch_all(&mut conn)
            .await
            .unwrap_or_default();
    let _ = conn.close().await;
    for name in names {
        let pid = name[DB_PREFIX.len()..]
            .split('_')
            .next()
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = drop_database(admin_url, &name).await;
        }
    }
}

fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{DB_PREFIX}{}_{n}_{:x}", std::process::id(), nanos)
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `url` with its database (path) replaced by `db`, user, password, host, port and `?params` kept.
fn with_database(url: &str, db: &str) -> Result<String, String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| "not a URL (no ://)".to_owned())?;
    let (main, query) = match rest.find('?') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = main.split('/').next().unwrap_or(main);
    Ok(format!("{scheme}://{authority}/{db}{query}"))
}

// ---------------------------------------------------------------------------------------------
// Throwaway cluster
// ---------------------------------------------------------------------------------------------

/// Stops `postgres` and removes the cluster's directory once its stdin reaches end of file: when
/// the [`ThrowawayCluster`] is dropped or stopped, and also when the test process dies in any way
/// (the kernel closes the pipe). `$1` = directory, the rest = the command that runs `postgres`.
const GUARDIAN: &str = r#"
dir=$1; shift
"$@" </dev/null >>"$dir/server.log" 2>&1 &
pg=$!
trap '' INT TERM HUP
echo "$pg"
while read -r _; do :; done
kill -INT "$pg" 2>/dev/null
wait "$pg"
rm -rf "$dir"
"#;

/// A PostgreSQL cluster of its own in a temp dir, listening on 127.0.0.1 on a free port, trust auth
/// for user `postgres`, `fsync=off`.
///
/// `postgres` runs as the child of a tiny `sh` guardian (in its own process group, so a Ctrl-C
/// does not hit it) whose stdin is a pipe from this process. Dropping the cluster, [`stop`], or the
/// death of the test process (even by SIGKILL) closes that pipe; the guardian then stops `postgres`
/// (fast shutdown), waits for it and removes the directory.
///
/// [`stop`]: ThrowawayCluster::stop
#[derive(Debug)]
pub struct ThrowawayCluster {
    dir: PathBuf,
    port: u16,
    postgres_pid: u32,
    guardian: Option<Child>,
    guardian_stdin: Option<ChildStdin>,
}

impl ThrowawayCluster {
    /// The port it listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The PID of the `postgres` server process.
    pub fn postgres_pid(&self) -> u32 {
        self.postgres_pid
    }

    /// The PID of the guardian `sh`.
    pub fn guardian_pid(&self) -> Option<u32> {
        self.guardian.as_ref().map(Child::id)
    }

    /// The temp dir: `data/` (the cluster), `server.log`, the Unix socket.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stop the server and remove its directory; returns once both are done.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        drop(self.guardian_stdin.take());
        if let Some(mut guardian) = self.guardian.take() {
            let _ = guardian.wait();
        }
    }
}

impl Drop for ThrowawayCluster {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Start a throwaway cluster (see [`ThrowawayCluster`]): ~1 s, mostly `initdb`.
///
/// Runs `initdb`/`postgres` from `/usr/lib/postgresql/<highest>/bin` (or `$PATH`), as the
/// `postgres` OS user through `setpriv` when running as root (initdb refuses root).
pub async fn start_throwaway_cluster() -> Result<ThrowawayCluster, String> {
    let bindir = find_pg_bindir()?;
    let run_as = if effective_uid_is_root() {
        Some(unprivileged_user()?)
    } else {
        None
    };
    let mut last_err = String::new();
    for _attempt in 0..4 {
        match start_once(&bindir, run_as.as_ref()).await {
            Ok(cluster) => return Ok(cluster),
            Err(StartError::PortTaken(e)) => last_err = e,
            Err(StartError::Other(e)) => return Err(e),
        }
    }
    Err(format!("no free port after 4 tries: {last_err}"))
}

enum StartError {
    PortTaken(String),
    Other(String),
}

struct RunAs {
    name: String,
    uid: u32,
    gid: u32,
}

async fn start_once(bindir: &Path, run_as: Option<&RunAs>) -> Result<ThrowawayCluster, StartError> {
    let other = StartError::Other;
    let tmp = tempfile::Builder::new()
        .prefix("apsync-pg-")
        .tempdir()
        .map_err(|e| other(format!("creating a temp dir: {e}")))?;
    let dir = tmp.path().to_path_buf();
    if let Some(user) = run_as {
        std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid))
            .map_err(|e| other(format!("chown {} to {}: {e}", dir.display(), user.name)))?;
    }

    // initdb (sync; ~0.6-0.9 s)
    let data = dir.join("data");
    let mut initdb = command_as(run_as, &bindir.join("initdb"), false);
    initdb
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "--auth=trust", "-E", "UTF8"])
        .args(["--locale=C.UTF-8", "--no-sync", "--no-instructions"])
        .current_dir(&dir)
        .stdin(Stdio::null());
    let out = initdb.output().map_err(|e| other(format!("running {initdb:?}: {e}")))?;
    if !out.status.success() {
        return Err(other(format!(
            "initdb failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }

    // postgres, as the child of the guardian
    let port = free_port().map_err(|e| other(format!("finding a free port: {e}")))?;
    let postgres = command_as(run_as, &bindir.join("postgres"), true);
    let mut guardian = Command::new("sh");
    guardian
        .arg("-c")
        .arg(GUARDIAN)
        .arg("sh")
        .arg(&dir)
        .arg(postgres.get_program())
        .args(postgres.get_args())
        .arg("-D")
        .arg(&data)
        .arg("-p")
        .arg(port.to_string())
        .arg("-k")
        .arg(&dir)
        .args(["-c", "listen_addresses=127.0.0.1"])
        .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
        .args(["-c", "full_page_writes=off", "-c", "max_connections=200"])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut guardian, 0);
    let mut child = guardian.spawn().map_err(|e| other(format!("spawning sh: {e}")))?;
    // From here on the guardian owns the directory's removal.
    let _ = tmp.keep();
    let guardian_stdin = child.stdin.take();
    let mut pid_line = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = BufReader::new(stdout).read_line(&mut pid_line);
    }
    let postgres_pid = pid_line.trim().parse::<u32>().ok();
    let mut cluster = ThrowawayCluster {
        dir: dir.clone(),
        port,
        postgres_pid: postgres_pid.unwrap_or(0),
        guardian: Some(child),
        guardian_stdin,
    };
    let Some(postgres_pid) = postgres_pid else {
        cluster.shutdown();
        return Err(other(format!("the guardian sh printed no PID ({pid_line:?})")));
    };

    // Ready = a real query answers.
    let url = cluster.admin_url();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last: String;
    loop {
        if !process_alive(postgres_pid) {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            cluster.shutdown();
            let msg = format!("postgres exited at startup on port {port}:\n{log}");
            return Err(if log.contains("could not bind") || log.contains("already in use") {
                StartError::PortTaken(msg)
            } else {
                other(msg)
            });
        }
        match probe(&url, Duration::from_secs(5)).await {
            Ok(()) => return Ok(cluster),
            Err(e) => last = e,
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            cluster.shutdown();
            return Err(other(format!(
                "postgres did not answer on port {port} within 60 s ({last}):\n{log}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `program`, run as `user` through setpriv when given. With `death_signal`, the program also gets
/// SIGINT (fast shutdown, for `postgres`) if its parent dies: a second line of defence should the
/// guardian itself be killed.
fn command_as(user: Option<&RunAs>, program: &Path, death_signal: bool) -> Command {
    let setpriv = which("setpriv");
    match (user, setpriv) {
        (Some(user), Some(setpriv)) => {
            let mut cmd = Command::new(setpriv);
            cmd.arg(format!("--reuid={}", user.uid))
                .arg(format!("--regid={}", user.gid))
                .args(["--clear-groups", "--inh-caps=-all"]);
            if death_signal {
                cmd.args(["--pdeathsig", "INT"]);
            }
            cmd.arg(program);
            cmd
        }
        (None, Some(setpriv)) if death_signal => {
            let mut cmd = Command::new(setpriv);
            cmd.args(["--pdeathsig", "INT"]).arg(program);
            cmd
        }
        // unprivileged_user() has checked that setpriv exists when a user is given.
        _ => Command::new(program),
    }
}

/// Is `pid` a live (not zombie) process?
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "pid (comm) S ...": the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}

/// A port nobody listens on now (a race with other processes is possible but harmless in tests).
pub fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

fn effective_uid_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// The OS user to run the cluster as when we are root: `postgres`, else `nobody`.
fn unprivileged_user() -> Result<RunAs, String> {
    if which("setpriv").is_none() {
        return Err("running as root, and initdb refuses root, but `setpriv` is missing: \
             apt-get install util-linux"
            .to_owned());
    }
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| format!("/etc/passwd: {e}"))?;
    for wanted in ["postgres", "nobody"] {
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() >= 4
                && fields[0] == wanted
                && let (Ok(uid), Ok(gid)) = (fields[2].parse(), fields[3].parse())
            {
                return Ok(RunAs {
                    name: wanted.to_owned(),
                    uid,
                    gid,
                });
            }
        }
    }
    Err(
        "running as root, and initdb refuses root, but there is no `postgres` (nor `nobody`) \
         user: apt-get install postgresql creates it"
            .to_owned(),
    )
}

/// The directory holding `initdb` and `postgres`: the highest `/usr/lib/postgresql/<v>/bin`,
/// else where `initdb` on `$PATH` really lives.
fn find_pg_bindir() -> Result<PathBuf, String> {
    let has_both = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, bin)| has_both(bin))
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    if let Some(initdb) = which("initdb")
        && let Some(bin) = std::fs::canonicalize(&initdb)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
        && has_both(&bin)
    {
        return Ok(bin);
    }
    Err("PostgreSQL server binaries not found (no initdb + postgres under \
         /usr/lib/postgresql/*/bin nor on PATH): apt-get install postgresql"
        .to_owned())
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}
