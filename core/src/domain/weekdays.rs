//! A set of days of the week, as a placement's expected days are written: `Mon Tue Wed`.

use std::fmt;
use std::str::FromStr;

use chrono::Weekday;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Days in display order; the bit for a day is its index here.
const DAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

const SHORT: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// A set of weekdays, e.g. the days a placement expects the pupil.
///
/// Parsed from text such as `Mon Tue Wed`, `Mon,Tue`, `Monday Tuesday` or `Mon-Fri`, in any
/// case; displayed and serialised as `Mon Tue Wed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Weekdays(u8);

impl Weekdays {
    /// No days.
    pub const NONE: Weekdays = Weekdays(0);
    /// Monday to Friday.
    pub const MON_TO_FRI: Weekdays = Weekdays(0b001_1111);

    /// Whether the set holds `day`.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & bit(day) != 0
    }

    /// Adds `day` to the set.
    pub fn insert(&mut self, day: Weekday) {
        self.0 |= bit(day);
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many days the set holds.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The days, Monday first.
    pub fn iter(self) -> impl Iterator<Item = Weekday> {
        DAYS.into_iter().filter(move |&d| self.contains(d))
    }
}

fn bit(day: Weekday) -> u8 {
    1 << day.num_days_from_monday()
}

impl FromIterator<Weekday> for Weekdays {
    fn from_iter<I: IntoIterator<Item = Weekday>>(iter: I) -> Self {
        let mut days = Weekdays::NONE;
        for day in iter {
            days.insert(day);
        }
        days
    }
}

/// Text that does not name days of the week.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeekdaysError {
    /// No day was given.
    #[error("no days are given: write the days as `Mon Tue Wed` (or `Mon-Fri`)")]
    Empty,
    /// A word that is not a day.
    #[error(
        "`{word}` in `{text}` is not a day of the week: write the days as `Mon Tue Wed` (or `Monday Tuesday`, or `Mon-Fri`)"
    )]
    NotADay {
        /// The whole text.
        text: String,
        /// The word that is not a day.
        word: String,
    },
}

/// One day from its English name: full, three letters, or a common short form (`Tues`, `Thurs`).
fn parse_day(word: &str) -> Option<Weekday> {
    let word = word.to_lowercase();
    if word == "weds" {
        return Some(Weekday::Wed);
    }
    // Any prefix of three letters or more is unambiguous, and covers Tues, Thur, Thurs.
    if word.len() < 3 {
        return None;
    }
    LONG.iter().position(|long| long.starts_with(&word)).map(|i| DAYS[i])
}

impl FromStr for Weekdays {
    type Err = WeekdaysError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut days = Weekdays::NONE;
        let not_a_day = |word: &str| WeekdaysError::NotADay {
            text: text.to_string(),
            word: word.to_string(),
        };
        let words = text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '/' | '|' | '+'));
        for word in words.filter(|w| !w.is_empty()) {
            match word.split_once('-') {
                Some((first, last)) => {
                    let first = parse_day(first).ok_or_else(|| not_a_day(word))?;
                    let last = parse_day(last).ok_or_else(|| not_a_day(word))?;
                    // Ranges run forward within one week; `Fri-Mon` would be a guess.
                    if last.num_days_from_monday() < first.num_days_from_monday() {
                        return Err(not_a_day(word));
                    }
                    let (from, to) = (first.num_days_from_monday(), last.num_days_from_monday());
                    DAYS[from as usize..=to as usize].iter().for_each(|&d| days.insert(d));
                }
                None => days.insert(parse_day(word).ok_or_else(|| not_a_day(word))?),
            }
        }
        if days.is_empty() {
            return Err(WeekdaysError::Empty);
        }
        Ok(days)
    }
}

impl fmt::Display for Weekdays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for day in self.iter() {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            f.write_str(SHORT[day.num_days_from_monday() as usize])?;
        }
        Ok(())
    }
}

impl Serialize for Weekdays {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Weekdays {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn days(text: &str) -> Weekdays {
        text.parse().unwrap()
    }

    #[test]
    fn parses_the_usual_spellings() {
        let mon_to_wed = Weekdays::from_iter([Weekday::Mon, Weekday::Tue, Weekday::Wed]);
        for text in [
            "Mon Tue Wed",
            "Mon,Tue,Wed",
            "mon, tue , WED",
            "Monday Tuesday Wednesday",
            "Mon-Wed",
            "Wed Tue Mon Mon",
            "Mon;Tues;Weds",
            "Mon/Tue/Wed",
        ] {
            assert_eq!(days(text), mon_to_wed, "{text}");
        }
        assert_eq!(days("Mon Tue Wed Thu Fri"), Weekdays::MON_TO_FRI);
        assert_eq!(days("monday-friday"), Weekdays::MON_TO_FRI);
        assert_eq!(days("Thurs Fri").to_string(), "Thu Fri");
        assert_eq!(days("Sat Sun").len(), 2);
    }

    #[test]
    fn displays_in_week_order() {
        assert_eq!(days("Fri Mon Wed").to_string(), "Mon Wed Fri");
        assert_eq!(Weekdays::MON_TO_FRI.to_string(), "Mon Tue Wed Thu Fri");
        assert_eq!(Weekdays::NONE.to_string(), "");
    }

    #[test]
    fn contains_only_its_days() {
        let d = days("Thu Fri");
        assert!(d.contains(Weekday::Thu) && d.contains(Weekday::Fri));
        assert!(!d.contains(Weekday::Mon) && !d.contains(Weekday::Sun));
        assert_eq!(d.iter().collect::<Vec<_>>(), vec![Weekday::Thu, Weekday::Fri]);
    }

    #[test]
    fn rejects_non_days_naming_the_word() {
        let err = "Mon Tuseday".parse::<Weekdays>().unwrap_err();
        assert_eq!(
            err,
            WeekdaysError::NotADay {
                text: "Mon Tuseday".into(),
                word: "Tuseday".into()
            }
        );
        assert!(err.to_string().contains("`Tuseday`"), "{err}");
        for bad in ["M T W", "Fri-Mon", "Mon-", "1 2 3", "Mo"] {
            assert!(bad.parse::<Weekdays>().is_err(), "{bad}");
        }
        assert_eq!(" , ".parse::<Weekdays>(), Err(WeekdaysError::Empty));
        assert_eq!("".parse::<Weekdays>(), Err(WeekdaysError::Empty));
    }

    #[test]
    fn serde_is_the_display_string() {
        let d = days("Mon Wed");
        assert_eq!(serde_json::to_string(&d).unwrap(), r#""Mon Wed""#);
        assert_eq!(serde_json::from_str::<Weekdays>(r#""monday,wednesday""#).unwrap(), d);
        assert!(serde_json::from_str::<Weekdays>(r#""Funday""#).is_err());
    }
}
