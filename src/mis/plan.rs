//! The write-back planned, writing nothing: the register's marks for placed sessions, the MIS's
//! own marks for those days, and the school's code list, handed to the core's pure plan.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::{MisError, MisLink};
use crate::config::MisConfig;
use crate::domain::{Code, Session};
use crate::store::{Store, StoreError};
use apsync_core::mis::{ConflictDecision, Plan, PlanInput, RegisterMark, SessionKey, plan};
use std::collections::BTreeSet;

/// What was planned, with what the guard needs.
#[derive(Debug, Clone, Default)]
pub struct PlannedWriteBack {
    /// The plan.
    pub plan: Plan,
    /// Placed sessions per date: the guard allows twice as many writes.
    pub placed_sessions: HashMap<NaiveDate, usize>,
    /// Marks of placed pupils with no MIS id (never pulled from the MIS), by UPN.
    pub without_mis_id: Vec<String>,
    /// The provider of each register mark planned, by UPN, date and session: a conflict's review
    /// item is about that provider's mark.
    pub providers: HashMap<(String, NaiveDate, Session), String>,
}

/// Why nothing could be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The MIS could not be read.
    #[error("nothing planned: {0}")]
    Mis(#[from] MisError),
    /// The store failed.
    #[error("nothing planned: {0}")]
    Store(#[from] StoreError),
}

/// Plans the write-back of the register from `from` to `to` (both included; never before
/// `write_back_from`).
pub async fn plan_write_back(
    link: &impl MisLink,
    store: &Store,
    config: &MisConfig,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<PlannedWriteBack, PlanError> {
    let codes = link.codes().await?;
    let mut code_ids = HashMap::new();
    let mut code_of = HashMap::new();
    for c in &codes {
        if let Ok(code) = c.code.parse::<Code>() {
            code_ids.entry(code).or_insert_with(|| c.id.clone());
            code_of.insert(c.id.clone(), code);
        }
    }
    let ids: HashMap<String, String> = store.mis_ids().await?.into_iter().collect();
    let placements = store.placements().await?;
    let mut out = PlannedWriteBack::default();
    let mut register = Vec::new();
    for (mark, version) in store.mark_versions(from, to).await? {
        let placed = placements
            .iter()
            .any(|p| p.upn.as_str() == mark.upn && p.expects(mark.date, mark.session));
        if !placed {
            continue;
        }
        *out.placed_sessions.entry(mark.date).or_default() += 1;
        let Some(student) = ids.get(&mark.upn) else {
            if !out.without_mis_id.contains(&mark.upn) {
                out.without_mis_id.push(mark.upn.clone());
            }
            continue;
        };
        out.providers
            .insert((mark.upn.clone(), mark.date, mark.session), mark.provider.clone());
        register.push(RegisterMark {
            key: SessionKey {
                student: student.clone(),
                date: mark.date,
                session: mark.session,
            },
            upn: mark.upn,
            code: mark.code,
            version,
        });
    }
    let mis = link
        .session_marks(from, to)
        .await?
        .into_iter()
        .map(|m| {
            let code = code_of.get(&m.code_id).copied();
            (
                SessionKey {
                    student: m.student_id,
                    date: m.date,
                    session: m.session,
                },
                code,
            )
        })
        .collect();
    let mut decisions = HashMap::new();
    let mut waiting = BTreeSet::new();
    for (upn, date, session, status) in store.mis_conflict_items().await? {
        let (Some(student), Ok(session)) = (ids.get(&upn), session.parse::<Session>()) else {
            continue;
        };
        let key = SessionKey {
            student: student.clone(),
            date,
            session,
        };
        match status.as_str() {
            "open" => {
                waiting.insert(key);
            }
            "dismissed" => {
                waiting.remove(&key);
                decisions.insert(key, ConflictDecision::KeepMis);
            }
            _ => {
                waiting.remove(&key);
                decisions.insert(key, ConflictDecision::WriteRegister);
            }
        }
    }
    out.plan = plan(&PlanInput {
        decisions,
        waiting,
        register,
        mis,
        written: super::push::written(store).await?,
        code_ids,
        replaceable: config.replaceable.clone(),
        from: config.write_back_from,
    });
    Ok(out)
}
