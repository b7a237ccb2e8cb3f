//! The link to the school's MIS: a small [`MisLink`] trait that another MIS API (Arbor's,
//! Groupcall Xporter's) can implement, and Wonde's client ([`wonde::Wonde`]). What is done with
//! what the link reads (the roster checked, the write-back planned) is the core's
//! (`apsync_core::mis`); this module only talks to the API.

pub mod plan;
pub mod push;
pub mod roster;
pub mod wonde;

use std::future::Future;
use std::time::Duration;

use chrono::NaiveDate;

use apsync_core::domain::Session;
pub use apsync_core::mis::MisStudent;

/// The school, as the MIS API knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MisSchool {
    /// The API's id for the school.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// One code of the school's attendance code list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MisCode {
    /// The API's id for the code, which write-back sends.
    pub id: String,
    /// The code as the register writes it (`B`, `N`, `/`).
    pub code: String,
}

/// A session mark as the MIS holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MisMark {
    /// The API's id for the student.
    pub student_id: String,
    /// The day.
    pub date: NaiveDate,
    /// AM or PM.
    pub session: Session,
    /// The API's id for the code held.
    pub code_id: String,
}

/// A session mark to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkToWrite {
    /// The API's id for the student.
    pub student_id: String,
    /// The day.
    pub date: NaiveDate,
    /// AM or PM.
    pub session: Session,
    /// The API's id for the code.
    pub code_id: String,
    /// A comment kept with the mark in the MIS (never personal detail).
    pub comment: Option<String>,
}

/// Why the MIS API could not be used, in words for the school's IT person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MisError {
    /// The token file could not be read.
    #[error("MIS-SECRET: {0}")]
    Secret(String),
    /// No connection, or it broke off.
    #[error("MIS-CONNECT: cannot reach the MIS API at {url}: {reason}. Check the url in [mis] and the network")]
    Connect {
        /// The URL tried (no token in it).
        url: String,
        /// What failed.
        reason: String,
    },
    /// 401: the token is wrong or revoked.
    #[error(
        "MIS-AUTH: the MIS API refused the token (401): put the school's current Wonde token in the [mis] token_file"
    )]
    Unauthorised,
    /// 403: the token is good but this school has not granted it access.
    #[error(
        "MIS-FORBIDDEN: the MIS API says this token may not read or write school {school} (403): ask the school to approve apsync's access in Wonde, including the permissions it needs (students, attendance, write-back)"
    )]
    Forbidden {
        /// The school id.
        school: String,
    },
    /// 404: the school (or endpoint) is not there.
    #[error(
        "MIS-NOT-FOUND: the MIS API has no {what} (404): check school_id and url in [mis] (a school on a regional domain answers only there)"
    )]
    NotFound {
        /// What was asked for.
        what: String,
    },
    /// 429: too many requests.
    #[error("MIS-RATE-LIMITED: the MIS API asks apsync to wait{} (429)", .retry_after.map(|d| format!(" {} s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// How long it asked for, if it said.
        retry_after: Option<Duration>,
    },
    /// 422: the API refused what was sent.
    #[error("MIS-REFUSED: the MIS API refused the write (422): {0}")]
    Validation(String),
    /// Another status.
    #[error("MIS-STATUS: the MIS API answered {status}{}", if *.transient { ", it may be down for a while; apsync tries again" } else { "" })]
    Status {
        /// The status.
        status: u16,
        /// Whether trying again later may help (5xx).
        transient: bool,
    },
    /// An answer that is not the JSON the API documents.
    #[error("MIS-JSON: the MIS API's answer to {what} is not what its documentation describes: {reason}")]
    Json {
        /// What was asked for.
        what: String,
        /// What was wrong.
        reason: String,
    },
}

impl MisError {
    /// Whether trying again later may succeed (network, 429, 5xx).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            MisError::Connect { .. } | MisError::RateLimited { .. } | MisError::Status { transient: true, .. }
        )
    }
}

/// What apsync needs of an MIS API.
pub trait MisLink {
    /// The school, proving the token and the school id.
    fn school(&self) -> impl Future<Output = Result<MisSchool, MisError>> + Send;
    /// Every student on roll, with UPN, admission number, date of birth and year group.
    fn students(&self) -> impl Future<Output = Result<Vec<MisStudent>, MisError>> + Send;
    /// The school's attendance code list.
    fn codes(&self) -> impl Future<Output = Result<Vec<MisCode>, MisError>> + Send;
    /// The session marks the MIS holds from `from` to `to`, both included.
    fn session_marks(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<Vec<MisMark>, MisError>> + Send;
    /// Writes session marks; the API's id for the write-back.
    fn write_sessions(&self, marks: &[MarkToWrite]) -> impl Future<Output = Result<String, MisError>> + Send;
}

/// What `check --online` says of the link: the school's name and how many codes its list has,
/// or what failed (the token read from `token_file` as the daemon would).
pub async fn check_online(config: &crate::config::MisConfig, config_dir: &std::path::Path) -> Result<String, String> {
    let creds = std::env::var_os("CREDENTIALS_DIRECTORY").map(std::path::PathBuf::from);
    let token = config
        .token
        .read(creds.as_deref(), config_dir)
        .map_err(|e| e.to_string())?;
    let link = wonde::Wonde::new(config, token).map_err(|e| e.to_string())?;
    let school = link.school().await.map_err(|e| e.to_string())?;
    let codes = link.codes().await.map_err(|e| e.to_string())?;
    Ok(format!(
        "{}, {} attendance codes; nothing written",
        school.name,
        codes.len()
    ))
}
