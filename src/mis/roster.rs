//! The roster pulled from the MIS: its students checked as `roster import` checks a file's rows
//! (each bad one reported on its own, the rest loaded), upserted the same way (a pupil missing
//! from the MIS is kept, off roll), and each pupil's MIS id kept for write-back.

use chrono::{DateTime, Utc};

use super::{MisError, MisLink};
use crate::store::{RosterChanges, Store, StoreError};
use apsync_core::mis::{StudentProblem, pupils_from_mis};

/// What a pull did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RosterPull {
    /// The students the MIS listed.
    pub students: usize,
    /// What the upsert changed.
    pub changes: RosterChanges,
    /// The students not loaded, and why.
    pub problems: Vec<StudentProblem>,
}

/// Why a pull did nothing.
#[derive(Debug, thiserror::Error)]
pub enum RosterPullError {
    /// The MIS could not be read.
    #[error("the roster was not pulled: {0}")]
    Mis(#[from] MisError),
    /// The MIS listed no student that could be loaded: taken for a fault, since loading it
    /// would mark every pupil off roll.
    #[error(
        "the roster was not pulled: the MIS listed {students} students and none could be loaded, so no pupil was marked off roll; check the token's permissions (students, extended and education details)"
    )]
    Empty {
        /// How many it listed.
        students: usize,
    },
    /// The store failed.
    #[error("the roster was not pulled: {0}")]
    Store(#[from] StoreError),
}

/// Pulls the students now and loads them.
pub async fn pull(link: &impl MisLink, store: &Store, now: DateTime<Utc>) -> Result<RosterPull, RosterPullError> {
    let students = link.students().await?;
    let (pupils, problems) = pupils_from_mis(&students);
    if pupils.is_empty() {
        return Err(RosterPullError::Empty {
            students: students.len(),
        });
    }
    let records: Vec<_> = pupils.iter().map(|p| p.record.clone()).collect();
    let changes = store.import_roster(&records, None, now).await?;
    let ids: Vec<(String, String)> = pupils
        .iter()
        .map(|p| (p.record.upn.as_str().to_string(), p.mis_id.clone()))
        .collect();
    store.set_mis_ids(&ids, now).await?;
    Ok(RosterPull {
        students: students.len(),
        changes,
        problems,
    })
}
