//! Registration sessions: every school day has a morning (AM) and an afternoon (PM) register.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One of the two statutory registration sessions of a school day.
///
/// Ordered so that AM sorts before PM, which is the register's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Session {
    /// The morning register.
    #[serde(rename = "AM")]
    Am,
    /// The afternoon register.
    #[serde(rename = "PM")]
    Pm,
}

impl Session {
    /// Both sessions, in register order.
    pub const BOTH: [Session; 2] = [Session::Am, Session::Pm];

    /// The session as the register writes it: `AM` or `PM`.
    pub fn as_str(self) -> &'static str {
        match self {
            Session::Am => "AM",
            Session::Pm => "PM",
        }
    }
}

impl fmt::Display for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A session name that is neither `AM` nor `PM`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a session: expected AM or PM")]
pub struct ParseSessionError(pub String);

impl FromStr for Session {
    type Err = ParseSessionError;

    /// Accepts `AM`/`PM` in any case, with surrounding spaces.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "AM" => Ok(Session::Am),
            "PM" => Ok(Session::Pm),
            _ => Err(ParseSessionError(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_either_case_and_orders_am_first() {
        assert_eq!(" am ".parse::<Session>(), Ok(Session::Am));
        assert_eq!("PM".parse::<Session>(), Ok(Session::Pm));
        assert!("noon".parse::<Session>().is_err());
        assert!(Session::Am < Session::Pm);
        assert_eq!(Session::Pm.to_string(), "PM");
    }
}
