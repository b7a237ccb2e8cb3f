//! Recording a staff visit: checked, its pupil resolved, and queued for every endpoint in the
//! same transaction. One service below the HTTP API, the CSV drop folder and the CLI, so each
//! records a visit the same way.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::config::Config;
use crate::store::{NewVisit, Origin, PupilLookup, Store, StoreError, StoredVisit, VisitFilter};
use crate::visits::VisitNotes;
use crate::visits::{Problem, VisitDocument, VisitInput, check, external_id};

/// Why a visit was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The visit as written is wrong; each problem names its field.
    #[error("the visit was not recorded:\n  {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Invalid(Vec<Problem>),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The operating system gave no random bytes for the visit's id.
    #[error("cannot make an id for the visit: {0}")]
    Random(String),
}

/// Records visits: the school's time zone (for local times and dates) and the endpoints every
/// visit is queued for.
#[derive(Debug, Clone)]
pub struct VisitIntake {
    /// The school's time zone.
    pub tz: Tz,
    /// The configured endpoints' ids.
    pub endpoints: Vec<String>,
}

impl VisitIntake {
    /// From the configuration.
    pub fn new(config: &Config) -> Self {
        VisitIntake {
            tz: config.school.timezone,
            endpoints: config.endpoints.iter().map(|e| e.id.clone()).collect(),
        }
    }

    /// Checks a visit and resolves its pupil, giving the document to record.
    pub async fn prepare(
        &self,
        store: &Store,
        input: &VisitInput,
        now: DateTime<Utc>,
    ) -> Result<VisitDocument, IntakeError> {
        let v = check(input, self.tz, now).map_err(IntakeError::Invalid)?;
        let (upn, admission_number, provider) = match store.pupil_for_visit(&v.pupil, v.date).await? {
            PupilLookup::Placed {
                upn,
                admission_number,
                provider_id,
            } => (upn, admission_number, provider_id),
            PupilLookup::Unknown => {
                return Err(invalid(
                    "pupil",
                    format!(
                        "no pupil has the UPN or admission number `{}`: check it against the MIS, or import the roster",
                        v.pupil
                    ),
                ));
            }
            PupilLookup::Ambiguous => {
                return Err(invalid(
                    "pupil",
                    format!(
                        "several pupils have admission number `{}`: give the UPN instead",
                        v.pupil
                    ),
                ));
            }
            // Only what the caller sent is echoed: never the UPN it resolved to.
            PupilLookup::NotPlaced { .. } => {
                return Err(invalid(
                    "pupil",
                    format!(
                        "pupil `{}` had no placement on {}: visits are logged for pupils in alternative provision; check the placements",
                        v.pupil, v.date
                    ),
                ));
            }
        };
        Ok(VisitDocument {
            external_id: new_external_id()?,
            upn,
            admission_number,
            provider: Some(provider),
            occurred_at: v.occurred_at,
            staff: v.staff,
            kind: v.kind,
            notes: VisitNotes {
                pupil_views: v.notes.pupil_views,
                progress: v.notes.progress,
                behaviour: v.notes.behaviour,
                welfare: v.notes.welfare,
                actions: v.notes.actions,
            },
            follow_up: v.follow_up,
        })
    }

    /// Checks and records one visit, queued for every endpoint. A visit whose origin has a
    /// `source_ref` recorded before is not recorded again: the first is returned, as a repeat
    /// when the request is the same, or as a reused key when it is not.
    pub async fn record(
        &self,
        store: &Store,
        input: &VisitInput,
        origin: Origin,
        now: DateTime<Utc>,
    ) -> Result<Recorded, IntakeError> {
        if let Some(first) = self.recorded_before(store, &origin).await? {
            return Ok(first);
        }
        let document = self.prepare(store, input, now).await?;
        let visit = NewVisit {
            document,
            origin: origin.clone(),
        };
        let ids = store
            .record_visits(std::slice::from_ref(&visit), &self.endpoints, now)
            .await?;
        match ids.first().copied().flatten() {
            Some(id) => store
                .visit(id)
                .await?
                .map(Recorded::New)
                .ok_or_else(|| IntakeError::Store(StoreError::NotFound(format!("visit {id} vanished")))),
            // The same key arrived twice at once: the other request recorded it.
            None => self
                .recorded_before(store, &origin)
                .await?
                .ok_or_else(|| IntakeError::Store(StoreError::Conflict("the visit was recorded before".into()))),
        }
    }

    async fn recorded_before(&self, store: &Store, origin: &Origin) -> Result<Option<Recorded>, IntakeError> {
        let Some(source_ref) = origin.source_ref.as_deref() else {
            return Ok(None);
        };
        let filter = VisitFilter {
            source_ref: Some(source_ref),
            ..VisitFilter::default()
        };
        Ok(store.visit_where(filter).await?.map(|first| {
            if first.request_sha256 == origin.request_sha256 {
                Recorded::Repeat(first)
            } else {
                Recorded::KeyReused
            }
        }))
    }
}

/// What recording a visit did.
#[derive(Debug, Clone)]
pub enum Recorded {
    /// It is recorded and queued.
    New(StoredVisit),
    /// The same request was recorded before: this is the first one's visit.
    Repeat(StoredVisit),
    /// Its key was used before for a different visit: nothing was recorded.
    KeyReused,
}

impl Recorded {
    /// The visit, new or first; None for a reused key.
    pub fn into_visit(self) -> Option<StoredVisit> {
        match self {
            Recorded::New(v) | Recorded::Repeat(v) => Some(v),
            Recorded::KeyReused => None,
        }
    }
}

fn invalid(field: &str, message: String) -> IntakeError {
    IntakeError::Invalid(vec![Problem::new(field, message)])
}

/// A fresh visit id, from 128 bits of the operating system's randomness. Errors only if it has
/// none to give.
fn new_external_id() -> Result<String, IntakeError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| IntakeError::Random(e.to_string()))?;
    Ok(external_id(bytes))
}
