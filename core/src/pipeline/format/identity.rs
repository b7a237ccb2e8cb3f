//! Which columns identify the pupil.

use serde::{Deserialize, Serialize};

/// The columns (or JSON paths) that hold the pupil's identifiers. Name every one the provider
/// sends; the matcher decides which to trust (UPN, admission number, the provider's reference
/// from the placement, or name with date of birth). Names are column header texts, matched
/// ignoring case and spaces.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct Identity {
    /// The column holding the pupil's unique pupil number (UPN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    /// The column holding the school's admission number (leading zeros do not matter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission_number: Option<String>,
    /// The column holding the provider's own reference for the pupil, as on the placement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_ref: Option<String>,
    /// One column holding the whole name; say how it is written with `name_order`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How the one-column `name` is written: `surname_first` (`Surname, Forename`) or
    /// `forename_first` (`Forename Surname`). Required with `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_order: Option<NameOrder>,
    /// The column holding the surname, when the name is in two columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    /// The column holding the forename, when the name is in two columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forename: Option<String>,
    /// The column holding the date of birth (read with the format's `date_formats`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
}

/// How a whole name in one column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NameOrder {
    /// `Surname, Forename` (the comma separates them).
    SurnameFirst,
    /// `Forename Surname` (the last word is the surname).
    ForenameFirst,
}

impl Identity {
    /// Every column named, in a stable order.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        [
            &self.provider_ref,
            &self.upn,
            &self.admission_number,
            &self.name,
            &self.surname,
            &self.forename,
            &self.date_of_birth,
        ]
        .into_iter()
        .filter_map(|c| c.as_deref())
    }

    /// Every column named, with its key under `identity` (for messages).
    pub fn keyed_columns(&self) -> Vec<(&'static str, &str)> {
        [
            ("provider_ref", &self.provider_ref),
            ("upn", &self.upn),
            ("admission_number", &self.admission_number),
            ("name", &self.name),
            ("surname", &self.surname),
            ("forename", &self.forename),
            ("date_of_birth", &self.date_of_birth),
        ]
        .into_iter()
        .filter_map(|(k, c)| c.as_deref().map(|c| (k, c)))
        .collect()
    }
}
