//! Generates `bundled.rs`: the schema migrations (one file per version and backend under
//! `src/store/migrations/`, paired by name, so adding a migration is adding two files), and the
//! sample returns and provider formats that `apsync demo` embeds.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut code = String::from(
        "/// (provider, file name, bytes) of every demo return (the project's fixtures), in name order.\n",
    );
    code.push_str("pub const DEMO_RETURNS: &[(&str, &str, &[u8])] = &[\n");
    let returns = root.join("fixtures/returns");
    println!("cargo::rerun-if-changed={}", returns.display());
    for (provider, files) in listing(&returns) {
        for file in files {
            let path = returns.join(&provider).join(&file);
            let _ = writeln!(
                code,
                "    ({provider:?}, {file:?}, include_bytes!({:?})),",
                path.display().to_string()
            );
        }
    }
    code.push_str("];\n\n/// (file name, text) of every demo provider format.\n");
    code.push_str("pub const FORMATS: &[(&str, &str)] = &[\n");
    let formats = root.join("fixtures/formats");
    println!("cargo::rerun-if-changed={}", formats.display());
    for file in names(&formats) {
        let path = formats.join(&file);
        let _ = writeln!(code, "    ({file:?}, include_str!({:?})),", path.display().to_string());
    }
    code.push_str("];\n");
    code.push_str(&migrations(root));
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("bundled.rs");
    if let Err(e) = std::fs::write(&out, code) {
        println!("cargo::error=cannot write {}: {e}", out.display());
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn listing(dir: &Path) -> Vec<(String, Vec<String>)> {
    names(dir)
        .into_iter()
        .map(|p| (p.clone(), names(&dir.join(&p))))
        .collect()
}

/// `MIGRATIONS: &[(version, description, sqlite sql, postgres sql)]` from `NNNN_name.sql` pairs.
fn migrations(root: &Path) -> String {
    let dir = root.join("src/store/migrations");
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut code = String::from(
        "\n/// (version, description, SQLite text, PostgreSQL text) of every schema migration, in order.\n\
         pub const MIGRATIONS: &[(i64, &str, &str, &str)] = &[\n",
    );
    for name in names(&dir.join("sqlite")) {
        let Some((version, rest)) = name.strip_suffix(".sql").and_then(|n| n.split_once('_')) else {
            println!("cargo::error=migration {name} is not named NNNN_description.sql");
            continue;
        };
        let Ok(version) = version.parse::<i64>() else {
            println!("cargo::error=migration {name} does not start with a number");
            continue;
        };
        let (sqlite, pg) = (dir.join("sqlite").join(&name), dir.join("postgres").join(&name));
        if !pg.exists() {
            println!(
                "cargo::error=migration {name} has no PostgreSQL twin in {}",
                pg.display()
            );
        }
        let _ = writeln!(
            code,
            "    ({version}, {rest:?}, include_str!({:?}), include_str!({:?})),",
            sqlite.display().to_string(),
            pg.display().to_string()
        );
    }
    code.push_str("];\n");
    code
}
