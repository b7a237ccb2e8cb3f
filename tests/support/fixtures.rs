//! An installation from any configuration file and formats folder (such as the project's own
//! fixture set in `fixtures/`), and importing a roster folder and a returns folder into it.

use std::path::{Path, PathBuf};

use crate::support::install::Install;

/// The example's database line, which every shipped configuration carries so it can be moved.
const EXAMPLE_DATABASE: &str = "url = \"sqlite:///var/lib/apsync/apsync.db\"";

impl Install {
    /// An installation of `config_path` with `formats_dir` copied to `formats/` next to it (where
    /// `format_file = "formats/<id>.toml"` finds it) and the SQLite database moved into the temp
    /// folder; `database_url`, if given, overrides it as `APSYNC__DATABASE__URL`.
    pub fn from(config_path: &Path, formats_dir: &Path, database_url: Option<String>) -> Install {
        let dir = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(config_path).unwrap();
        assert!(
            text.contains(EXAMPLE_DATABASE),
            "{} has no `{EXAMPLE_DATABASE}` line to move",
            config_path.display()
        );
        let text = text.replace(
            EXAMPLE_DATABASE,
            &format!("url = \"sqlite://{}\"", dir.path().join("apsync.db").display()),
        );
        std::fs::write(dir.path().join("apsync.toml"), text).unwrap();
        let formats = dir.path().join("formats");
        std::fs::create_dir(&formats).unwrap();
        for entry in std::fs::read_dir(formats_dir).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), formats.join(entry.file_name())).unwrap();
        }
        Install { dir, database_url }
    }

    /// Loads `pupils.csv` and `placements.csv` from a roster folder.
    pub fn import_roster_from(&self, roster: &Path) {
        self.ok(&[
            "roster",
            "import",
            "--pupils",
            roster.join("pupils.csv").to_str().unwrap(),
            "--placements",
            roster.join("placements.csv").to_str().unwrap(),
        ]);
    }

    /// Imports a returns folder: a folder per provider (named by its id), providers in name
    /// order, each provider's files in name order.
    pub fn import_returns_from(&self, returns: &Path) {
        for dir in sorted_entries(returns) {
            let provider = dir.file_name().unwrap().to_str().unwrap().to_string();
            let mut args = vec!["import".to_string(), "--provider".into(), provider];
            args.extend(sorted_entries(&dir).iter().map(|f| f.to_str().unwrap().to_string()));
            self.done(&args.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }
}

/// A folder's entries, sorted by name.
pub fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    paths
}
