//! The Unique Pupil Number: 13 characters, a check letter then the local authority number,
//! establishment number, year of issue and serial. Only UPNs whose check letter is right are
//! accepted, so a mistyped UPN never silently names another pupil.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The alphabet of the check letter calculation; I, O and S are left out so they cannot be
/// confused with 1, 0 and 5. Digits follow the letters so each character has one index.
const ALPHABET: &[u8; 33] = b"ABCDEFGHJKLMNPQRTUVWXYZ0123456789";

/// Only the first 23 characters (the letters) can be a check letter.
const CHECK_LETTERS: usize = 23;

/// The length of every UPN.
pub const UPN_LEN: usize = 13;

/// A validated Unique Pupil Number, held upper case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Upn(String);

/// Why a text is not a valid UPN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpnError {
    /// Nothing was given.
    #[error("the UPN is empty")]
    Empty,
    /// Not 13 characters long.
    #[error("`{text}` has {found} characters; a UPN has 13")]
    WrongLength {
        /// The text as given (trimmed, upper case).
        text: String,
        /// How many characters it has.
        found: usize,
    },
    /// A character that cannot appear at that position.
    #[error("`{text}` has `{found}` at position {position}, where a UPN has {expected}")]
    BadCharacter {
        /// The text as given (trimmed, upper case).
        text: String,
        /// 1-based position of the character.
        position: usize,
        /// The character found there.
        found: char,
        /// What belongs there, in words.
        expected: &'static str,
    },
    /// Well formed, but the check letter does not match the rest.
    #[error(
        "`{text}` has the wrong check letter: it starts with {found}, but the rest of the UPN implies {expected} (a digit is probably mistyped)"
    )]
    WrongCheckLetter {
        /// The text as given (trimmed, upper case).
        text: String,
        /// The check letter given.
        found: char,
        /// The check letter the other twelve characters imply.
        expected: char,
    },
}

impl Upn {
    /// Validates a UPN: trims surrounding space, upper-cases, then checks length, shape and the
    /// check letter.
    pub fn parse(text: &str) -> Result<Upn, UpnError> {
        let text = text.trim().to_uppercase();
        if text.is_empty() {
            return Err(UpnError::Empty);
        }
        let chars: Vec<char> = text.chars().collect();
        if chars.len() != UPN_LEN {
            return Err(UpnError::WrongLength {
                found: chars.len(),
                text,
            });
        }
        for (index, &c) in chars.iter().enumerate() {
            let expected = match index {
                0 if !is_check_letter(c) => "a check letter (A-Z except I, O and S)",
                1..=3 if !c.is_ascii_digit() => "a digit (the local authority number)",
                4..=7 if !c.is_ascii_digit() => "a digit (the establishment number)",
                8..=9 if !c.is_ascii_digit() => "a digit (the year of issue)",
                10..=11 if !c.is_ascii_digit() => "a digit (the serial)",
                12 if !c.is_ascii_digit() && !is_check_letter(c) => {
                    "a digit (the serial) or, in a temporary UPN, a letter other than I, O or S"
                }
                _ => continue,
            };
            return Err(UpnError::BadCharacter {
                position: index + 1,
                found: c,
                expected,
                text,
            });
        }
        let expected = check_letter(&text[1..]);
        let found = chars[0];
        if found != expected {
            return Err(UpnError::WrongCheckLetter { text, found, expected });
        }
        Ok(Upn(text))
    }

    /// The UPN as text, 13 upper-case characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a temporary UPN (its last character is a letter).
    pub fn is_temporary(&self) -> bool {
        self.0.bytes().last().is_some_and(|b| b.is_ascii_alphabetic())
    }
}

fn is_check_letter(c: char) -> bool {
    u8::try_from(c).is_ok_and(|b| ALPHABET[..CHECK_LETTERS].contains(&b))
}

/// The check letter for characters 2 to 13 of a UPN, already known to be from the alphabet.
fn check_letter(rest: &str) -> char {
    let sum: usize = rest
        .bytes()
        .zip(2..)
        .map(|(b, weight)| ALPHABET.iter().position(|&a| a == b).unwrap_or(0) * weight)
        .sum();
    char::from(ALPHABET[sum % CHECK_LETTERS])
}

impl fmt::Display for Upn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Upn {
    type Err = UpnError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Upn::parse(s)
    }
}

impl AsRef<str> for Upn {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for Upn {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Upn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Upn::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
