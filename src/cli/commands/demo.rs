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
/// The demo's returns cover the school fortnight of 8 to 19 June 2026 (scripts/make-fixtures.py,
/// `FIRST_DAY, LAST_DAY`): without `--now` the demo runs as at the end of its last day, so a
/// newcomer on any date sees its absences, missing returns and a full digest.
pub const DEMO_NOW: &str = "2026-06-19T16:30:00Z";

/// The moment the demo runs at: `--now`, else the end of its data's last day (said on screen).
fn demo_now(now: Option<DateTime<Utc>>) -> Result<(DateTime<Utc>, Option<String>), CliError> {
    if let Some(now) = now {
        return Ok((now, None));
    }
    let last = DateTime::parse_from_rfc3339(DEMO_NOW)
        .map_err(|e| CliError::Failed(format!("the demo's own date {DEMO_NOW} does not parse: {e}")))?
        .with_timezone(&Utc);
    let local = last.with_timezone(&chrono_tz::Europe::London);
    Ok((
        last,
        Some(format!(
            "The demo's returns cover 8 to 19 June 2026, so it runs as at {} (school time), the end of \
             its last day, not today; give --now (RFC 3339) to choose another moment.",
            local.format("%A %-d %B %Y, %H:%M")
        )),
    ))
}

/// How to run apsync from where the user is: `cargo run --` under cargo, `apsync` when that is
/// this program on the PATH, else this program's full path.
fn invocation() -> String {
    let under_cargo = std::env::var_os("CARGO").is_some()
        && std::env::var_os("CARGO_MANIFEST_DIR")
            .zip(std::env::current_dir().ok())
            .is_some_and(|(project, here)| here.starts_with(project));
    if under_cargo {
        return "cargo run --".into();
    }
    let Ok(me) = std::env::current_exe().and_then(std::fs::canonicalize) else {
        return "apsync".into();
    };
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("apsync"))
            .find(|p| p.is_file())
            .and_then(|p| std::fs::canonicalize(p).ok())
    });
    if on_path.as_deref() == Some(me.as_path()) {
        "apsync".into()
    } else {
        me.display().to_string()
    }
}

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

pub async fn run(dir: &Path, now: Option<DateTime<Utc>>) -> Result<(), CliError> {
    let (now, said) = demo_now(now)?;
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
    if let Some(said) = said {
        say!("{said}");
    }
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

    demo_sync(&ctx).await?;

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
    let apsync = format!("{} --config {}", invocation(), config.display());
    say!("\nThe register: {apsync} marks\nThe report:   {apsync} report attendance\nEverything:   {apsync} status");

    // --- Visit logs: a block of its own (src/cli/commands/demo_visits.rs). ---
    super::demo_visits::run(&ctx, &dir).await?;
    say!("The visits: {apsync} visits");
    demo_email(&ctx, &apsync).await
}

/// Syncs every inbox folder and shows what each provider's returns gave, and how the marks read
/// add up to the register's (a later return replaces an earlier mark for the same session).
async fn demo_sync(ctx: &Context) -> Result<(), CliError> {
    say!("\n== apsync sync   (each provider's inbox folder; files move to processed/ once imported)");
    let reports = super::sync::sync(ctx, &[]).await?;
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
    let read: i64 = reports.iter().map(|r| r.marks).sum();
    let held = i64::try_from(ctx.store.marks(&MarkFilter::default()).await?.len()).unwrap_or(i64::MAX);
    match read.checked_sub(held) {
        Some(..=0) | None => say!("The register holds {held} marks."),
        Some(replaced) => say!(
            "{read} marks read; {replaced} of them replaced an earlier mark for the same session (a later return wins; the earlier one is kept in the pupil's history), so the register holds {held}."
        ),
    }
    Ok(())
}

// --- Alerts by email (the example configuration's file transport) --------------------------------

/// Runs the rules once more as `sync` would (with the weekly digest) and delivers the emails as
/// .eml files, saying where they are.
async fn demo_email(ctx: &Context, apsync: &str) -> Result<(), CliError> {
    say!("\n== apsync alerts (rules, then email through the file transport)");
    let folder = crate::runtime::alerts::mail_folder(&ctx.loaded);
    let count = |folder: &Option<PathBuf>| {
        folder.as_ref().and_then(|f| std::fs::read_dir(f).ok()).map_or(0, |d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
    };
    let before = count(&folder);
    super::alerts::rules_then_email(ctx, true).await?;
    let written = count(&folder).saturating_sub(before);
    if let Some(folder) = &folder {
        let files = |n: usize| if n == 1 { "file" } else { "files" };
        if written == 0 {
            say!(
                "No new email: each alert and this week's digest were already written by an earlier run ({before} .eml {} in {}).",
                files(before),
                folder.display()
            );
        } else {
            say!(
                "The alerts and the weekly digest were written as {written} .eml {} in {} (open them in any mail program).",
                files(written),
                folder.display()
            );
        }
    }
    say!("Alerts: {apsync} alerts");
    Ok(())
}
