//! Reading dates: the format's patterns, ISO dates, spreadsheet date cells and serial numbers.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{Datelike as _, Days, NaiveDate, Weekday};

use crate::pipeline::decode::{Cell, Table};
use crate::pipeline::format::Format;

/// Reads dates the way one format says, in one table.
pub struct DateReader<'a> {
    formats: &'a [String],
    serials: bool,
    date_1904: bool,
    /// Which ways of reading a date have read one: a bit per pattern (the format's, then ISO),
    /// then [`CELL_BIT`] and [`SERIAL_BIT`]. Shown by `format try`.
    used: AtomicU64,
}

/// The bit of [`DateReader::used`] for a spreadsheet's own date cells.
const CELL_BIT: u32 = 62;
/// The bit of [`DateReader::used`] for spreadsheet serial numbers.
const SERIAL_BIT: u32 = 63;

impl<'a> DateReader<'a> {
    /// Reads dates as `format` says, with the table's date system (1900 or 1904 serials).
    pub fn new(format: &'a Format, table: &Table) -> Self {
        DateReader {
            formats: &format.date_formats,
            serials: format.excel_serial_dates,
            date_1904: table.date_1904,
            used: AtomicU64::new(0),
        }
    }

    fn note(&self, bit: u32) {
        if bit < 64 {
            self.used.fetch_or(1 << bit, Ordering::Relaxed);
        }
    }

    /// The ways dates have been read so far, for a person: the patterns, then
    /// `spreadsheet date cells` and `spreadsheet serial numbers`.
    pub fn used(&self) -> Vec<String> {
        let used = self.used.load(Ordering::Relaxed);
        let mut out: Vec<String> = self
            .formats
            .iter()
            .map(String::as_str)
            .chain([ISO])
            .enumerate()
            .filter(|(i, _)| *i < 62 && used & (1 << i) != 0)
            .map(|(_, p)| p.to_string())
            .collect();
        if used & (1 << CELL_BIT) != 0 {
            out.push("spreadsheet date cells".to_string());
        }
        if used & (1 << SERIAL_BIT) != 0 {
            out.push("spreadsheet serial numbers".to_string());
        }
        out
    }

    /// A date cell, or why it is not one (for a person).
    pub fn cell(&self, cell: &Cell) -> Result<NaiveDate, String> {
        match cell {
            Cell::Date(d) => {
                self.note(CELL_BIT);
                Ok(*d)
            }
            Cell::DateTime(dt) => {
                self.note(CELL_BIT);
                Ok(dt.date())
            }
            Cell::Empty => Err("the date is blank".to_string()),
            // A number may be a date written without separators (20260302 with %Y%m%d) before
            // it is a spreadsheet serial.
            Cell::Number(n) => self
                .patterns(&cell.as_text())
                .or_else(|| {
                    if self.serials {
                        excel_serial(*n, self.date_1904).inspect(|_| self.note(SERIAL_BIT))
                    } else {
                        None
                    }
                })
                .ok_or_else(|| format!("the number `{}` is not a date", cell.as_text())),
            Cell::Text(t) => self.text(t).ok_or_else(|| self.explain(t)),
        }
    }

    /// A date written as text, in the format's patterns, then ISO, then (if allowed) as a
    /// five-digit spreadsheet serial number.
    pub fn text(&self, text: &str) -> Option<NaiveDate> {
        self.patterns(text).or_else(|| self.text_serial(text.trim()))
    }

    /// A date in the format's patterns or ISO, also with ordinal suffixes dropped
    /// (`Monday 2nd March 2026` reads with `%A %d %B %Y`).
    fn patterns(&self, text: &str) -> Option<NaiveDate> {
        let text = text.trim();
        if text.is_empty() || text.len() > 64 {
            return None;
        }
        let patterns = || self.formats.iter().map(String::as_str).chain([ISO]).enumerate();
        let found = patterns()
            .find_map(|(i, pattern)| parse(text, pattern).map(|d| (i, d)))
            .or_else(|| {
                let plain = without_ordinals(text)?;
                patterns().find_map(|(i, pattern)| parse(&plain, pattern).map(|d| (i, d)))
            });
        found.map(|(i, date)| {
            self.note(u32::try_from(i).unwrap_or(u32::MAX));
            date
        })
    }

    fn text_serial(&self, text: &str) -> Option<NaiveDate> {
        if !self.serials {
            return None;
        }
        let whole = text.split('.').next().unwrap_or(text);
        let looks_serial = whole.len() == 5
            && whole.chars().all(|c| c.is_ascii_digit())
            && text[whole.len()..].chars().all(|c| c == '.' || c.is_ascii_digit());
        if !looks_serial {
            return None;
        }
        excel_serial(text.parse().ok()?, self.date_1904).inspect(|_| self.note(SERIAL_BIT))
    }

    fn explain(&self, text: &str) -> String {
        format!("`{text}` is not a date in any of the patterns {}", self.pattern_list())
    }

    /// The patterns tried, for messages: the format's, then ISO.
    pub fn pattern_list(&self) -> String {
        let mut known: Vec<&str> = self.formats.iter().map(String::as_str).collect();
        known.push("%Y-%m-%d");
        known.join(", ")
    }

    /// Every way the start of `text` reads as a date in the format's patterns or ISO, with
    /// the text after the date (a time of day, for a date-and-time cell).
    pub fn dates_with_rest<'t>(&self, text: &'t str) -> impl Iterator<Item = (NaiveDate, &'t str)> {
        self.formats
            .iter()
            .map(String::as_str)
            .chain(["%Y-%m-%d"])
            .filter_map(move |pattern| NaiveDate::parse_and_remainder(text, pattern).ok())
    }

    /// Whether numbers may be spreadsheet serial days, and which epoch they count from.
    pub fn serials(&self) -> bool {
        self.serials
    }

    /// Whether serial numbers count from 1904 (old Mac workbooks).
    pub fn date_1904(&self) -> bool {
        self.date_1904
    }
}

/// ISO dates, always understood after the format's patterns.
const ISO: &str = "%Y-%m-%d";

/// The text without ordinal suffixes after numbers (`2nd` to `2`), if it had any.
fn without_ordinals(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        out.push(chars[i]);
        if chars[i].is_ascii_digit()
            && let Some(pair) = chars.get(i + 1..i + 3)
        {
            let suffix: String = pair.iter().flat_map(|c| c.to_lowercase()).collect();
            let ends = chars.get(i + 3).is_none_or(|c| !c.is_alphabetic());
            if matches!(suffix.as_str(), "st" | "nd" | "rd" | "th") && ends {
                i += 3;
                changed = true;
                continue;
            }
        }
        i += 1;
    }
    changed.then_some(out)
}

/// Parses with one pattern, allowing a time of day after the date (`02/03/2026 00:00`).
fn parse(text: &str, pattern: &str) -> Option<NaiveDate> {
    if let Ok(d) = NaiveDate::parse_from_str(text, pattern) {
        return Some(d);
    }
    let (date, rest) = NaiveDate::parse_and_remainder(text, pattern).ok()?;
    // A time follows the date after a `T` or a space: digits straight after it are more of the
    // date (`16/03/2026` is not the year 20 with a time `26`, read with `%y`).
    if !rest.starts_with(|c: char| c == 'T' || c.is_whitespace()) {
        return None;
    }
    let rest = rest.trim();
    let time_like = rest.starts_with(|c: char| c == 'T' || c.is_ascii_digit())
        && rest.chars().all(|c| c.is_ascii_digit() || ":.TZ+- ".contains(c));
    time_like.then_some(date)
}

/// A spreadsheet serial day number as a date, in the 1900 system (with its phantom
/// 29 February 1900) or the 1904 system. The time of day is dropped.
pub fn excel_serial(serial: f64, date_1904: bool) -> Option<NaiveDate> {
    if !serial.is_finite() || !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let mut days = serial.floor() as u64;
    let epoch = if date_1904 {
        NaiveDate::from_ymd_opt(1904, 1, 1)?
    } else {
        if days < 61 {
            // Serials before the phantom 29 February 1900 are one day behind.
            days += 1;
        }
        NaiveDate::from_ymd_opt(1899, 12, 30)?
    };
    epoch.checked_add_days(Days::new(days))
}

/// A weekday name: `Mon`, `Monday`, `Tues`, `Thurs.`, any case.
pub fn weekday(word: &str) -> Option<Weekday> {
    let w = word.trim().trim_end_matches('.').to_lowercase();
    let day = match w.as_str() {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tues" | "tuesday" => Weekday::Tue,
        "wed" | "weds" | "wednesday" => Weekday::Wed,
        "thu" | "thur" | "thurs" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        _ => return None,
    };
    Some(day)
}

/// The given weekday in the (Monday to Sunday) week containing `date`.
pub fn weekday_in_week_of(date: NaiveDate, day: Weekday) -> Option<NaiveDate> {
    let monday = date.checked_sub_days(Days::new(u64::from(date.weekday().num_days_from_monday())))?;
    monday.checked_add_days(Days::new(u64::from(day.num_days_from_monday())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn serials_in_both_systems() {
        assert_eq!(excel_serial(46083.0, false), Some(ymd(2026, 3, 2)));
        assert_eq!(excel_serial(40693.75, false), Some(ymd(2011, 5, 30)));
        assert_eq!(excel_serial(1.0, false), Some(ymd(1900, 1, 1)));
        assert_eq!(excel_serial(61.0, false), Some(ymd(1900, 3, 1)));
        assert_eq!(excel_serial(0.0, false), None);
        assert_eq!(excel_serial(f64::NAN, false), None);
        assert_eq!(excel_serial(44621.0, true), Some(ymd(2026, 3, 2)));
    }

    #[test]
    fn ordinals_and_numbers() {
        let formats = vec!["%A %d %B %Y".to_string(), "%Y%m%d".to_string()];
        let reader = DateReader {
            formats: &formats,
            serials: true,
            date_1904: false,
            used: AtomicU64::new(0),
        };
        assert_eq!(reader.used(), Vec::<String>::new());
        assert_eq!(reader.text("Monday 2nd March 2026"), Some(ymd(2026, 3, 2)));
        assert_eq!(reader.text("Tuesday 3RD March 2026"), Some(ymd(2026, 3, 3)));
        assert_eq!(reader.text("1st"), None);
        assert_eq!(reader.cell(&Cell::Number(20260302.0)), Ok(ymd(2026, 3, 2)));
        assert_eq!(reader.cell(&Cell::Number(46083.0)), Ok(ymd(2026, 3, 2)));
        assert!(reader.cell(&Cell::Number(-3.0)).unwrap_err().contains("not a date"));
    }

    #[test]
    fn weekdays_and_weeks() {
        assert_eq!(weekday("Thurs."), Some(Weekday::Thu));
        assert_eq!(weekday("noon"), None);
        // A week ending on Sunday 8 March 2026 starts on Monday 2 March.
        assert_eq!(weekday_in_week_of(ymd(2026, 3, 8), Weekday::Tue), Some(ymd(2026, 3, 3)));
        assert_eq!(weekday_in_week_of(ymd(2026, 3, 2), Weekday::Fri), Some(ymd(2026, 3, 6)));
    }
}
