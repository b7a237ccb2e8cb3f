//! `demo`: a self-contained run on the bundled sample data.
//!
//! Writes the example configuration (database moved into the demo folder), the provider formats,
//! the sample roster and the sample returns into the folder, then runs what a school's first day
//! would: check, roster import, each provider's returns imported in name order, and the results.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::cli::args::DateRange;
use crate::cli::output::Format;
use crate::cli::{CliError, Context};

use crate::bundled;

/// The demo runs on the example configuration, with its database moved into the demo folder.
const EXAMPLE_CONFIG: &str = include_str!("../../../config/apsync.example.toml");
const EXAMPLE_DATABASE: &str = "url = \"sqlite:///var/lib/apsync/apsync.db\"";
const PUPILS: &[u8] = include_bytes!("../../../samples/roster/pupils.csv");
const PLACEMENTS: &[u8] = include_bytes!("../../../samples/roster/placements.csv");

fn write(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| CliError::Failed(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(path, bytes).map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))
}

pub async fn run(dir: &Path, now: DateTime<Utc>) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(|e| CliError::Failed(format!("cannot create {}: {e}", dir.display())))?;
    let dir = dir
        .canonicalize()
        .map_err(|e| CliError::Failed(format!("cannot resolve {}: {e}", dir.display())))?;
    let config = dir.join("apsync.toml");
    let db = dir.join("apsync.db");
    let text = EXAMPLE_CONFIG.replace(EXAMPLE_DATABASE, &format!("url = \"sqlite://{}\"", db.display()));
    write(&config, text.as_bytes())?;
    for (name, text) in bundled::FORMATS {
        write(&dir.join("formats").join(name), text.as_bytes())?;
    }
    write(&dir.join("pupils.csv"), PUPILS)?;
    write(&dir.join("placements.csv"), PLACEMENTS)?;
    let mut providers: Vec<(&str, Vec<PathBuf>)> = Vec::new();
    for (provider, name, bytes) in bundled::SAMPLE_RETURNS {
        let path = dir.join("returns").join(provider).join(name);
        write(&path, bytes)?;
        match providers.last_mut() {
            Some((p, files)) if p == provider => files.push(path),
            _ => providers.push((provider, vec![path])),
        }
    }

    println!("== apsync demo in {}", dir.display());
    println!("== apsync check");
    super::status::check(&config, false)?;
    let ctx = Context::open(&config, now).await?;
    println!("\n== apsync roster import --pupils pupils.csv --placements placements.csv");
    super::roster::import(
        &ctx,
        &dir.join("pupils.csv"),
        Some(&dir.join("placements.csv")),
        Format::Table,
    )
    .await?;
    for (provider, files) in &providers {
        println!("\n== apsync import --provider {provider} returns/{provider}/*");
        super::import::run(
            &ctx,
            crate::cli::args::ImportArgs {
                provider: provider.to_string(),
                files: files.clone(),
                format: Format::Table,
            },
        )
        .await?;
    }
    println!("\n== apsync report attendance");
    super::register::attendance(&ctx, DateRange { from: None, to: None }, Format::Table).await?;
    println!("\n== apsync review list");
    super::review::run(
        &ctx,
        crate::cli::args::ReviewCommand::List {
            all: false,
            format: Format::Table,
        },
    )
    .await?;
    println!("\n== apsync status");
    super::status::status(&ctx, Format::Table).await?;
    println!("\nThe register: apsync --config {} marks", config.display());
    demo_email(&ctx).await
}

// --- Alerts by email (the example configuration's file transport) --------------------------------

/// Runs the rules once more as `sync` would (with the weekly digest) and delivers the emails as
/// .eml files, saying where they are.
async fn demo_email(ctx: &Context) -> Result<(), CliError> {
    println!("\n== apsync alerts (rules, then email through the file transport)");
    super::alerts::rules_then_email(ctx, true).await?;
    if let Some(folder) = crate::runtime::alerts::mail_folder(&ctx.loaded) {
        let count = std::fs::read_dir(&folder).map(|d| d.flatten().count()).unwrap_or(0);
        println!(
            "The alerts and the weekly digest were written as {count} .eml file(s) in {} (open them in any mail program).",
            folder.display()
        );
    }
    println!("Alerts: apsync --config {} alerts", ctx.loaded.path.display());
    Ok(())
}
