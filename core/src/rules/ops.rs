//! The rules about providers and operations, and when the weekly digest is due.

use chrono::{DateTime, Datelike, Days, Utc};
use serde::{Deserialize, Serialize};

use super::{Condition, Detail, Evaluation, Facts, Rule, RuleSettings, local};
use crate::settings::Expiry;

/// What the store says about connectors, deliveries and the review queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpsFacts {
    /// Each connector's failed runs in a row (since its last success), with the last error.
    pub connector_failures: Vec<(String, u32, Option<String>)>,
    /// Dead-lettered deliveries: (id, subject).
    pub dead_deliveries: Vec<(i64, String)>,
    /// Open review items.
    pub review_open: i64,
    /// When the oldest open review item was raised.
    pub review_oldest: Option<DateTime<Utc>>,
    /// Today's refused emails (and other refused items), per connector and sender.
    #[serde(default)]
    pub refused_today: Vec<RefusedToday>,
    /// Endpoints whose last answer to a push was a refusal only IT can fix, with no success since.
    #[serde(default)]
    pub endpoints_refusing: Vec<EndpointRefusing>,
}

/// An endpoint refusing apsync's pushes (401, 403, 404, a redirect).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRefusing {
    /// The endpoint's id.
    pub endpoint: String,
    /// Its last refusal, in apsync's words (never the endpoint's body: it may echo a visit).
    pub reason: String,
    /// When it last refused.
    pub since: DateTime<Utc>,
}

/// Items one connector refused today from one sender, or from everyone not in its `senders`
/// (counted together so a flood of spam is one alert, not one per message), or files (no sender).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedToday {
    /// The connector.
    pub connector: String,
    /// The sender as claimed, printable; `None` for strangers and for files.
    pub sender: Option<String>,
    /// Whether these are everyone not in the connector's `senders`.
    pub strangers: bool,
    /// How many.
    pub count: i64,
    /// The latest one's reason (no subject or file name: those may name a pupil).
    pub reason: String,
}

fn condition(rule: Rule, key: String, level: u8, roles: &[crate::settings::Role], detail: Detail) -> Condition {
    Condition {
        rule,
        key,
        level,
        roles: roles.to_vec(),
        about: None,
        raise: true,
        upn: None,
        provider: None,
        detail,
    }
}

pub(super) fn evaluate(f: &Facts<'_>, out: &mut Evaluation) {
    let a = &f.settings.alerts;
    let (today, _) = local(f.settings, f.now);
    if a.compliance.enabled {
        let horizon = today
            .checked_add_days(Days::new(u64::from(a.compliance_warn_days)))
            .unwrap_or(today);
        for p in f.settings.providers {
            let qa = p.qa_approval_expires.map(|on| Expiry {
                what: "QA approval".to_string(),
                on,
            });
            for Expiry { what, on: date } in qa.into_iter().chain(p.alerts.expiries.iter().cloned()) {
                if date > horizon {
                    continue;
                }
                let expired = date < today;
                let verb = if expired { "expired" } else { "expires" };
                let mut what_cap = what.clone();
                if let Some(first) = what_cap.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                let when = date.format("%-d %b %Y").to_string();
                let mut c = condition(
                    Rule::ProviderCompliance,
                    format!("{}:{}", p.id, what.replace(' ', "-")),
                    u8::from(expired),
                    &a.compliance.roles,
                    Detail {
                        title: format!("{what_cap} {verb} {when}: {}", p.name),
                        provider: Some(p.name.clone()),
                        when: Some(when.clone()),
                        what: format!("The provider's {what} {verb} on {when}."),
                        expected:
                            "Obtain the renewed approval or policy from the provider, or review the placements there."
                                .into(),
                        ..Detail::default()
                    },
                );
                c.provider = Some(p.id.clone());
                out.conditions.push(c);
            }
        }
    }
    if !a.operations.enabled {
        return;
    }
    let roles = &a.operations.roles;
    for (connector, failures, error) in &f.ops.connector_failures {
        if *failures < a.connector_failures {
            continue;
        }
        out.conditions.push(condition(
            Rule::Operations,
            format!("connector:{connector}"),
            0,
            roles,
            Detail {
                title: format!("Connector failing: {connector} ({failures} runs in a row)"),
                what: format!(
                    "The connector {connector} has failed {failures} runs in a row: {}",
                    error.as_deref().unwrap_or("no error recorded")
                ),
                expected: "Look at `apsync status` and the logs, fix the connection, and run `apsync sync --connector` to check."
                    .into(),
                ..Detail::default()
            },
        ));
    }
    // Yesterday's refusal alerts close quietly, never "resolved": each is about one day. (The
    // other operations alerts are about no day, so this leaves them alone.)
    out.coverage.insert(Rule::Operations, today);
    for r in &f.ops.refused_today {
        out.conditions.push(refused(r, today, roles));
    }
    // One alert a day while it lasts (the key names the day), resolved by the next success.
    for e in &f.ops.endpoints_refusing {
        let mut c = condition(
            Rule::Operations,
            format!("endpoint:{}:{today}", e.endpoint),
            0,
            roles,
            Detail {
                title: format!("Endpoint refusing visits: {}", e.endpoint),
                what: format!(
                    "The endpoint {} refuses apsync's pushes ({}); visit logs wait and are tried again hourly.",
                    e.endpoint, e.reason
                ),
                expected:
                    "Check the endpoint's url and [endpoint.auth] with its owner, then run `apsync check --online`. \
                           This alert resolves itself when a visit is delivered again."
                        .into(),
                ..Detail::default()
            },
        );
        c.about = Some(today);
        out.conditions.push(c);
    }
    for (id, subject) in &f.ops.dead_deliveries {
        out.conditions.push(condition(
            Rule::Operations,
            format!("dead-letter:{id}"),
            0,
            roles,
            Detail {
                title: format!("Delivery {id} dead-lettered"),
                what: format!("Delivery {id} ({subject}) was given up on; its content is kept."),
                expected: format!("See `apsync outbox list`, fix the cause, then `apsync outbox retry {id}`."),
                ..Detail::default()
            },
        ));
    }
    let too_many = f.ops.review_open > i64::from(a.review_queue_max);
    let too_old = f
        .ops
        .review_oldest
        .is_some_and(|t| f.now - t > chrono::Duration::hours(i64::from(a.review_max_age_hours)));
    if too_many || too_old {
        out.conditions.push(condition(
            Rule::Operations,
            "review-queue".into(),
            0,
            roles,
            Detail {
                title: format!("Review queue needs attention ({} waiting)", f.ops.review_open),
                what: format!(
                    "{} rows of providers' returns are waiting for a person{}.",
                    f.ops.review_open,
                    if too_old {
                        format!(", the oldest for more than {} hours", a.review_max_age_hours)
                    } else {
                        String::new()
                    }
                ),
                expected: "Work through `apsync review list`: until then those sessions have no mark.".into(),
                ..Detail::default()
            },
        ));
    }
}

/// One alert per connector, sender and day about refused items: later refusals that day only
/// update its count quietly.
fn refused(r: &RefusedToday, today: chrono::NaiveDate, roles: &[crate::settings::Role]) -> Condition {
    let items = if r.count == 1 { "item" } else { "items" };
    let (key_sender, title, who, expected) = match (&r.sender, r.strangers) {
        (_, true) => (
            "strangers",
            format!("Email refused by {}: senders not in its list", r.connector),
            "senders not in its list",
            "Nothing to do if this is spam. If a provider sends from a new address, add it to the connector's senders.",
        ),
        (Some(s), false) => (
            s.as_str(),
            format!("Email refused by {}: {s}", r.connector),
            s.as_str(),
            "Check with the provider and the school's mail system: apsync imports a return only when the sender is authenticated (see `apsync refused` and the README's \"Emailed returns\").",
        ),
        (None, false) => (
            "files",
            format!("Files refused by {}", r.connector),
            "the provider",
            "See `apsync refused` for each file and what to do.",
        ),
    };
    let mut c = condition(
        Rule::Operations,
        format!("refused:{}:{key_sender}:{today}", r.connector),
        0,
        roles,
        Detail {
            title,
            what: format!(
                "{} {items} from {who} refused by the connector {} today, not imported: {}",
                r.count, r.connector, r.reason
            ),
            expected: expected.into(),
            ..Detail::default()
        },
    );
    c.about = Some(today);
    c
}

/// The week's digest key (`digest:2026-W11`) if this week's digest time has passed, so a missed
/// Monday is caught up later in the same week, and never twice.
pub fn digest_due(settings: RuleSettings<'_>, now: DateTime<Utc>) -> Option<String> {
    let a = &settings.alerts;
    if !a.digest.enabled {
        return None;
    }
    let (today, time) = local(settings, now);
    let offset = i64::from(today.weekday().num_days_from_monday()) - i64::from(a.digest_weekday.num_days_from_monday());
    if offset < 0 || (offset == 0 && time < a.digest_time) {
        return None;
    }
    let week = today.iso_week();
    Some(format!("digest:{}-W{:02}", week.year(), week.week()))
}
