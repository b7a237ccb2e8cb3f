//! The statutory register codes (England, from 19 August 2024), how each one counts in the
//! attendance statistics, and the pre-2024 marks that providers may still send.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares `Code` and its tables from one list, so the code text, meaning, group and statistics
/// category of a code can never drift apart.
macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $text:literal, $meaning:literal, $group:ident, $cat:ident; )+) => {
        /// A statutory attendance register code.
        ///
        /// Serialised as the code exactly as the register writes it (`/`, `B`, `C1`, `#`, ...).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $( $(#[$doc])* $variant, )+
        }

        impl Code {
            /// Every code, in the order of the statutory table.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )+ ];

            /// The code as the register writes it, e.g. `B`, `C1`, `/`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $text, )+ }
            }

            /// What the code means, in a few words.
            pub fn meaning(self) -> &'static str {
                match self { $( Code::$variant => $meaning, )+ }
            }

            /// The group the code belongs to in the statutory table.
            pub fn group(self) -> CodeGroup {
                match self { $( Code::$variant => CodeGroup::$group, )+ }
            }

            /// How the code counts in the attendance statistics.
            pub fn category(self) -> StatCategory {
                match self { $( Code::$variant => StatCategory::$cat, )+ }
            }
        }
    };
}

codes! {
    /// `/`: present at morning registration.
    PresentAm = "/", "Present at morning registration", Present, Attendance;
    /// `\`: present at afternoon registration.
    PresentPm = "\\", "Present at afternoon registration", Present, Attendance;
    /// Late, arrived before the register closed.
    L = "L", "Late, arrived before the register closed", Present, Attendance;
    /// Attending education provision arranged by the local authority.
    K = "K", "Attending education provision arranged by the local authority", AttendingElsewhere, Attendance;
    /// Educational visit or trip organised by the school.
    V = "V", "Educational visit or trip organised by the school", AttendingElsewhere, Attendance;
    /// Approved, supervised sporting activity.
    P = "P", "Approved, supervised sporting activity", AttendingElsewhere, Attendance;
    /// Work experience.
    W = "W", "Work experience", AttendingElsewhere, Attendance;
    /// Attending any other approved educational activity (school-arranged alternative provision).
    B = "B", "Attending any other approved educational activity (school-arranged alternative provision)", AttendingElsewhere, Attendance;
    /// Attending another school at which the pupil is dual registered (not counted here).
    D = "D", "Attending another school at which the pupil is dual registered", AttendingElsewhere, NotCounted;
    /// Leave for a regulated performance or employment abroad.
    C1 = "C1", "Leave for a regulated performance or employment abroad", LeaveOfAbsence, Authorised;
    /// Leave for a medical or dental appointment.
    M = "M", "Leave for a medical or dental appointment", LeaveOfAbsence, Authorised;
    /// Leave for an interview (employment or another institution).
    J1 = "J1", "Leave for an interview (employment or another institution)", LeaveOfAbsence, Authorised;
    /// Study leave.
    S = "S", "Study leave", LeaveOfAbsence, Authorised;
    /// Not required to attend (non-compulsory school age).
    X = "X", "Not required to attend (non-compulsory school age)", LeaveOfAbsence, NotCounted;
    /// Part-time timetable agreed for a compulsory-age pupil.
    C2 = "C2", "Part-time timetable agreed for a compulsory-age pupil", LeaveOfAbsence, Authorised;
    /// Leave in other exceptional circumstances.
    C = "C", "Leave in other exceptional circumstances", LeaveOfAbsence, Authorised;
    /// Parent travelling for occupational purposes.
    T = "T", "Parent travelling for occupational purposes", OtherAuthorised, Authorised;
    /// Religious observance.
    R = "R", "Religious observance", OtherAuthorised, Authorised;
    /// Illness (not medical or dental appointments).
    I = "I", "Illness (not medical or dental appointments)", OtherAuthorised, Authorised;
    /// Suspended or permanently excluded, no alternative provision made.
    E = "E", "Suspended or permanently excluded, no alternative provision made", OtherAuthorised, Authorised;
    /// Unable to attend because the local authority has not made travel or access arrangements.
    Q = "Q", "Unable to attend because the local authority has not made travel or access arrangements", UnableToAttend, NotCounted;
    /// Transport normally provided not available.
    Y1 = "Y1", "Transport normally provided not available", UnableToAttendExceptional, NotCounted;
    /// Widespread disruption to travel.
    Y2 = "Y2", "Widespread disruption to travel", UnableToAttendExceptional, NotCounted;
    /// Part of the school premises closed.
    Y3 = "Y3", "Part of the school premises closed", UnableToAttendExceptional, NotCounted;
    /// Whole school site unexpectedly closed.
    Y4 = "Y4", "Whole school site unexpectedly closed", UnableToAttendExceptional, NotCounted;
    /// In criminal justice detention.
    Y5 = "Y5", "In criminal justice detention", UnableToAttendExceptional, NotCounted;
    /// Public health guidance or law.
    Y6 = "Y6", "Public health guidance or law", UnableToAttendExceptional, NotCounted;
    /// Any other unavoidable cause.
    Y7 = "Y7", "Any other unavoidable cause", UnableToAttendExceptional, NotCounted;
    /// Holiday not granted by the school.
    G = "G", "Holiday not granted by the school", Unauthorised, Unauthorised;
    /// Reason for absence not yet provided (a holding code, to be replaced).
    N = "N", "Reason for absence not yet provided", Unauthorised, Unauthorised;
    /// Absent in other or unknown circumstances.
    O = "O", "Absent in other or unknown circumstances", Unauthorised, Unauthorised;
    /// Arrived after the register closed.
    U = "U", "Arrived after the register closed", Unauthorised, Unauthorised;
    /// Prospective pupil not yet on the admission register.
    Z = "Z", "Prospective pupil not yet on the admission register", Administrative, NotCounted;
    /// `#`: planned whole or partial school closure.
    PlannedClosure = "#", "Planned whole or partial school closure", Administrative, NotCounted;
}

/// The groups of the statutory code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeGroup {
    /// Present at the school (`/`, `\`, L).
    Present,
    /// Attending a place other than the school (K, V, P, W, B, D).
    AttendingElsewhere,
    /// Leave of absence granted by the school (C1, M, J1, S, X, C2, C).
    LeaveOfAbsence,
    /// Other authorised absence (T, R, I, E).
    OtherAuthorised,
    /// Unable to attend because of local authority arrangements (Q).
    UnableToAttend,
    /// Unable to attend because of exceptional circumstances (Y1 to Y7).
    UnableToAttendExceptional,
    /// Unauthorised absence (G, N, O, U).
    Unauthorised,
    /// Administrative codes (Z, #).
    Administrative,
}

impl CodeGroup {
    /// A label for staff-facing text.
    pub fn label(self) -> &'static str {
        match self {
            CodeGroup::Present => "Present",
            CodeGroup::AttendingElsewhere => "Attending a place other than the school",
            CodeGroup::LeaveOfAbsence => "Leave of absence",
            CodeGroup::OtherAuthorised => "Other authorised absence",
            CodeGroup::UnableToAttend => "Unable to attend",
            CodeGroup::UnableToAttendExceptional => "Unable to attend (exceptional circumstances)",
            CodeGroup::Unauthorised => "Unauthorised absence",
            CodeGroup::Administrative => "Administrative",
        }
    }
}

impl fmt::Display for CodeGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// How a code counts in the attendance statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatCategory {
    /// Counts as attendance and as a possible session.
    Attendance,
    /// Authorised absence, inside possible sessions.
    Authorised,
    /// Unauthorised absence, inside possible sessions.
    Unauthorised,
    /// Left out of possible sessions altogether.
    NotCounted,
}

impl StatCategory {
    /// Whether the session counts towards possible sessions.
    pub fn is_possible(self) -> bool {
        self != StatCategory::NotCounted
    }

    /// Whether the session is an absence (authorised or not).
    pub fn is_absence(self) -> bool {
        matches!(self, StatCategory::Authorised | StatCategory::Unauthorised)
    }
}

impl Code {
    /// Whether this code records a pupil who attended (the `Attendance` category).
    pub fn is_attendance(self) -> bool {
        self.category() == StatCategory::Attendance
    }

    /// Whether this code records an absence, authorised or not.
    pub fn is_absence(self) -> bool {
        self.category().is_absence()
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text that is not a statutory register code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a register code (the codes in use since August 2024 are / \\ L K V P W B D C1 M J1 S X C2 C T R I E Q Y1-Y7 G N O U Z #)"
)]
pub struct UnknownCode(pub String);

impl FromStr for Code {
    type Err = UnknownCode;

    /// Accepts the statutory code exactly, letters in either case, with surrounding spaces.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Code::ALL
            .iter()
            .copied()
            .find(|code| code.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownCode(s.to_string()))
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Owned, because `\` arrives escaped in JSON and cannot be borrowed from the input.
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The code a provider's "present" becomes: B for school-arranged provision, K for provision
/// arranged by the local authority, D for another school where the pupil is dual registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PresentCode {
    /// School-arranged alternative provision.
    #[default]
    B,
    /// Provision arranged by the local authority.
    K,
    /// Another school at which the pupil is dual registered.
    D,
}

impl PresentCode {
    /// The register code this stands for.
    pub fn code(self) -> Code {
        match self {
            PresentCode::B => Code::B,
            PresentCode::K => Code::K,
            PresentCode::D => Code::D,
        }
    }
}

impl fmt::Display for PresentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code().as_str())
    }
}

/// Text that is not one of the present codes B, K, D.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a present code: expected B (school-arranged provision), K (arranged by the local authority) or D (dual registered)"
)]
pub struct UnknownPresentCode(pub String);

impl FromStr for PresentCode {
    type Err = UnknownPresentCode;

    /// Accepts B, K or D in either case, with surrounding spaces.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "B" => Ok(PresentCode::B),
            "K" => Ok(PresentCode::K),
            "D" => Ok(PresentCode::D),
            _ => Err(UnknownPresentCode(s.to_string())),
        }
    }
}

impl Serialize for PresentCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code().as_str())
    }
}

impl<'de> Deserialize<'de> for PresentCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// For a mark that was a register code before August 2024 (or a vendor's mark) and is not a valid
/// code now, why a person must decide what it becomes. `None` for a valid code, a blank, or text
/// that was never a register mark.
///
/// These are never mapped automatically: several changed meaning, so a guess could turn an absence
/// into attendance or the reverse.
pub fn legacy_code_reason(raw: &str) -> Option<&'static str> {
    let mark = raw.trim().to_ascii_uppercase();
    let reason = match mark.as_str() {
        "H" => {
            "H was an agreed family holiday before August 2024; that code was removed (exceptional leave is now C, an unagreed holiday G)"
        }
        "F" => {
            "F was an agreed extended family holiday, obsolete since 2013; the school must decide which current code applies"
        }
        "J" => "J was an interview counted as present before August 2024; J1 is now an authorised absence",
        "Y" => {
            "Y was the single 'unable to attend' code before August 2024; it is now split into Y1 to Y7, so the right one must be chosen"
        }
        "7" | "8" | "9" | "=" | "[" | "]" => {
            "this is a vendor-specific mark, not a DfE register code; the school must decide what it means"
        }
        "-" => "`-` means no mark was taken; the school must decide the session's code",
        _ if is_covid_x_subcode(&mark) => {
            "X01 to X06 were Covid-19 sub-codes of X; X now means only 'not of compulsory school age', so the school must decide"
        }
        _ => return None,
    };
    Some(reason)
}

/// `X01`..`X06` (and the unpadded `X1`..`X6` some systems export).
fn is_covid_x_subcode(mark: &str) -> bool {
    mark.strip_prefix('X')
        .filter(|digits| (1..=2).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse::<u8>().ok())
        .is_some_and(|n| (1..=6).contains(&n))
}

#[cfg(test)]
mod tests;
