//! Running the rules and sending email: read the facts, evaluate (pure), diff against the open
//! alerts (pure), render, then write the changes and their emails in one transaction; and, on
//! `sync` and in the daemon, hand due emails to the configured transport.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::{EmailTransport, LoadedConfig};
use crate::email::digest::{DigestFacts, digest_emails};
use crate::email::{EmailError, alert_emails};
use crate::outbox::email::{SINK, SmtpSink};
use crate::outbox::file::FileSink;
use crate::outbox::{DispatchReport, RetryPolicy, Sink, dispatch_once};
use crate::rules::{Facts, diff, digest_due, evaluate as evaluate_rules};
use crate::store::{AlertCounts, MarkFilter, NewDelivery, Store, StoreError};

/// Running the rules failed.
#[derive(Debug, thiserror::Error)]
pub enum AlertsError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A template or message could not be built.
    #[error(transparent)]
    Email(#[from] EmailError),
    /// The mail transport could not be set up.
    #[error("{0}")]
    Transport(String),
}

/// What one evaluation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AlertRun {
    /// Alert changes and emails queued.
    pub counts: AlertCounts,
    /// Digest messages queued.
    pub digest: u32,
}

/// How many times an evaluation is repeated when another one changed the same alerts meanwhile.
const ATTEMPTS: usize = 3;

/// Evaluates the rules now, records the changes and queues their emails (and, with `digest`, the
/// weekly digest when due: not after a single import, which would catch the week half-loaded).
/// Running it again with nothing new changes nothing and queues nothing.
pub async fn evaluate(
    store: &Store,
    loaded: &LoadedConfig,
    now: DateTime<Utc>,
    digest: bool,
) -> Result<AlertRun, AlertsError> {
    let config = &loaded.config;
    let templates = &loaded.templates;
    let settings = config.rule_settings();
    let emailing = config.email_settings();
    let today = crate::rules::local(settings, now).0;
    let mut from = Facts::marks_from(settings, now);
    if let Some(term) = config.calendar.term_of(today) {
        from = from.min(term.start);
    }
    let mut run = AlertRun::default();
    for attempt in 1..=ATTEMPTS {
        let pupils = store.pupils().await?;
        let placements = store.placements().await?;
        let marks: Vec<_> = store
            .marks(&MarkFilter {
                from: Some(from),
                to: None,
                upn: None,
            })
            .await?;
        let open = store.open_alerts().await?;
        let mut ops = store.ops_facts().await?;
        ops.refused_today = refused_today(store, config, today).await?;
        let last_visits = store.last_visit_per_placed_pupil(today).await?;
        let facts = Facts {
            settings,
            now,
            pupils: &pupils,
            placements: &placements,
            marks: &marks,
            open: &open,
            ops: &ops,
            last_visits: &last_visits,
        };
        let changes = diff(evaluate_rules(&facts), &open);
        let emails: Vec<NewDelivery> = match &emailing {
            Some(e) => alert_emails(&changes, e, templates, now)?
                .into_iter()
                .map(NewDelivery::from)
                .collect(),
            None => Vec::new(),
        };
        match store.apply_alert_changes(&changes, &emails, now).await {
            Ok(counts) => run.counts = counts,
            Err(StoreError::Conflict(why)) if attempt < ATTEMPTS => {
                tracing::info!("{why}");
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        if let Some(key) = digest_due(settings, now).filter(|_| digest)
            && let Some(emailing) = &emailing
            && !store.has_delivery_prefixed(SINK, &format!("{key}:")).await?
        {
            let open = store.open_alerts().await?;
            let mut review_waiting = BTreeMap::new();
            for r in store.review_items(false).await? {
                *review_waiting.entry(r.provider).or_insert(0) += 1;
            }
            let facts = DigestFacts {
                pupils: &pupils,
                placements: &placements,
                marks: &marks,
                open: &open,
                review_waiting,
                last_visits: &last_visits,
            };
            for d in digest_emails(&key, emailing, &facts, templates, now)? {
                if store.enqueue(&NewDelivery::from(d), now).await? {
                    run.digest += 1;
                }
            }
        }
        break;
    }
    Ok(run)
}

/// Where the file transport writes, when it is the one configured.
pub fn mail_folder(loaded: &LoadedConfig) -> Option<PathBuf> {
    loaded.mail_folder()
}

/// Hands every due email to the configured transport once. `None` when no `[email]` is set.
pub async fn dispatch(
    store: &Store,
    loaded: &LoadedConfig,
    now: DateTime<Utc>,
) -> Result<Option<DispatchReport>, AlertsError> {
    let Some(email) = &loaded.config.email else {
        return Ok(None);
    };
    let sink: Box<dyn Sink> = match &email.transport {
        EmailTransport::File { .. } => Box::new(FileSink::new(mail_folder(loaded).unwrap_or_default())),
        EmailTransport::Smtp(cfg) => {
            let creds = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
            match SmtpSink::new(cfg, creds.as_deref(), loaded.dir()).await {
                Ok(s) => Box::new(s),
                Err(e) => {
                    tracing::error!(sink = SINK, "email cannot be sent: {e}");
                    return Err(AlertsError::Transport(format!("email cannot be sent: {e}")));
                }
            }
        }
    };
    let report = dispatch_once(store, sink.as_ref(), &RetryPolicy::default(), now).await?;
    if report.misconfigured > 0 {
        tracing::error!(
            sink = SINK,
            "email is misconfigured: {} message(s) wait; see `apsync outbox list --pending` for the server's words",
            report.misconfigured
        );
    }
    Ok(Some(report))
}

/// Today's refused items (since the school's local midnight), per connector and sender.
async fn refused_today(
    store: &Store,
    config: &crate::config::Config,
    today: chrono::NaiveDate,
) -> Result<Vec<crate::rules::RefusedToday>, StoreError> {
    let midnight = today
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(config.school.timezone).earliest())
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
    Ok(store
        .refused_senders_since(midnight)
        .await?
        .into_iter()
        .map(|r| crate::rules::RefusedToday {
            connector: r.connector,
            sender: r.sender,
            strangers: r.strangers,
            count: r.count,
            reason: r.reason,
        })
        .collect())
}
