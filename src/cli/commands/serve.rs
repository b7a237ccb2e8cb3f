//! `serve`: the HTTP visit intake plus the push loop, until SIGTERM or Ctrl-C. (The daemon's
//! `run` takes this over with the scheduler.)

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;

use crate::cli::{CliError, Context};
use crate::http::{AppState, HttpListener, serve};
use crate::runtime::visits::{VisitIntake, dispatch_pushes, push_sinks, read_csv_folder};

pub async fn run(ctx: &Context) -> Result<(), CliError> {
    let config = &ctx.loaded.config;
    let sinks = push_sinks(config, ctx.loaded.dir()).map_err(CliError::Failed)?;
    let creds = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
    let listener = HttpListener::bind(&config.http, creds.as_deref(), ctx.loaded.dir())
        .await
        .map_err(CliError::Failed)?;
    let scheme = if matches!(listener, HttpListener::Tls(..)) {
        "https"
    } else {
        "http"
    };
    let addr = listener.local_addr()?;
    let intake = Arc::new(VisitIntake::new(config));
    eprintln!(
        "apsync serve: visit intake at {scheme}://{addr}/api/v1/visits; pushing to {} endpoint(s) every {}s; stop with Ctrl-C or SIGTERM",
        sinks.len(),
        config.visits.push_interval.as_secs()
    );
    let state = AppState {
        store: ctx.store.clone(),
        intake: intake.clone(),
        body_limit: config.http.body_limit,
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(serve(listener, state, async move {
        let mut stopped = stopped;
        let _ = stopped.wait_for(|s| *s).await;
    }));
    let mut tick = tokio::time::interval(config.visits.push_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let signal = shutdown_signal();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            _ = &mut signal => break,
            _ = tick.tick() => {
                let now = Utc::now();
                if let Some(folder) = &config.visits.csv_folder
                    && let Err(e) = read_csv_folder(&ctx.store, &intake, folder, now).await
                {
                    tracing::error!("reading the visits CSV folder failed: {e}");
                }
                if let Err(e) = dispatch_pushes(&ctx.store, &sinks, now).await {
                    tracing::error!("pushing visits failed: {e}");
                }
            }
        }
    }
    eprintln!("apsync serve: stopping");
    let _ = stop.send(true);
    match server.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(CliError::Failed(format!("the HTTP server failed: {e}"))),
        Err(e) => Err(CliError::Failed(format!("the HTTP server stopped unexpectedly: {e}"))),
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}
