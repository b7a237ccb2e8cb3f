//! `check` and `status`.

use crate::cli::say;
use std::path::Path;

use serde_json::{Value, json};

use super::print;
use crate::cli::output::{Format, Listing};
use crate::cli::{CliError, Context};
use crate::config::EmailTransport;
use crate::outbox::email::SmtpSink;

/// `check [--online]`: the file, then (online) each connector's server, the database, the SMTP
/// server (TLS and login, nothing sent), each endpoint (a request that creates nothing) and the
/// MIS link (the school and its code list read), one
/// line each, every failure saying what to do; exit 1 if any failed.
pub async fn check(config: &Path, online: bool, now: chrono::DateTime<chrono::Utc>) -> Result<(), CliError> {
    let loaded = crate::config::load(config)?;
    for w in &loaded.warnings {
        eprintln!("warning: `{}`: {}", w.key, w.message);
    }
    crate::cli::secret_check::check_secret_files(&loaded)?;
    let loaded = valid(config, loaded)?;
    let c = &loaded.config;
    warn_unwritable_folders(&loaded);
    warn_risky_formats(&loaded.config);
    same_database_other_school(config, &loaded)?;
    if !online {
        return Ok(());
    }
    let mut failed = Vec::new();
    for connector in &c.connectors {
        let what = format!("connector {} ({})", connector.id, connector.provider);
        let result = crate::runtime::check_connector(&loaded, connector, now)
            .await
            .map(|()| String::new())
            .map_err(|e| format!("{} ({}): {}", e.code, e.kind, e.message));
        checked(what, result, &mut failed)?;
    }
    checked("database".into(), check_store(&loaded).await, &mut failed)?;
    if let Some(email) = &c.email
        && let EmailTransport::Smtp(smtp) = &email.transport
    {
        let what = format!("email (SMTP {}:{})", smtp.host, smtp.port);
        let creds = std::env::var_os("CREDENTIALS_DIRECTORY").map(std::path::PathBuf::from);
        let result = match SmtpSink::new(smtp, creds.as_deref(), loaded.dir()).await {
            Ok(sink) => sink
                .check()
                .await
                .map(|()| "connected, secured and logged in; nothing sent".into()),
            Err(e) => Err(e.to_string()),
        };
        checked(what, result, &mut failed)?;
    }
    match crate::runtime::visits::push_sinks(c, loaded.dir()) {
        Ok(sinks) => {
            for sink in &sinks {
                checked(
                    format!("endpoint {}", sink.endpoint_id()),
                    sink.check().await,
                    &mut failed,
                )?;
            }
        }
        Err(e) => checked("endpoints".into(), Err(e), &mut failed)?,
    }
    if let Some(mis) = &c.mis {
        let what = format!("mis (Wonde school {})", mis.school_id);
        checked(what, crate::mis::check_online(mis, loaded.dir()).await, &mut failed)?;
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::Failed(format!("cannot reach {}", failed.join(", "))))
    }
}

/// Says the configuration is valid, with what it holds (the demo's first step too).
pub fn valid(config: &Path, loaded: crate::config::LoadedConfig) -> Result<crate::config::LoadedConfig, CliError> {
    let c = &loaded.config;
    say!(
        "{}: configuration is valid ({}, {} provider{}, {} term{})",
        config.display(),
        c.school.name,
        c.providers.len(),
        if c.providers.len() == 1 { "" } else { "s" },
        c.calendar.terms().len(),
        if c.calendar.terms().len() == 1 { "" } else { "s" },
    );
    Ok(loaded)
}

/// Warns about each provider format that is valid but can read a wrong mark without a review
/// item (a session's mark read by its place in a JSON list).
fn warn_risky_formats(c: &crate::config::Config) {
    for provider in &c.providers {
        for warning in provider.format.iter().flat_map(|f| f.warnings()) {
            eprintln!("warning: provider {}: {warning}", provider.id);
        }
    }
}

/// Warns about each folder apsync must move files in that the installed unit does not let it
/// write (`ProtectSystem=strict` without a `ReadWritePaths=` for it).
fn warn_unwritable_folders(loaded: &crate::config::LoadedConfig) {
    let Some((unit, text)) = crate::cli::unit::installed_unit() else {
        return;
    };
    let Some(writable) = crate::cli::unit::writable_paths(&text) else {
        return;
    };
    let c = &loaded.config;
    let folders = c
        .connectors
        .iter()
        .filter_map(|k| match &k.transport {
            crate::config::Transport::Folder(f) => Some((format!("connector {}", k.id), f)),
            _ => None,
        })
        .chain(
            c.visits
                .csv_folder
                .iter()
                .map(|f| ("[visits.csv_folder]".to_string(), f)),
        );
    for (what, folder) in folders {
        let Some(path) = &folder.path else { continue };
        let path = loaded.dir().join(path);
        let mut places = vec![path.clone()];
        places.extend(
            [&folder.processed, &folder.rejected]
                .into_iter()
                .flatten()
                .map(|p| path.join(p)),
        );
        for place in places {
            if !crate::cli::unit::is_writable(&place, &writable) {
                eprintln!(
                    "warning: {what}: {} is outside what the service may write ({} has ProtectSystem=strict), so files \
                     there cannot be moved: add `ReadWritePaths={}` with `systemctl edit apsync`, then restart it",
                    place.display(),
                    unit.display(),
                    place.display()
                );
            }
        }
    }
}

/// Prints one online check's outcome, noting a failure.
fn checked(what: String, result: Result<String, String>, failed: &mut Vec<String>) -> Result<(), CliError> {
    match result {
        Ok(note) if note.is_empty() => say!("{what}: ok"),
        Ok(note) => say!("{what}: ok ({note})"),
        Err(e) => {
            say!("{what}: FAILED: {e}");
            failed.push(what);
        }
    }
    Ok(())
}

/// Opens the database (bringing its schema up to date, as the daemon would) and asks it a
/// question.
async fn check_store(loaded: &crate::config::LoadedConfig) -> Result<String, String> {
    let store = crate::cli::open_store(loaded).await.map_err(|e| {
        format!("{e}: check [database] (the url, password_file, and that the server runs and lets apsync in)")
    })?;
    let mut answer = store
        .ping()
        .await
        .map(|()| String::new())
        .map_err(|e| format!("it opened but does not answer: {e}"));
    if answer.is_ok() {
        let school = &loaded.config.school.name;
        answer = match store.database_school().await {
            Ok(Some(owner)) if &owner != school => Err(crate::runtime::jobs::other_school(&owner, school)),
            Ok(_) => Ok(String::new()),
            Err(e) => Err(format!("it opened but its school cannot be read: {e}")),
        };
    }
    store.close().await;
    answer
}

/// Refuses a configuration whose database another configuration in the same folder (another
/// school's instance of `apsync@.service`, `/etc/apsync/OTHER.toml`) also names, for another
/// school: two schools' registers would be mixed in one database.
fn same_database_other_school(config: &Path, loaded: &crate::config::LoadedConfig) -> Result<(), CliError> {
    let Ok(entries) = std::fs::read_dir(loaded.dir()) else {
        return Ok(());
    };
    let this = std::fs::canonicalize(config).unwrap_or_else(|_| config.to_path_buf());
    let mut clashes = Vec::new();
    for path in entries.flatten().map(|e| e.path()) {
        if path.extension().is_none_or(|x| x != "toml") || std::fs::canonicalize(&path).ok().as_ref() == Some(&this) {
            continue;
        }
        // Another school's file as written: this shell's overrides are for this one.
        let Ok(other) = crate::config::load_with_env(&path, Vec::new()) else {
            continue;
        };
        if other.config.database.url == loaded.config.database.url
            && other.config.school.name != loaded.config.school.name
        {
            clashes.push(format!("{} (school \"{}\")", path.display(), other.config.school.name));
        }
    }
    if clashes.is_empty() {
        return Ok(());
    }
    Err(CliError::Config(crate::config::ConfigErrors {
        file: config.display().to_string(),
        errors: vec![crate::config::ConfigError::new(
            "database.url",
            format!(
                "{} names the same database for another school; each school needs its own database \
                 (on a shared PostgreSQL server, one database per school: CREATE DATABASE apsync_SCHOOL), or the registers mix",
                clashes.join(", ")
            ),
        )],
    }))
}

pub async fn status(ctx: &Context, format: Format) -> Result<(), CliError> {
    let s = ctx.store.status().await?;
    let outbox = ctx.store.outbox_health().await?;
    let metrics = ctx.store.metrics().await?;
    let next = crate::runtime::scheduler::next_runs(&ctx.loaded.config, &s.connectors, ctx.now);
    let oldest = |channel: &str| {
        metrics
            .oldest_pending
            .iter()
            .find(|(c, _)| c == channel)
            .map(|(_, at)| at.to_rfc3339())
    };
    if format == Format::Json {
        let mut value = serde_json::to_value(&s).map_err(|e| CliError::Failed(e.to_string()))?;
        if let Some(map) = value.as_object_mut() {
            let rows = outbox.iter().map(|(channel, pending, dead, last_error)| {
                json!({ "channel": channel, "pending": pending, "dead": dead, "last_error": last_error,
                        "oldest_pending": oldest(channel) })
            });
            map.insert("outbox".into(), Value::Array(rows.collect()));
            let next = next
                .iter()
                .map(|n| json!({ "connector": n.connector, "next_run": n.due.map(|t| t.to_rfc3339()) }));
            map.insert("next_runs".into(), Value::Array(next.collect()));
            let jobs = metrics.jobs.iter().map(|j| {
                json!({ "job": j.job, "held_by": j.held_by, "held_since": j.held_since.to_rfc3339(),
                        "leased_until": j.leased_until.to_rfc3339() })
            });
            map.insert("jobs".into(), Value::Array(jobs.collect()));
        }
        say!(
            "{}",
            serde_json::to_string_pretty(&value).map_err(|e| CliError::Failed(e.to_string()))?
        );
        return Ok(());
    }
    let mut listing = Listing::new(&["item", "value"]);
    let mut add = |k: &str, v: Value| listing.push(vec![json!(k), v]);
    add("database", json!(s.backend));
    add("pupils on roll", json!(s.pupils_on_roll));
    add("pupils off roll", json!(s.pupils_off_roll));
    add("placements", json!(s.placements));
    add("providers", json!(s.providers));
    add("documents imported", json!(s.documents_imported));
    add("documents partly imported", json!(s.documents_partly_imported));
    add("documents rejected", json!(s.documents_rejected));
    add("marks", json!(s.marks));
    add("review items open", json!(s.review_open));
    add(
        "oldest open review item",
        json!(s.review_oldest_open.map(|t| t.to_rfc3339())),
    );
    for (channel, pending, dead, last_error) in outbox {
        let error = last_error.map(|e| format!("; last error: {e}")).unwrap_or_default();
        let since = oldest(&channel)
            .map(|t| format!(", oldest queued {t}"))
            .unwrap_or_default();
        add(
            &format!("outbox {channel}"),
            json!(format!("{pending} pending{since}, {dead} dead{error}")),
        );
    }
    for r in &s.connectors {
        let detail = match (&r.error_kind, &r.error) {
            (Some(kind), Some(err)) => format!("{} at {} ({kind}: {err})", r.status, r.started_at.to_rfc3339()),
            _ => format!("{} at {}", r.status, r.started_at.to_rfc3339()),
        };
        add(&format!("connector {}", r.connector), json!(detail));
    }
    for j in &metrics.jobs {
        add(
            &format!("job {}", j.job),
            json!(format!("held by {} since {}", j.held_by, ctx.local(j.held_since))),
        );
    }
    for run in &next {
        add(
            &format!("connector {} next run", run.connector),
            json!(run.due.map_or_else(
                || "never (no future time in its schedule)".to_string(),
                |t| t.to_rfc3339()
            )),
        );
    }
    print(&listing, format)
}
