//! `demo`: a self-contained run on the bundled sample data.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::cli::output::Format;
use crate::cli::{CliError, Context};

/// The demo runs on the example configuration, with its database moved into the demo folder.
const EXAMPLE_CONFIG: &str = include_str!("../../../config/apsync.example.toml");
const EXAMPLE_DATABASE: &str = "url = \"sqlite:///var/lib/apsync/apsync.db\"";
const PUPILS: &[u8] = include_bytes!("../../../samples/roster/pupils.csv");
const PLACEMENTS: &[u8] = include_bytes!("../../../samples/roster/placements.csv");

pub async fn run(dir: &Path, now: DateTime<Utc>) -> Result<(), CliError> {
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes)
            .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", dir.join(name).display())))
    };
    std::fs::create_dir_all(dir).map_err(|e| CliError::Failed(format!("cannot create {}: {e}", dir.display())))?;
    let dir = dir
        .canonicalize()
        .map_err(|e| CliError::Failed(format!("cannot resolve {}: {e}", dir.display())))?;
    let db = dir.join("apsync.db");
    let config_text = EXAMPLE_CONFIG.replace(EXAMPLE_DATABASE, &format!("url = \"sqlite://{}\"", db.display()));
    write("apsync.toml", config_text.as_bytes())?;
    write("pupils.csv", PUPILS)?;
    write("placements.csv", PLACEMENTS)?;
    let config = dir.join("apsync.toml");
    println!("== apsync demo in {}", dir.display());
    println!("== apsync check --config {}", config.display());
    super::status::check(&config, false)?;
    let ctx = Context::open(&config, now).await?;
    println!("== apsync roster import --pupils pupils.csv --placements placements.csv");
    super::roster::import(
        &ctx,
        &dir.join("pupils.csv"),
        Some(&dir.join("placements.csv")),
        Format::Table,
    )
    .await?;
    println!("== apsync status");
    super::status::status(&ctx, Format::Table).await?;
    println!(
        "\nTry: apsync --config {} marks | report attendance | review list | status",
        config.display()
    );
    Ok(())
}
