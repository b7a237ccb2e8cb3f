//! Which column of the school's exports holds which field. The defaults read the MIS export and
//! placements file as the sample files have them; a school whose MIS names columns differently
//! overrides only those names.

use serde::Deserialize;

/// The header names of the pupils file and the placements file, and the date patterns they use.
///
/// Headers match ignoring case and surrounding spaces. Unknown keys are not refused here, so the
/// config layer decides how strict to be.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RosterColumns {
    /// Pupils file: the UPN column (required).
    pub pupil_upn: String,
    /// Pupils file: the admission number column (required).
    pub admission_number: String,
    /// Pupils file: the legal surname column (required).
    pub legal_surname: String,
    /// Pupils file: the legal forename column (required).
    pub legal_forename: String,
    /// Pupils file: the preferred forename column. Optional: when the column is absent or a value
    /// is blank, the legal forename is used.
    pub preferred_forename: String,
    /// Pupils file: the date of birth column (required).
    pub date_of_birth: String,
    /// Pupils file: the year group column (required column; a blank value is allowed). Values
    /// such as `11`, `Y11`, `Year 11`, `R` (reception) and `N1`/`N2` (nursery) are understood.
    pub year_group: String,
    /// Placements file: the UPN column (required).
    pub placement_upn: String,
    /// Placements file: the provider column, holding the provider's id in apsync's config
    /// (required).
    pub provider: String,
    /// Placements file: the provider's own reference for the pupil (required column; a blank
    /// value is allowed).
    pub provider_ref: String,
    /// Placements file: the placement's first day (required).
    pub start: String,
    /// Placements file: the placement's last day (required column; blank for an open-ended
    /// placement).
    pub end: String,
    /// Placements file: the weekdays the pupil is expected, e.g. `Mon Tue Wed` or `Mon-Fri`
    /// (required).
    pub days: String,
    /// Placements file: the sessions expected on those days, `AM`, `PM` or both. Optional: when
    /// the column is absent or a value is blank, both sessions are expected.
    pub sessions: String,
    /// Placements file: the census's primary reason for the placement. Optional.
    pub reason: String,
    /// Placements file: whether the placement is full time (`y`/`n`). Optional.
    pub full_time: String,
    /// strftime-style patterns tried in order for every date in both files, e.g. `%d/%m/%Y`.
    pub date_formats: Vec<String>,
}

impl Default for RosterColumns {
    fn default() -> Self {
        RosterColumns {
            pupil_upn: "UPN".into(),
            admission_number: "Adno".into(),
            legal_surname: "Legal Surname".into(),
            legal_forename: "Legal Forename".into(),
            preferred_forename: "Preferred Forename".into(),
            date_of_birth: "DOB".into(),
            year_group: "Year".into(),
            placement_upn: "UPN".into(),
            provider: "Provider".into(),
            provider_ref: "Provider Ref".into(),
            start: "Start".into(),
            end: "End".into(),
            days: "Days".into(),
            sessions: "Sessions".into(),
            reason: "Reason".into(),
            full_time: "Full Time".into(),
            date_formats: vec!["%Y-%m-%d".into(), "%d/%m/%Y".into()],
        }
    }
}
