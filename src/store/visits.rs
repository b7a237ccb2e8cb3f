//! Visits, and the query behind "visit overdue". A visit and its outbox rows (one per endpoint)
//! are written in one transaction, so a visit is never recorded without its pushes.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::Row;

use super::outbox::insert_delivery;
use super::{Channel, NewDelivery, Store, StoreError, with_pool, write_tx};
use crate::domain::Upn;
use crate::roster::normalise_admission_number;
pub use crate::visits::LastVisit;
use crate::visits::VisitNotes;
use crate::visits::{VisitDocument, VisitKind};

/// Who a visit's `pupil` field names, and whether they were placed on the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PupilLookup {
    /// No pupil has that UPN or admission number.
    Unknown,
    /// Several pupils share that admission number.
    Ambiguous,
    /// The pupil exists but had no placement on that date.
    NotPlaced {
        /// Their UPN.
        upn: String,
    },
    /// The pupil was placed on that date.
    Placed {
        /// Their UPN.
        upn: String,
        /// Their admission number.
        admission_number: String,
        /// The provider they were placed with.
        provider_id: String,
    },
}

/// A visit to record.
#[derive(Debug, Clone)]
pub struct NewVisit {
    /// The visit as endpoints are sent it (also the outbox payload).
    pub document: VisitDocument,
    /// Where it came from.
    pub origin: Origin,
}

/// Where a visit came from, and what makes a repeat of it recognisable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// `api:NAME`, `cli`, `csv:FILE`.
    pub source: String,
    /// A key that is the same when the same visit arrives again: `csv:SHA:LINE` for a file's
    /// row, `api:TOKEN:key:KEY` for an API client's Idempotency-Key or own reference.
    pub source_ref: Option<String>,
    /// The API token that posted it: a token without the read scope reads only its own.
    pub token_id: Option<i64>,
    /// The digest of the API request, telling a retry from a key reused for another visit.
    pub request_sha256: Option<String>,
}

impl Origin {
    /// From `source`, with nothing to recognise a repeat by.
    pub fn named(source: impl Into<String>) -> Self {
        Origin {
            source: source.into(),
            ..Origin::default()
        }
    }

    /// From `source`, recognised again by `source_ref`.
    pub fn with_ref(source: impl Into<String>, source_ref: impl Into<String>) -> Self {
        Origin {
            source: source.into(),
            source_ref: Some(source_ref.into()),
            ..Origin::default()
        }
    }
}

/// Which visits to read.
#[derive(Debug, Clone, Copy, Default)]
pub struct VisitFilter<'a> {
    /// Its number.
    pub id: Option<i64>,
    /// Its external id (the one the API shows).
    pub external_id: Option<&'a str>,
    /// The pupil's UPN.
    pub upn: Option<&'a str>,
    /// Posted by this API token.
    pub token_id: Option<i64>,
    /// Recorded under this key.
    pub source_ref: Option<&'a str>,
}

/// One endpoint's delivery of a visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitDelivery {
    /// The outbox row.
    pub delivery_id: i64,
    /// The endpoint.
    pub endpoint: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The last failure.
    pub last_error: Option<String>,
    /// The endpoint's id for the record.
    pub remote_id: Option<String>,
    /// When the endpoint accepted it.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A visit as stored, with each endpoint's delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredVisit {
    /// Its number.
    pub id: i64,
    /// Where it came from.
    pub source: String,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// The visit.
    #[serde(flatten)]
    pub document: VisitDocument,
    /// The digest of the API request that recorded it, if one did.
    #[serde(skip)]
    pub request_sha256: Option<String>,
    /// Per endpoint.
    pub deliveries: Vec<VisitDelivery>,
}

impl StoredVisit {
    /// `delivered` when every endpoint has it, `dead` when any gave up, `pending` otherwise, and
    /// `not pushed` when no endpoint is configured.
    pub fn state(&self) -> &'static str {
        if self.deliveries.is_empty() {
            "not pushed"
        } else if self.deliveries.iter().any(|d| d.status == "dead") {
            "dead"
        } else if self.deliveries.iter().all(|d| d.status == "delivered") {
            "delivered"
        } else {
            "pending"
        }
    }
}

impl Store {
    /// Resolves a visit's `pupil` (a UPN, or an admission number with leading zeros not
    /// significant) and finds their placement on `date`.
    pub async fn pupil_for_visit(&self, identifier: &str, date: NaiveDate) -> Result<PupilLookup, StoreError> {
        let (sql, key) = match Upn::parse(identifier.trim()) {
            Ok(upn) => (
                "SELECT upn, admission_number FROM pupils WHERE upn = $1",
                upn.as_str().to_string(),
            ),
            Err(_) => (
                "SELECT upn, admission_number FROM pupils WHERE admission_key = $1",
                normalise_admission_number(identifier),
            ),
        };
        with_pool!(self, pool => {
            let rows = sqlx::query(sql).bind(&key).fetch_all(pool).await?;
            let (upn, admission_number): (String, String) = match rows.as_slice() {
                [] => return Ok(PupilLookup::Unknown),
                [r] => (r.try_get("upn")?, r.try_get("admission_number")?),
                _ => return Ok(PupilLookup::Ambiguous),
            };
            let provider: Option<String> = sqlx::query_scalar(
                "SELECT provider_id FROM placements WHERE upn = $1 AND start_date <= $2
                   AND (end_date IS NULL OR end_date >= $2) ORDER BY start_date DESC, provider_id LIMIT 1",
            )
            .bind(&upn)
            .bind(date)
            .fetch_optional(pool)
            .await?;
            Ok(match provider {
                Some(provider_id) => PupilLookup::Placed { upn, admission_number, provider_id },
                None => PupilLookup::NotPlaced { upn },
            })
        })
    }

    /// Records visits and queues each for every endpoint, all in one transaction. Returns each
    /// visit's id, or None for one whose `source_ref` was recorded before (a re-read CSV row).
    pub async fn record_visits(
        &self,
        visits: &[NewVisit],
        endpoints: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<i64>>, StoreError> {
        let mut ids = Vec::with_capacity(visits.len());
        write_tx!(self, tx => {
            for v in visits {
                let d = &v.document;
                let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO visits (external_id, upn, provider_id, occurred_at, staff, kind, pupil_views, progress,
                         behaviour, welfare, actions, follow_up, source, source_ref, created_at, token_id, request_sha256)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
                     ON CONFLICT (source_ref) DO NOTHING RETURNING id",
                )
                .bind(&d.external_id)
                .bind(&d.upn)
                .bind(&d.provider)
                .bind(d.occurred_at)
                .bind(&d.staff)
                .bind(d.kind.as_str())
                .bind(&d.notes.pupil_views)
                .bind(&d.notes.progress)
                .bind(&d.notes.behaviour)
                .bind(&d.notes.welfare)
                .bind(&d.notes.actions)
                .bind(d.follow_up)
                .bind(&v.origin.source)
                .bind(&v.origin.source_ref)
                .bind(now)
                .bind(v.origin.token_id)
                .bind(&v.origin.request_sha256)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(id) = id {
                    let payload = serde_json::to_value(d).map_err(|e| StoreError::Corrupt(format!("visit {id}: {e}")))?;
                    for endpoint in endpoints {
                        let delivery = NewDelivery {
                            channel: Channel::Push,
                            sink: endpoint.clone(),
                            idempotency_key: d.external_id.clone(),
                            subject: format!("visit {id}"),
                            payload: payload.clone(),
                        };
                        let _new = insert_delivery!(&mut *tx, &delivery, now);
                    }
                }
                ids.push(id);
            }
        });
        Ok(ids)
    }

    /// One visit with its deliveries.
    pub async fn visit(&self, id: i64) -> Result<Option<StoredVisit>, StoreError> {
        let filter = VisitFilter {
            id: Some(id),
            ..VisitFilter::default()
        };
        Ok(self.visits_where(filter, 1).await?.pop())
    }

    /// The one visit `filter` picks, if any.
    pub async fn visit_where(&self, filter: VisitFilter<'_>) -> Result<Option<StoredVisit>, StoreError> {
        Ok(self.visits_where(filter, 1).await?.pop())
    }

    /// Visits, latest first, optionally of one pupil (UPN), at most `limit`.
    pub async fn visits(&self, upn: Option<&str>, limit: i64) -> Result<Vec<StoredVisit>, StoreError> {
        let filter = VisitFilter {
            upn,
            ..VisitFilter::default()
        };
        self.visits_where(filter, limit).await
    }

    async fn visits_where(&self, f: VisitFilter<'_>, limit: i64) -> Result<Vec<StoredVisit>, StoreError> {
        let sql = "SELECT v.id, v.external_id, v.upn, p.admission_number, v.provider_id, v.occurred_at, v.staff, v.kind,
                       v.pupil_views, v.progress, v.behaviour, v.welfare, v.actions, v.follow_up, v.source, v.created_at,
                       v.request_sha256,
                       o.id AS delivery_id, o.sink, o.status, o.attempts, o.last_error, o.remote_id, o.delivered_at
                   FROM visits v JOIN pupils p ON p.upn = v.upn
                   LEFT JOIN outbox o ON o.channel = 'push' AND o.idempotency_key = v.external_id
                   WHERE v.id IN (SELECT id FROM visits WHERE ($1 IS NULL OR id = $1) AND ($2 IS NULL OR upn = $2)
                                    AND ($4 IS NULL OR external_id = $4) AND ($5 IS NULL OR token_id = $5)
                                    AND ($6 IS NULL OR source_ref = $6)
                                  ORDER BY occurred_at DESC, id DESC LIMIT $3)
                   ORDER BY v.occurred_at DESC, v.id DESC, o.sink";
        with_pool!(self, pool => {
            let rows = sqlx::query(sql)
                .bind(f.id)
                .bind(f.upn)
                .bind(limit)
                .bind(f.external_id)
                .bind(f.token_id)
                .bind(f.source_ref)
                .fetch_all(pool)
                .await?;
            let mut out: Vec<StoredVisit> = Vec::new();
            for r in &rows {
                let id: i64 = r.try_get("id")?;
                if out.last().is_none_or(|v| v.id != id) {
                    let kind: String = r.try_get("kind")?;
                    out.push(StoredVisit {
                        id,
                        source: r.try_get("source")?,
                        created_at: r.try_get("created_at")?,
                        document: VisitDocument {
                            external_id: r.try_get("external_id")?,
                            upn: r.try_get("upn")?,
                            admission_number: r.try_get("admission_number")?,
                            provider: r.try_get("provider_id")?,
                            occurred_at: r.try_get("occurred_at")?,
                            staff: r.try_get("staff")?,
                            kind: kind.parse::<VisitKind>().map_err(StoreError::Corrupt)?,
                            notes: VisitNotes {
                                pupil_views: r.try_get("pupil_views")?,
                                progress: r.try_get("progress")?,
                                behaviour: r.try_get("behaviour")?,
                                welfare: r.try_get("welfare")?,
                                actions: r.try_get("actions")?,
                            },
                            follow_up: r.try_get("follow_up")?,
                        },
                        request_sha256: r.try_get("request_sha256")?,
                        deliveries: Vec::new(),
                    });
                }
                let delivery_id: Option<i64> = r.try_get("delivery_id")?;
                if let (Some(delivery_id), Some(v)) = (delivery_id, out.last_mut()) {
                    v.deliveries.push(VisitDelivery {
                        delivery_id,
                        endpoint: r.try_get("sink")?,
                        status: r.try_get("status")?,
                        attempts: r.try_get("attempts")?,
                        last_error: r.try_get("last_error")?,
                        remote_id: r.try_get("remote_id")?,
                        delivered_at: r.try_get("delivered_at")?,
                    });
                }
            }
            Ok(out)
        })
    }

    /// Each pupil placed on `date` (and on roll), with their latest visit: the hook for the
    /// "visit overdue" rule. A pupil placed with two providers that day appears once for each.
    pub async fn last_visit_per_placed_pupil(&self, date: NaiveDate) -> Result<Vec<LastVisit>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT pl.upn, p.admission_number, pl.provider_id, MAX(v.occurred_at) AS last_visit
                 FROM placements pl JOIN pupils p ON p.upn = pl.upn
                 LEFT JOIN visits v ON v.upn = pl.upn
                 WHERE pl.start_date <= $1 AND (pl.end_date IS NULL OR pl.end_date >= $1) AND p.on_roll
                 GROUP BY pl.upn, p.admission_number, pl.provider_id
                 ORDER BY pl.upn, pl.provider_id",
            )
            .bind(date)
            .fetch_all(pool)
            .await?;
            let mut out = BTreeMap::new();
            for r in &rows {
                let upn: String = r.try_get("upn")?;
                let provider_id: String = r.try_get("provider_id")?;
                out.insert((upn.clone(), provider_id.clone()), LastVisit {
                    upn,
                    admission_number: r.try_get("admission_number")?,
                    provider_id,
                    last_visit: r.try_get("last_visit")?,
                });
            }
            Ok(out.into_values().collect())
        })
    }
}
