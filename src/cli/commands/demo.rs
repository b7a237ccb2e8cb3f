//! `demo`: a self-contained run on the project's own demo data (the `fixtures/` set, embedded).
//!
//! Writes a configuration (the demo school, five providers in five file families, a folder
//! connector each), the formats, the roster, and each provider's returns into its inbox folder,
//! then does what a school's first morning would: check, load the roster, sync the folders, and
//! show the register's state: marks per provider, what needs a person, who is below target.

use crate::cli::say;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::json;

use super::print;
use crate::bundled;
use crate::cli::output::{Format, Listing};
use crate::cli::{CliError, Context};
use crate::domain::{AttendanceSummary, format_pct};
use crate::store::MarkFilter;

const DEMO_CONFIG: &str = include_str!("../../../fixtures/apsync.toml");
const EXAMPLE_DATABASE: &str = "url = \"sqlite:///var/lib/apsync/apsync.db\"";
const PUPILS: &[u8] = include_bytes!("../../../fixtures/roster/pupils.csv");
const PLACEMENTS: &[u8] = include_bytes!("../../../fixtures/roster/placements.csv");

fn write(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| CliError::Failed(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(path, bytes).map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))
}

/// The demo configuration: the fixture school with its database in `dir` and a folder connector
/// per provider reading `dir/inbox/<provider>`.
fn demo_config(dir: &Path) -> String {
    let mut text = DEMO_CONFIG.replace(
        EXAMPLE_DATABASE,
        &format!("url = \"sqlite://{}\"", dir.join("apsync.db").display()),
    );
    let mut providers: Vec<&str> = bundled::DEMO_RETURNS.iter().map(|(p, _, _)| *p).collect();
    providers.dedup();
    for p in providers {
        let _ = write!(
            text,
            "\n[[connector]]\nid = \"{p}-inbox\"\nprovider = \"{p}\"\n[connector.folder]\npath = \"{}\"\nprocessed = \"processed\"\nmin_age_seconds = 0\n",
            dir.join("inbox").join(p).display()
        );
    }
    text
}

/// Marks a folder as a demo's own: a later demo may write over it, and nothing else is touched.
const MARKER: &str = ".apsync-demo";

/// The folders an installed service uses (its configuration and its state), never the demo's.
const SERVICE_FOLDERS: &[&str] = &["/etc/apsync", "/var/lib/apsync"];

/// Whether `dir` is, holds or is inside a folder the service uses (`APSYNC_CONFIG`'s folder too).
fn service_folder(dir: &Path) -> Option<PathBuf> {
    let configured = std::env::var_os("APSYNC_CONFIG")
        .map(PathBuf::from)
        .and_then(|c| std::path::absolute(c).ok())
        .and_then(|c| c.parent().map(Path::to_path_buf));
    SERVICE_FOLDERS
        .iter()
        .map(PathBuf::from)
        .chain(configured)
        .find(|s| dir.starts_with(s) || s.starts_with(dir))
}

/// The demo's folder, made if new: refused when it is a service's folder, or when it holds
/// anything and is not a previous demo's.
fn claim(dir: &Path) -> Result<PathBuf, CliError> {
    let refuse_service = |dir: &Path| match service_folder(dir) {
        Some(s) => Err(CliError::Usage(format!(
            "--dir {}: that is (or holds) {}, which the installed service uses; the demo never writes there: give it a folder of its own, e.g. --dir apsync-demo",
            dir.display(),
            s.display()
        ))),
        None => Ok(()),
    };
    let absolute =
        std::path::absolute(dir).map_err(|e| CliError::Failed(format!("cannot resolve {}: {e}", dir.display())))?;
    refuse_service(&absolute)?;
    if absolute.exists() {
        let resolved = absolute
            .canonicalize()
            .map_err(|e| CliError::Failed(format!("cannot resolve {}: {e}", dir.display())))?;
        refuse_service(&resolved)?;
        let mut entries = std::fs::read_dir(&resolved)
            .map_err(|e| CliError::Failed(format!("cannot read {}: {e}", resolved.display())))?;
        if entries.next().is_some() && !resolved.join(MARKER).is_file() {
            return Err(CliError::Usage(format!(
                "--dir {}: the folder is not empty and is not a previous demo's (it has no {MARKER}); the demo writes apsync.toml, pupils.csv and a database there, so give it a new or empty folder",
                resolved.display()
            )));
        }
    }
    std::fs::create_dir_all(&absolute)
        .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", absolute.display())))?;
    let resolved = absolute
        .canonicalize()
        .map_err(|e| CliError::Failed(format!("cannot resolve {}: {e}", dir.display())))?;
    refuse_service(&resolved)?;
    write(
        &resolved.join(MARKER),
        b"This folder holds an apsync demo (`apsync demo --dir`): a demo may write over it.\n",
    )?;
    Ok(resolved)
}

pub async fn run(dir: &Path, now: DateTime<Utc>) -> Result<(), CliError> {
    let dir = claim(dir)?;
    let config = dir.join("apsync.toml");
    write(&config, demo_config(&dir).as_bytes())?;
    for (name, text) in bundled::FORMATS {
        write(&dir.join("formats").join(name), text.as_bytes())?;
    }
    write(&dir.join("pupils.csv"), PUPILS)?;
    write(&dir.join("placements.csv"), PLACEMENTS)?;
    for (provider, name, bytes) in bundled::DEMO_RETURNS {
        write(&dir.join("inbox").join(provider).join(name), bytes)?;
    }

    say!(
        "apsync demo in {}: a school, 16 pupils, five providers sending returns in five formats",
        dir.display()
    );
    say!("\n== apsync check");
    super::status::valid(&config, crate::config::load_with_env(&config, Vec::new())?)?;
    let ctx = Context::open_ignoring_env(&config, now).await?;
    say!("\n== apsync roster import --pupils pupils.csv --placements placements.csv");
    super::roster::import(
        &ctx,
        &dir.join("pupils.csv"),
        Some(&dir.join("placements.csv")),
        Format::Table,
    )
    .await?;

    say!("\n== apsync sync   (each provider's inbox folder; files move to processed/ once imported)");
    let reports = super::sync::sync(&ctx, &[]).await?;
    let mut listing = Listing::new(&["provider", "files", "marks", "for review", "problem"]);
    for r in &reports {
        listing.push(vec![
            json!(r.provider),
            json!(r.documents),
            json!(r.marks),
            json!(r.review_items),
            json!(r.error),
        ]);
    }
    print(&listing, Format::Table)?;

    say!("\n== apsync review list   (rows apsync would not guess: a person decides)");
    let mut listing = Listing::new(&["id", "provider", "file", "pupil as written", "why"]);
    for r in ctx.store.review_items(false).await? {
        listing.push(vec![
            json!(r.id),
            json!(r.provider),
            json!(r.file),
            json!(r.identifier),
            json!(r.reason),
        ]);
    }
    print(&listing, Format::Table)?;

    let target = ctx.loaded.config.school.attendance_target;
    say!("\n== pupils below the school's attendance target of {target}% (at their provision)");
    let marks = ctx.store.marks(&MarkFilter::default()).await?;
    let pupils = ctx.store.pupils().await?;
    let mut below: Vec<(f64, &crate::roster::PupilRecord, AttendanceSummary)> = pupils
        .iter()
        .filter_map(|p| {
            let summary =
                AttendanceSummary::from_codes(marks.iter().filter(|m| m.upn == p.record.upn.as_str()).map(|m| m.code));
            summary
                .attendance_pct()
                .filter(|pct| *pct < target)
                .map(|pct| (pct, &p.record, summary))
        })
        .collect();
    below.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut listing = Listing::new(&["admission no", "pupil", "year", "possible", "attended", "attendance %"]);
    for (pct, r, summary) in below {
        {
            let initial = r
                .legal_surname
                .chars()
                .next()
                .map(|c| format!(" {c}."))
                .unwrap_or_default();
            listing.push(vec![
                json!(r.admission_number),
                json!(format!("{}{initial}", r.forename())),
                json!(r.year_group),
                json!(summary.possible),
                json!(summary.attended),
                json!(format_pct(Some(pct))),
            ]);
        }
    }
    print(&listing, Format::Table)?;
    say!(
        "\nThe register: apsync --config {0} marks\nThe report:   apsync --config {0} report attendance\nEverything:   apsync --config {0} status",
        config.display()
    );

    // --- Visit logs: a block of its own (src/cli/commands/demo_visits.rs). ---
    super::demo_visits::run(&ctx, &dir).await?;
    say!("The visits: apsync --config {} visits", config.display());
    demo_email(&ctx).await
}

// --- Alerts by email (the example configuration's file transport) --------------------------------

/// Runs the rules once more as `sync` would (with the weekly digest) and delivers the emails as
/// .eml files, saying where they are.
async fn demo_email(ctx: &Context) -> Result<(), CliError> {
    say!("\n== apsync alerts (rules, then email through the file transport)");
    super::alerts::rules_then_email(ctx, true).await?;
    if let Some(folder) = crate::runtime::alerts::mail_folder(&ctx.loaded) {
        let count = std::fs::read_dir(&folder).map(|d| d.flatten().count()).unwrap_or(0);
        say!(
            "The alerts and the weekly digest were written as {count} .eml file(s) in {} (open them in any mail program).",
            folder.display()
        );
    }
    say!("Alerts: apsync --config {} alerts", ctx.loaded.path.display());
    Ok(())
}
