//! The demo's visit logs: two staff visits recorded through the same checks as the API, pushed
//! to a CPOMS-style endpoint the demo starts itself on 127.0.0.1, which writes each visit it
//! receives to a file. Re-running the demo records and pushes nothing twice.

use crate::cli::say;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::cli::args::VisitsArgs;
use crate::cli::output::Format;
use crate::cli::{CliError, Context};
use crate::config::{EndpointAuth, EndpointConfig};
use crate::outbox::push::PushSink;
use crate::runtime::visits::{IntakeError, VisitIntake, dispatch_pushes};
use crate::store::{NewVisit, Origin};
use crate::visits::VisitNotes;
use crate::visits::{PayloadTemplate, VisitInput};

/// The demo endpoint's id, as on its outbox rows.
const ENDPOINT: &str = "demo-endpoint";

fn visits() -> [(&'static str, VisitInput); 2] {
    let visit = |pupil: &str, at: &str, staff: &str, kind: &str, progress: &str, actions: &str| VisitInput {
        pupil: Some(pupil.into()),
        occurred_at: Some(at.into()),
        staff: Some(staff.into()),
        kind: Some(kind.into()),
        notes: VisitNotes {
            pupil_views: Some("Says the practical work is the best part of the week.".into()),
            progress: Some(progress.into()),
            actions: Some(actions.into()),
            ..VisitNotes::default()
        },
        follow_up: Some("2026-06-22".into()),
    };
    [
        (
            "demo:visit-1",
            visit(
                "3201",
                "2026-06-08 10:30",
                "Ms Patel",
                "on_site",
                "Working towards the level 1 certificate.",
                "Review attendance in two weeks.",
            ),
        ),
        (
            "demo:visit-2",
            visit(
                "3202",
                "2026-06-10 14:00",
                "Mr Jones",
                "phone",
                "Settled; good relationship with the tutor.",
                "Share the timetable with parents.",
            ),
        ),
    ]
}

pub async fn run(ctx: &Context, dir: &Path) -> Result<(), CliError> {
    say!("\n== visit logs: recorded, then pushed to a local CPOMS-style endpoint the demo starts itself");
    let received = dir.join("endpoint");
    std::fs::create_dir_all(&received)
        .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", received.display())))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/visits", listener.local_addr()?);
    let app = axum::Router::new()
        .route("/visits", axum::routing::post(receive))
        .with_state(Arc::new(received.clone()));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let intake = VisitIntake {
        tz: ctx.loaded.config.school.timezone,
        endpoints: vec![ENDPOINT.to_string()],
    };
    let mut new = Vec::new();
    for (key, input) in visits() {
        match intake.prepare(&ctx.store, &input, ctx.now).await {
            Ok(document) => new.push(NewVisit {
                document,
                origin: Origin::with_ref("demo", key),
            }),
            Err(IntakeError::Store(e)) => return Err(e.into()),
            Err(e) => say!("(visit not recorded: {e})"),
        }
    }
    let recorded = ctx.store.record_visits(&new, &intake.endpoints, ctx.now).await?;
    let recorded = recorded.iter().filter(|r| r.is_some()).count();
    say!(
        "recorded {} ({} already recorded by an earlier demo run)",
        crate::cli::output::count(u64::try_from(recorded).unwrap_or(0), "visit"),
        new.len() - recorded
    );

    let config = EndpointConfig {
        id: ENDPOINT.into(),
        url: url
            .parse()
            .map_err(|e| CliError::Failed(format!("demo endpoint URL: {e}")))?,
        health_url: None,
        timeout: Duration::from_secs(10),
        auth: EndpointAuth::None,
        payload: PayloadTemplate::default(),
        remote_id_field: "id".into(),
    };
    let sink = PushSink::new(&config, intake.tz, None, dir).map_err(CliError::Failed)?;
    let report = dispatch_pushes(&ctx.store, &[sink], ctx.now).await?;
    server.abort();
    say!(
        "pushed {} to {url} with their Idempotency-Key; the endpoint wrote each to {}",
        crate::cli::output::count(report.delivered, "visit"),
        received.display()
    );
    say!("\n== apsync visits");
    super::visits::list(
        ctx,
        VisitsArgs {
            pupil: None,
            limit: 10,
            format: Format::Table,
        },
    )
    .await
}

/// The demo endpoint: writes the visit to `KEY.json`; a key it has already is answered 409.
async fn receive(State(dir): State<Arc<PathBuf>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(key) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    else {
        return (StatusCode::BAD_REQUEST, "an Idempotency-Key header is required").into_response();
    };
    let path = dir.join(format!("{key}.json"));
    if path.exists() {
        return (StatusCode::CONFLICT, "already received").into_response();
    }
    match std::fs::write(&path, &body) {
        Ok(()) => (StatusCode::CREATED, Json(json!({ "id": format!("LOCAL-{key}") }))).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
