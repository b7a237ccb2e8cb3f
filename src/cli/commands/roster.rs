//! `roster import`.

use std::path::Path;

use serde_json::json;

use super::print;
use crate::cli::output::{Format, Listing};
use crate::cli::{CliError, Context};
use crate::roster::{parse_placements, parse_pupils};

pub async fn import(ctx: &Context, pupils: &Path, placements: Option<&Path>, format: Format) -> Result<(), CliError> {
    let cols = &ctx.loaded.config.roster;
    let pupil_records = parse_pupils(&read(pupils)?, cols).map_err(|e| refused(pupils, e))?;
    let placement_records = match placements {
        Some(path) => {
            let known: Vec<&str> = ctx.loaded.config.providers.iter().map(|p| p.id.as_str()).collect();
            Some(parse_placements(&read(path)?, cols, &known).map_err(|e| refused(path, e))?)
        }
        None => None,
    };
    let changes = ctx
        .store
        .import_roster(&pupil_records, placement_records.as_deref(), ctx.now)
        .await
        .map_err(|e| CliError::Failed(format!("roster not imported: {e}")))?;
    let mut listing = Listing::new(&["what", "added", "updated", "unchanged", "left_roll"]);
    listing.push(vec![
        json!("pupils"),
        json!(changes.pupils_added),
        json!(changes.pupils_updated),
        json!(changes.pupils_unchanged),
        json!(changes.pupils_left_roll),
    ]);
    if placement_records.is_some() {
        listing.push(vec![
            json!("placements"),
            json!(changes.placements_added),
            json!(changes.placements_updated),
            json!(changes.placements_unchanged),
            json!(null),
        ]);
    }
    print(&listing, format)
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::Failed(format!("cannot read {}: {e}", path.display())))
}

fn refused(path: &Path, e: impl std::fmt::Display) -> CliError {
    CliError::Failed(format!("{}: {e}", path.display()))
}
