//! Providers, pupils and placements: the roster the register hangs on.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError, with_pool, write_tx};
use crate::config::ProviderConfig;
use crate::domain::{Upn, Weekdays};
pub use crate::roster::StoredPupil;
use crate::roster::{PlacementRecord, PupilRecord, normalise_admission_number};

/// What a roster import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RosterChanges {
    /// Pupils new to the store.
    pub pupils_added: u32,
    /// Pupils whose details changed (or who came back on roll).
    pub pupils_updated: u32,
    /// Pupils exactly as stored.
    pub pupils_unchanged: u32,
    /// Pupils on roll before but missing from this export: kept, marked off roll.
    pub pupils_left_roll: u32,
    /// Placements new to the store.
    pub placements_added: u32,
    /// Placements whose details changed.
    pub placements_updated: u32,
    /// Placements exactly as stored.
    pub placements_unchanged: u32,
}

impl RosterChanges {
    /// Whether the import changed nothing.
    pub fn is_empty(&self) -> bool {
        self.pupils_added
            + self.pupils_updated
            + self.pupils_left_roll
            + self.placements_added
            + self.placements_updated
            == 0
    }
}

type PupilKey = (String, String, String, Option<String>, NaiveDate, Option<i32>);

fn pupil_key(p: &PupilRecord) -> PupilKey {
    (
        p.admission_number.clone(),
        p.legal_surname.clone(),
        p.legal_forename.clone(),
        p.preferred_forename.clone(),
        p.date_of_birth,
        p.year_group,
    )
}

type PlacementKey = (
    Option<String>,
    Option<NaiveDate>,
    String,
    String,
    Option<bool>,
    Option<String>,
);

fn placement_key(p: &PlacementRecord) -> PlacementKey {
    (
        p.provider_ref.clone(),
        p.end,
        p.weekdays.to_string(),
        sessions_text(p),
        p.full_time,
        p.reason.clone(),
    )
}

fn sessions_text(p: &PlacementRecord) -> String {
    p.sessions.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
}

impl Store {
    /// Writes the configured providers (new ones added, changed ones updated). Providers removed
    /// from the configuration stay, because marks and documents refer to them.
    pub async fn sync_providers(&self, providers: &[ProviderConfig], now: DateTime<Utc>) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            for p in providers {
                sqlx::query(
                    "INSERT INTO providers (id, name, present_code, urn, ukprn, qa_approval_expires, contact_email, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, present_code = excluded.present_code,
                         urn = excluded.urn, ukprn = excluded.ukprn, qa_approval_expires = excluded.qa_approval_expires,
                         contact_email = excluded.contact_email, updated_at = excluded.updated_at",
                )
                .bind(&p.id)
                .bind(&p.name)
                .bind(p.present_code.code().as_str())
                .bind(&p.urn)
                .bind(&p.ukprn)
                .bind(p.qa_approval_expires)
                .bind(&p.contact_email)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        });
        Ok(())
    }

    /// Loads an MIS export (and optionally the placements) as one transaction: an upsert, so the
    /// same files again change nothing; pupils missing from the export stay, marked off roll.
    /// A placement whose pupil is neither in the export nor already stored refuses the whole
    /// import.
    pub async fn import_roster(
        &self,
        pupils: &[PupilRecord],
        placements: Option<&[PlacementRecord]>,
        now: DateTime<Utc>,
    ) -> Result<RosterChanges, StoreError> {
        let mut changes = RosterChanges::default();
        write_tx!(self, tx => {
            let rows = sqlx::query(
                "SELECT upn, admission_number, legal_surname, legal_forename, preferred_forename, date_of_birth,
                        year_group, on_roll FROM pupils",
            )
            .fetch_all(&mut *tx)
            .await?;
            let mut stored: HashMap<String, (PupilKey, bool)> = HashMap::new();
            for r in &rows {
                let key = (
                    r.try_get("admission_number")?,
                    r.try_get("legal_surname")?,
                    r.try_get("legal_forename")?,
                    r.try_get("preferred_forename")?,
                    r.try_get("date_of_birth")?,
                    r.try_get("year_group")?,
                );
                stored.insert(r.try_get("upn")?, (key, r.try_get("on_roll")?));
            }
            let in_file: HashSet<&str> = pupils.iter().map(|p| p.upn.as_str()).collect();
            for p in pupils {
                let key = pupil_key(p);
                match stored.get(p.upn.as_str()) {
                    Some((old, true)) if *old == key => {
                        changes.pupils_unchanged += 1;
                        continue;
                    }
                    Some(_) => changes.pupils_updated += 1,
                    None => changes.pupils_added += 1,
                }
                sqlx::query(
                    "INSERT INTO pupils (upn, admission_number, admission_key, legal_surname, legal_forename,
                         preferred_forename, date_of_birth, year_group, on_roll, first_imported_at, updated_at, left_roll_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9, $9, NULL)
                     ON CONFLICT (upn) DO UPDATE SET admission_number = excluded.admission_number,
                         admission_key = excluded.admission_key, legal_surname = excluded.legal_surname,
                         legal_forename = excluded.legal_forename, preferred_forename = excluded.preferred_forename,
                         date_of_birth = excluded.date_of_birth, year_group = excluded.year_group,
                         on_roll = TRUE, updated_at = excluded.updated_at, left_roll_at = NULL",
                )
                .bind(p.upn.as_str())
                .bind(&p.admission_number)
                .bind(normalise_admission_number(&p.admission_number))
                .bind(&p.legal_surname)
                .bind(&p.legal_forename)
                .bind(&p.preferred_forename)
                .bind(p.date_of_birth)
                .bind(p.year_group)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            for (upn, (_, on_roll)) in &stored {
                if *on_roll && !in_file.contains(upn.as_str()) {
                    changes.pupils_left_roll += 1;
                    sqlx::query("UPDATE pupils SET on_roll = FALSE, left_roll_at = $1, updated_at = $1 WHERE upn = $2")
                        .bind(now)
                        .bind(upn)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            if let Some(placements) = placements {
                let unknown: Vec<String> = placements
                    .iter()
                    .filter(|p| !in_file.contains(p.upn.as_str()) && !stored.contains_key(p.upn.as_str()))
                    .map(|p| format!("line {}: UPN {} is not in the pupils file or the roster", p.line, p.upn))
                    .collect();
                if !unknown.is_empty() {
                    return Err(StoreError::Conflict(format!(
                        "placements name pupils apsync does not know; nothing was imported:\n  {}",
                        unknown.join("\n  ")
                    )));
                }
                let rows = sqlx::query(
                    "SELECT upn, provider_id, start_date, provider_ref, end_date, weekdays, sessions, full_time, reason
                     FROM placements",
                )
                .fetch_all(&mut *tx)
                .await?;
                let mut existing: HashMap<(String, String, NaiveDate), PlacementKey> = HashMap::new();
                for r in &rows {
                    existing.insert(
                        (r.try_get("upn")?, r.try_get("provider_id")?, r.try_get("start_date")?),
                        (
                            r.try_get("provider_ref")?,
                            r.try_get("end_date")?,
                            r.try_get("weekdays")?,
                            r.try_get("sessions")?,
                            r.try_get("full_time")?,
                            r.try_get("reason")?,
                        ),
                    );
                }
                for p in placements {
                    let id = (p.upn.as_str().to_string(), p.provider_id.clone(), p.start);
                    let key = placement_key(p);
                    match existing.get(&id) {
                        Some(old) if *old == key => {
                            changes.placements_unchanged += 1;
                            continue;
                        }
                        Some(_) => changes.placements_updated += 1,
                        None => changes.placements_added += 1,
                    }
                    sqlx::query(
                        "INSERT INTO placements (upn, provider_id, start_date, provider_ref, end_date, weekdays, sessions,
                             full_time, reason, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                         ON CONFLICT (upn, provider_id, start_date) DO UPDATE SET provider_ref = excluded.provider_ref,
                             end_date = excluded.end_date, weekdays = excluded.weekdays, sessions = excluded.sessions,
                             full_time = excluded.full_time, reason = excluded.reason, updated_at = excluded.updated_at",
                    )
                    .bind(p.upn.as_str())
                    .bind(&p.provider_id)
                    .bind(p.start)
                    .bind(key.0)
                    .bind(key.1)
                    .bind(key.2)
                    .bind(key.3)
                    .bind(key.4)
                    .bind(key.5)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        });
        Ok(changes)
    }

    /// Every stored pupil, on roll or not, by UPN.
    pub async fn pupils(&self) -> Result<Vec<StoredPupil>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT upn, admission_number, legal_surname, legal_forename, preferred_forename, date_of_birth,
                        year_group, on_roll FROM pupils ORDER BY upn",
            )
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let upn: String = r.try_get("upn")?;
                out.push(StoredPupil {
                    record: PupilRecord {
                        line: 0,
                        upn: parse_upn(&upn)?,
                        admission_number: r.try_get("admission_number")?,
                        legal_surname: r.try_get("legal_surname")?,
                        legal_forename: r.try_get("legal_forename")?,
                        preferred_forename: r.try_get("preferred_forename")?,
                        date_of_birth: r.try_get("date_of_birth")?,
                        year_group: r.try_get("year_group")?,
                    },
                    on_roll: r.try_get("on_roll")?,
                });
            }
            Ok(out)
        })
    }

    /// Every stored placement, by pupil and start date.
    pub async fn placements(&self) -> Result<Vec<PlacementRecord>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT upn, provider_id, start_date, provider_ref, end_date, weekdays, sessions, full_time, reason
                 FROM placements ORDER BY upn, start_date, provider_id",
            )
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let upn: String = r.try_get("upn")?;
                let weekdays: String = r.try_get("weekdays")?;
                let sessions: String = r.try_get("sessions")?;
                out.push(PlacementRecord {
                    line: 0,
                    upn: parse_upn(&upn)?,
                    provider_id: r.try_get("provider_id")?,
                    provider_ref: r.try_get("provider_ref")?,
                    start: r.try_get("start_date")?,
                    end: r.try_get("end_date")?,
                    weekdays: weekdays
                        .parse::<Weekdays>()
                        .map_err(|e| StoreError::Corrupt(format!("placement weekdays `{weekdays}`: {e}")))?,
                    sessions: sessions
                        .split_whitespace()
                        .map(str::parse)
                        .collect::<Result<_, _>>()
                        .map_err(|e| StoreError::Corrupt(format!("placement sessions `{sessions}`: {e}")))?,
                    full_time: r.try_get("full_time")?,
                    reason: r.try_get("reason")?,
                });
            }
            Ok(out)
        })
    }

    /// Keeps the MIS API's id of each pupil (`mis roster`), by UPN; a pupil not stored is
    /// skipped. An id another pupil held before moves to this one.
    pub async fn set_mis_ids(&self, ids: &[(String, String)], now: DateTime<Utc>) -> Result<(), StoreError> {
        write_tx!(self, tx => {
            for (upn, mis_id) in ids {
                sqlx::query("UPDATE pupils SET mis_id = NULL WHERE mis_id = $1 AND upn <> $2")
                    .bind(mis_id)
                    .bind(upn)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE pupils SET mis_id = $1, updated_at = $2 WHERE upn = $3 AND (mis_id IS NULL OR mis_id <> $1)",
                )
                .bind(mis_id)
                .bind(now)
                .bind(upn)
                .execute(&mut *tx)
                .await?;
            }
            Ok::<(), StoreError>(())
        })
    }

    /// Each pupil's MIS id, by UPN, for those that have one.
    pub async fn mis_ids(&self) -> Result<Vec<(String, String)>, StoreError> {
        with_pool!(self, pool => {
            let rows = sqlx::query("SELECT upn, mis_id FROM pupils WHERE mis_id IS NOT NULL ORDER BY upn")
                .fetch_all(pool)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push((r.try_get("upn")?, r.try_get("mis_id")?));
            }
            Ok(out)
        })
    }
}

pub(super) fn parse_upn(text: &str) -> Result<Upn, StoreError> {
    Upn::parse(text).map_err(|e| StoreError::Corrupt(format!("stored UPN `{text}`: {e}")))
}
