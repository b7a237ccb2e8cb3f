//! The write-back: the plan's writes queued in the durable outbox (channel `mis`, one row per
//! date, its key from the marks' own keys, so a crash and a re-plan queue nothing twice), and
//! delivered by [`MisSink`] with the outbox's retry and dead-letter policy.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::plan::PlannedWriteBack;
use super::{MarkToWrite, MisError, MisLink};
use crate::domain::{Code, Session};
use crate::outbox::{Attempt, Sink};
use crate::store::{Channel, Delivery, MisConflictItem, NewDelivery, Store, StoreError};
use apsync_core::mis::{SessionKey, needs_confirmation};

/// The outbox sink the write-back's rows are queued for.
pub const SINK: &str = "mis";

/// What was queued.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Queued {
    /// Dates queued (new rows).
    pub dates: usize,
    /// Marks in them.
    pub marks: usize,
    /// Dates whose writes were queued already (the same marks).
    pub already: usize,
    /// Review items raised for marks a person entered in the MIS.
    pub conflicts_raised: u32,
}

/// Why nothing was queued.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The guard: more marks for one date than twice its placed sessions.
    #[error(
        "nothing written: {date} has {count} marks to write, more than twice its {placed} placed sessions; check the code mapping (`apsync mis plan`) and give --confirm if it is right"
    )]
    TooMany {
        /// The date.
        date: NaiveDate,
        /// Marks to write.
        count: usize,
        /// Placed sessions.
        placed: usize,
    },
    /// The store failed.
    #[error("nothing written: {0}")]
    Store(#[from] StoreError),
}

/// Queues the plan's writes, one outbox row per date; refuses the lot when a date has more than
/// twice its placed sessions, unless `confirm`.
pub async fn queue(
    planned: &PlannedWriteBack,
    store: &Store,
    confirm: bool,
    now: DateTime<Utc>,
) -> Result<Queued, PushError> {
    for (date, writes) in &planned.plan.writes {
        let placed = planned.placed_sessions.get(date).copied().unwrap_or(0);
        if !confirm && needs_confirmation(writes.len(), placed) {
            return Err(PushError::TooMany {
                date: *date,
                count: writes.len(),
                placed,
            });
        }
    }
    let mut out = Queued::default();
    let conflicts: Vec<_> = planned
        .plan
        .conflicts
        .iter()
        .map(|c| {
            let provider = planned
                .providers
                .get(&(c.upn.clone(), c.key.date, c.key.session))
                .cloned()
                .unwrap_or_default();
            MisConflictItem {
                upn: c.upn.clone(),
                date: c.key.date,
                session: c.key.session.as_str().to_string(),
                provider,
                mis_code: c.mis.map(|m| m.as_str().to_string()),
                reason: c.reason(),
            }
        })
        .collect();
    out.conflicts_raised = store.raise_mis_conflicts(&conflicts, now).await?;
    for (date, writes) in &planned.plan.writes {
        let keys: Vec<&str> = writes.iter().map(|w| w.idempotency_key.as_str()).collect();
        let key = format!(
            "mis:{date}:{}",
            apsync_core::sha256::sha256_hex(keys.join("\n").as_bytes())
        );
        let marks: Vec<Value> = writes
            .iter()
            .map(|w| {
                json!({
                    "student_id": w.key.student,
                    "upn": w.upn,
                    "date": w.key.date.to_string(),
                    "session": w.key.session.as_str(),
                    "code": w.code.as_str(),
                    "code_id": w.code_id,
                    "key": w.idempotency_key,
                })
            })
            .collect();
        let new = store
            .enqueue(
                &NewDelivery {
                    channel: Channel::Mis,
                    sink: SINK.into(),
                    idempotency_key: key,
                    subject: format!("MIS write-back {date}: {} marks", writes.len()),
                    payload: json!({ "date": date.to_string(), "marks": marks }),
                },
                now,
            )
            .await?;
        if new {
            out.dates += 1;
            out.marks += writes.len();
        } else {
            out.already += 1;
        }
    }
    Ok(out)
}

/// What apsync wrote to each session last, from the delivered write-backs: the code and the
/// mark's key (`mis:STUDENT:DATE:SESSION:VERSION`), whose version is the mark's.
pub async fn written(store: &Store) -> Result<HashMap<SessionKey, (Code, String)>, StoreError> {
    let mut out = HashMap::new();
    for payload in store.mis_written().await? {
        for m in payload.get("marks").and_then(Value::as_array).into_iter().flatten() {
            let text = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default();
            let (Ok(date), Ok(session), Ok(code)) = (
                text("date").parse::<NaiveDate>(),
                text("session").parse::<Session>(),
                text("code").parse::<Code>(),
            ) else {
                continue;
            };
            let version = text("key").rsplit(':').next().unwrap_or_default().to_string();
            out.insert(
                SessionKey {
                    student: text("student_id").to_string(),
                    date,
                    session,
                },
                (code, version),
            );
        }
    }
    Ok(out)
}

/// Delivers the write-back's outbox rows through an MIS link.
pub struct MisSink<L> {
    link: L,
}

impl<L: MisLink + Send + Sync> MisSink<L> {
    /// A sink writing through `link`.
    pub fn new(link: L) -> MisSink<L> {
        MisSink { link }
    }
}

#[async_trait]
impl<L: MisLink + Send + Sync> Sink for MisSink<L> {
    fn channel(&self) -> Channel {
        Channel::Mis
    }

    fn id(&self) -> &str {
        SINK
    }

    async fn deliver(&self, delivery: &Delivery) -> Attempt {
        let mut marks = Vec::new();
        for m in delivery
            .payload
            .get("marks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let text = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            let (Ok(date), Ok(session)) = (text("date").parse::<NaiveDate>(), text("session").parse::<Session>())
            else {
                return Attempt::Dead {
                    reason: "the queued write-back cannot be read (a date or session is wrong)".into(),
                };
            };
            marks.push(MarkToWrite {
                student_id: text("student_id"),
                date,
                session,
                code_id: text("code_id"),
                comment: None,
            });
        }
        match self.link.write_sessions(&marks).await {
            Ok(writeback_id) => Attempt::Delivered {
                remote_id: Some(writeback_id),
            },
            Err(e @ MisError::Validation(_)) => Attempt::Dead { reason: e.to_string() },
            Err(MisError::RateLimited { retry_after }) => Attempt::Retry {
                reason: MisError::RateLimited { retry_after }.to_string(),
                after: retry_after,
                slow: false,
            },
            Err(e @ (MisError::Unauthorised | MisError::Forbidden { .. } | MisError::NotFound { .. })) => {
                Attempt::Retry {
                    reason: e.to_string(),
                    after: None,
                    slow: true,
                }
            }
            Err(e) if e.is_transient() => Attempt::Retry {
                reason: e.to_string(),
                after: None,
                slow: false,
            },
            Err(e) => Attempt::Dead { reason: e.to_string() },
        }
    }
}
