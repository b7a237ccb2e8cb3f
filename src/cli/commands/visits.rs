//! `visit add`, `visits`, and the visit work `sync` does after the connectors: reading the CSV
//! drop folder and pushing due visits.

use serde_json::json;

use super::print;
use crate::cli::args::{VisitCommand, VisitsArgs};
use crate::cli::output::Listing;
use crate::cli::{CliError, Context};
use crate::runtime::visits::{IntakeError, VisitIntake, dispatch_pushes, push_sinks, read_csv_folder};
use crate::store::{Origin, PupilLookup, StoredVisit};
use crate::visits::VisitInput;
use crate::visits::VisitNotes;

pub async fn add(ctx: &Context, cmd: VisitCommand) -> Result<(), CliError> {
    let VisitCommand::Add(a) = cmd;
    let input = VisitInput {
        pupil: Some(a.pupil),
        occurred_at: Some(a.occurred_at),
        staff: Some(a.staff),
        kind: Some(a.kind),
        notes: VisitNotes {
            pupil_views: a.pupil_views,
            progress: a.progress,
            behaviour: a.behaviour,
            welfare: a.welfare,
            actions: a.actions,
        },
        follow_up: a.follow_up,
    };
    let intake = VisitIntake::new(&ctx.loaded.config);
    let recorded = intake
        .record(&ctx.store, &input, Origin::named("cli"), ctx.now)
        .await
        .map_err(|e| match e {
            IntakeError::Store(e) => CliError::Store(e),
            other => CliError::Failed(other.to_string()),
        })?;
    // Without a source_ref nothing is recognised as a repeat: every visit added is new.
    let visit = recorded
        .into_visit()
        .ok_or_else(|| CliError::Failed("the visit was recorded before".into()))?;
    print(&listing(ctx, std::slice::from_ref(&visit)), a.format)?;
    if intake.endpoints.is_empty() {
        eprintln!(
            "visit {} recorded; no [[endpoint]] is configured, so it is not pushed anywhere",
            visit.id
        );
    } else {
        eprintln!(
            "visit {} recorded and queued for {}; `apsync run` (or `apsync sync`) pushes it",
            visit.id,
            intake.endpoints.join(", ")
        );
    }
    Ok(())
}

pub async fn list(ctx: &Context, args: VisitsArgs) -> Result<(), CliError> {
    let upn = match &args.pupil {
        None => None,
        Some(p) => match ctx.store.pupil_for_visit(p, ctx.now.date_naive()).await? {
            PupilLookup::Placed { upn, .. } | PupilLookup::NotPlaced { upn } => Some(upn),
            PupilLookup::Unknown | PupilLookup::Ambiguous => {
                return Err(CliError::Usage(format!(
                    "--pupil {p}: no single pupil has that admission number or UPN"
                )));
            }
        },
    };
    let visits = ctx.store.visits(upn.as_deref(), args.limit).await?;
    print(&listing(ctx, &visits), args.format)
}

/// One row per visit: the overall state, and each endpoint's.
fn listing(ctx: &Context, visits: &[StoredVisit]) -> Listing {
    let mut listing = Listing::new(&[
        "id",
        "occurred_at",
        "admission_number",
        "provider",
        "staff",
        "type",
        "source",
        "state",
        "deliveries",
    ]);
    for v in visits {
        let deliveries: Vec<String> = v
            .deliveries
            .iter()
            .map(|d| match (d.status.as_str(), &d.last_error) {
                ("pending", Some(e)) => format!("{}: pending after {} attempts ({e})", d.endpoint, d.attempts),
                ("dead", Some(e)) => format!("{}: dead, delivery {} ({e})", d.endpoint, d.delivery_id),
                (status, _) => format!("{}: {status}", d.endpoint),
            })
            .collect();
        let doc = &v.document;
        listing.push(vec![
            json!(v.id),
            json!(ctx.local(doc.occurred_at)),
            json!(doc.admission_number),
            json!(doc.provider),
            json!(doc.staff),
            json!(doc.kind.as_str()),
            json!(v.source),
            json!(v.state()),
            json!(deliveries.join("; ")),
        ]);
    }
    listing
}

/// After the connectors: reads the visits CSV folder, then pushes due visits. Says what it did on
/// standard error (standard output is the connectors' listing).
pub async fn after_sync(ctx: &Context) -> Result<(), CliError> {
    let config = &ctx.loaded.config;
    if let Some(folder) = &config.visits.csv_folder {
        let intake = VisitIntake::new(config);
        for r in read_csv_folder(&ctx.store, &intake, folder, ctx.now).await? {
            if r.problems.is_empty() {
                eprintln!("visits: {}: {} recorded, {} seen before", r.file, r.visits, r.repeated);
            } else {
                eprintln!("visits: {} refused:\n  {}", r.file, r.problems.join("\n  "));
            }
        }
    }
    if config.endpoints.is_empty() {
        return Ok(());
    }
    let sinks = push_sinks(config, ctx.loaded.dir()).map_err(CliError::Failed)?;
    let r = dispatch_pushes(&ctx.store, &sinks, ctx.now).await?;
    eprintln!(
        "pushes: {} delivered, {} to retry, {} dead letters{}",
        r.delivered,
        r.retrying,
        r.dead,
        if r.misconfigured > 0 {
            " (an endpoint refuses apsync's credentials or URL: see `apsync outbox list`)"
        } else {
            ""
        }
    );
    Ok(())
}
