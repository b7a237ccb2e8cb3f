//! A return's identity by what it says: the SHA-256 of its observations in file order (who,
//! which day and session, the mark, reason and comment) and of the rows it could not read. Two
//! files with the same observations are the same return however their bytes differ: other line
//! endings, a byte order mark, trailing blank lines, a workbook saved again. Where in the file a
//! row sits is left out, so a blank line added above the data changes nothing either. A report
//! date the format names is part of it.

use crate::pipeline::Decoded;
use crate::sha256::Sha256Hex;

/// The running fingerprint of a document, fed a window of decoded rows at a time.
#[derive(Debug, Default, Clone)]
pub struct Fingerprint {
    hash: Sha256Hex,
}

impl Fingerprint {
    /// A fingerprint for a document whose rows all wait for a person (an unauthenticated
    /// email): the same observations held and not held are different returns.
    pub fn new(held_for_review: bool) -> Self {
        let mut f = Fingerprint::default();
        if held_for_review {
            f.hash.update(b"held\n");
        }
        f
    }

    /// Adds the date the provider made the return, when its format names one: a return made
    /// later that says the same again is the provider saying it again, not the same return.
    pub fn add_report_date(&mut self, date: chrono::NaiveDate) {
        self.line(b'r', &date);
    }

    /// Adds the next window's observations and unreadable rows.
    pub fn add(&mut self, decoded: &Decoded) {
        for o in &decoded.observations {
            let said = (&o.identity, o.date, o.session.as_str(), &o.mark, &o.reason, &o.comment);
            self.line(b'o', &said);
        }
        for p in &decoded.problems {
            self.line(b'p', &(&p.identifier, &p.raw_row));
        }
    }

    fn line(&mut self, tag: u8, value: &impl serde::Serialize) {
        // JSON keeps every field's boundaries; a serialisation error (none for these types)
        // would only make two returns differ, never match.
        let json = serde_json::to_vec(value).unwrap_or_default();
        self.hash.update(&[tag]);
        self.hash.update(&json);
        self.hash.update(b"\n");
    }

    /// The fingerprint as lower-case hex.
    pub fn finish(self) -> String {
        self.hash.finish().0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{IdentityFields, Observation, RowProblem};

    fn observation(locator: &str, mark: &str) -> Observation {
        Observation {
            locator: locator.into(),
            identity: IdentityFields {
                upn: Some("A123456789012".into()),
                ..IdentityFields::default()
            },
            date: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default(),
            session: crate::domain::Session::Am,
            mark: mark.into(),
            reason: None,
            comment: None,
            raw_row: vec![locator.into()],
        }
    }

    fn of(windows: &[Decoded], held: bool) -> String {
        let mut f = Fingerprint::new(held);
        windows.iter().for_each(|w| f.add(w));
        f.finish()
    }

    #[test]
    fn the_same_observations_anywhere_in_the_file_are_the_same_return() {
        let one = Decoded {
            observations: vec![observation("line 2", "/"), observation("line 3", "N")],
            problems: vec![],
        };
        let shifted = Decoded {
            observations: vec![observation("line 3", "/"), observation("line 4", "N")],
            problems: vec![],
        };
        let split = [
            Decoded {
                observations: vec![observation("line 2", "/")],
                problems: vec![],
            },
            Decoded {
                observations: vec![observation("line 3", "N")],
                problems: vec![],
            },
        ];
        assert_eq!(of(std::slice::from_ref(&one), false), of(&[shifted], false));
        assert_eq!(of(std::slice::from_ref(&one), false), of(&split, false));
        let other = Decoded {
            observations: vec![observation("line 2", "/"), observation("line 3", "M")],
            problems: vec![],
        };
        assert_ne!(of(std::slice::from_ref(&one), false), of(&[other], false));
        assert_ne!(
            of(std::slice::from_ref(&one), false),
            of(std::slice::from_ref(&one), true)
        );
        let unreadable = Decoded {
            observations: one.observations.clone(),
            problems: vec![RowProblem {
                locator: "line 4".into(),
                identifier: None,
                message: "no date".into(),
                raw_row: vec!["x".into()],
            }],
        };
        assert_ne!(of(&[one], false), of(&[unreadable], false));
    }
}
