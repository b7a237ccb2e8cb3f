//! A throwaway apsync installation: the example configuration and its provider formats in a temp
//! folder, the database inside it (or a PostgreSQL URL given through `APSYNC__DATABASE__URL`, as
//! IT would override it), and a way to run the real binary against it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One installation.
pub struct Install {
    /// The temp folder holding everything.
    pub dir: tempfile::TempDir,
    /// A PostgreSQL URL overriding the SQLite file, if set.
    pub database_url: Option<String>,
}

impl Install {
    /// The example configuration with its database in the folder.
    pub fn new(database_url: Option<String>) -> Install {
        let dir = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(root().join("config/apsync.example.toml"))
            .unwrap()
            .replace(
                "url = \"sqlite:///var/lib/apsync/apsync.db\"",
                &format!("url = \"sqlite://{}\"", dir.path().join("apsync.db").display()),
            );
        std::fs::write(dir.path().join("apsync.toml"), text).unwrap();
        let formats = dir.path().join("formats");
        std::fs::create_dir(&formats).unwrap();
        for entry in std::fs::read_dir(root().join("config/formats")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), formats.join(entry.file_name())).unwrap();
        }
        Install { dir, database_url }
    }

    /// The configuration file.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("apsync.toml")
    }

    /// A path inside the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `apsync --config <this> ARGS...`.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_apsync"));
        cmd.arg("--config")
            .arg(self.config())
            .args(args)
            .env_remove("APSYNC_CONFIG");
        if let Some(url) = &self.database_url {
            cmd.env("APSYNC__DATABASE__URL", url);
        }
        cmd.output().unwrap()
    }

    /// Runs under `/usr/bin/time` (the Debian package `time`, which `scripts/test` installs),
    /// returning the output and the process's peak resident memory in KiB.
    pub fn run_measured(&self, args: &[&str]) -> (Output, u64) {
        assert!(
            std::path::Path::new("/usr/bin/time").exists(),
            "/usr/bin/time is missing: install the Debian package `time` (scripts/test does)"
        );
        let report = self.path("time.txt");
        let mut cmd = Command::new("/usr/bin/time");
        cmd.arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&report)
            .arg(env!("CARGO_BIN_EXE_apsync"))
            .arg("--config")
            .arg(self.config())
            .args(args)
            .env_remove("APSYNC_CONFIG");
        if let Some(url) = &self.database_url {
            cmd.env("APSYNC__DATABASE__URL", url);
        }
        let out = cmd.output().unwrap();
        let text = std::fs::read_to_string(&report).unwrap();
        // The last line is the figure; a line before it says when the command failed.
        let kib = text
            .lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .next_back()
            .unwrap_or_else(|| panic!("no peak memory reported: {text}"));
        (out, kib)
    }

    /// Runs and returns standard output, failing the test (with standard error) if it fails.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs `import` or `sync`, which did their work when they exit 0, or 3 when some rows wait
    /// for a person; any other status fails the test. Returns standard output.
    pub fn done(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "{args:?} failed ({:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs (which must succeed) and parses standard output as JSON.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    /// Appends a `[[connector]]` with the given transport table (e.g. `[connector.sftp] ...`).
    pub fn add_connector(&self, id: &str, provider: &str, table: &str) {
        let mut text = std::fs::read_to_string(self.config()).unwrap();
        text.push_str(&format!(
            "\n[[connector]]\nid = \"{id}\"\nprovider = \"{provider}\"\n{table}\n"
        ));
        std::fs::write(self.config(), text).unwrap();
    }

    /// Runs `sync --format json` (optionally for one connector) and returns its report rows,
    /// whether or not it succeeded.
    pub fn sync(&self, connector: Option<&str>) -> Vec<serde_json::Value> {
        let mut args = vec!["sync", "--format", "json"];
        if let Some(id) = connector {
            args.extend(["--connector", id]);
        }
        let out = self.run(&args);
        match serde_json::from_slice::<serde_json::Value>(&out.stdout) {
            Ok(serde_json::Value::Array(rows)) => rows,
            _ => panic!("sync printed no report: {}", String::from_utf8_lossy(&out.stderr)),
        }
    }

    /// The register as `marks --format csv` prints it.
    pub fn marks(&self) -> String {
        self.ok(&["marks", "--format", "csv"])
    }

    /// Loads the sample roster.
    pub fn import_sample_roster(&self) {
        let roster = root().join("samples/roster");
        self.ok(&[
            "roster",
            "import",
            "--pupils",
            roster.join("pupils.csv").to_str().unwrap(),
            "--placements",
            roster.join("placements.csv").to_str().unwrap(),
        ]);
    }

    /// Imports every sample return, each provider's files in name order.
    pub fn import_sample_returns(&self) {
        self.import_sample_returns_at(None);
    }

    /// [`Install::import_sample_returns`] with the clock at `now` (`--now`) when given.
    pub fn import_sample_returns_at(&self, now: Option<&str>) {
        let returns = root().join("samples/returns");
        for dir in sorted(&returns) {
            let provider = dir.file_name().unwrap().to_str().unwrap().to_string();
            let mut args: Vec<String> = now.iter().flat_map(|n| ["--now".to_string(), n.to_string()]).collect();
            args.extend(["import".to_string(), "--provider".into(), provider]);
            args.extend(sorted(&dir).iter().map(|f| f.to_str().unwrap().to_string()));
            self.done(&args.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }
}

fn sorted(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    paths
}
