//! Reading a session's start time: a time cell (`09:00`, `1:15 pm`), or a date and time in one
//! cell (`2026-04-20T09:00:00`, `20/04/2026 13:15`), so that the time can tell the session.

use chrono::{NaiveDate, NaiveTime, Timelike as _};

use super::dates::{DateReader, excel_serial};
use crate::pipeline::decode::Cell;

/// A start time as seconds from midnight, with the text it was read from (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartTime {
    /// Seconds from midnight.
    pub seconds: u32,
    /// As the provider wrote it.
    pub shown: String,
}

impl StartTime {
    fn of(time: NaiveTime, shown: impl Into<String>) -> StartTime {
        StartTime {
            seconds: time.num_seconds_from_midnight(),
            shown: shown.into(),
        }
    }
}

impl DateReader<'_> {
    /// A cell holding only a time of day: text, a spreadsheet time (a date cell on day zero, or
    /// a fraction of a day).
    pub fn time(&self, cell: &Cell) -> Result<StartTime, String> {
        match cell {
            Cell::Empty => Err("the time is blank".to_string()),
            Cell::DateTime(dt) => Ok(StartTime::of(dt.time(), cell.as_text())),
            Cell::Number(n) if (0.0..1.0).contains(n) => {
                let seconds = (n * 86_400.0).round() as u32;
                NaiveTime::from_num_seconds_from_midnight_opt(seconds.min(86_399), 0)
                    .map(|t| StartTime::of(t, t.format("%H:%M").to_string()))
                    .ok_or_else(|| format!("the number `{}` is not a time of day", cell.as_text()))
            }
            Cell::Number(_) | Cell::Date(_) => Err(format!(
                "`{}` is not a time of day: write it as HH:MM, such as 09:00 or 13:15",
                cell.as_text()
            )),
            Cell::Text(t) => time_text(t).map(|time| StartTime::of(time, t.trim())),
        }
    }

    /// A cell holding a date and a time of day together.
    pub fn date_time(&self, cell: &Cell) -> Result<(NaiveDate, StartTime), String> {
        match cell {
            Cell::Empty => Err("the date and time are blank".to_string()),
            Cell::DateTime(dt) => Ok((dt.date(), StartTime::of(dt.time(), cell.as_text()))),
            Cell::Date(d) => Err(no_time(&d.format("%Y-%m-%d").to_string())),
            Cell::Number(n) => {
                // A spreadsheet serial with a fraction: the day, then the time of day.
                let date = self
                    .serials()
                    .then(|| excel_serial(*n, self.date_1904()))
                    .flatten()
                    .ok_or_else(|| format!("the number `{}` is not a date and time", cell.as_text()))?;
                let fraction = n - n.floor();
                if fraction == 0.0 {
                    return Err(no_time(&cell.as_text()));
                }
                let time = self.time(&Cell::Number(fraction))?;
                Ok((date, time))
            }
            Cell::Text(t) => self.date_time_text(t),
        }
    }

    /// A date in one of the format's patterns (or ISO) followed by a time: the first pattern
    /// whose rest reads as a time wins, so `%d/%m/%y` does not take `2026` for `20`.
    fn date_time_text(&self, text: &str) -> Result<(NaiveDate, StartTime), String> {
        let text = text.trim();
        let mut first_error = None;
        for (date, rest) in self.dates_with_rest(text) {
            let rest = rest.trim_start();
            let rest = rest.strip_prefix(['T', 't']).unwrap_or(rest).trim();
            let result = if rest.is_empty() {
                Err(no_time(text))
            } else {
                time_text(rest).map_err(|why| format!("in `{text}`: {why}"))
            };
            match result {
                Ok(time) => return Ok((date, StartTime::of(time, text))),
                Err(why) => {
                    first_error.get_or_insert(why);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| {
            format!(
                "`{text}` is not a date and time: its date is not in any of the patterns {}",
                self.pattern_list()
            )
        }))
    }
}

fn no_time(shown: &str) -> String {
    format!("`{shown}` has a date but no time of day, so its session cannot be told")
}

/// A time of day as text: `9:00`, `09:00:00`, `13:15`, `09:00:00.000`, `1:15 pm`, `9.30am`.
/// A time with a zone (`Z`, `+01:00`) is refused: the session is the school's local time, and
/// apsync does not guess which zone the provider meant.
fn time_text(text: &str) -> Result<NaiveTime, String> {
    let shown = text.trim();
    let lower = shown.to_lowercase();
    if let Some(zone) = zone_suffix(&lower) {
        return Err(format!(
            "the time `{shown}` carries a time zone (`{zone}`): apsync reads session times as the school's local time, \
             so ask the provider to send local times (without `Z` or an offset)"
        ));
    }
    let (clock, half) = match strip_half(&lower) {
        Some((clock, pm)) => (clock, Some(pm)),
        None => (lower.as_str(), None),
    };
    // `9.30` is half past nine; in `09:00:00.000` the dot is a fraction of a second.
    let clock = clock.trim();
    let clock = if clock.contains(':') {
        clock.to_string()
    } else {
        clock.replace('.', ":")
    };
    let parsed = ["%H:%M:%S%.f", "%H:%M:%S", "%H:%M"]
        .iter()
        .find_map(|p| NaiveTime::parse_from_str(&clock, p).ok());
    let bad = || format!("`{shown}` is not a time of day: write it as HH:MM, such as 09:00 or 13:15");
    let time = parsed.ok_or_else(bad)?;
    match half {
        None => Ok(time),
        // `12:30 am` is just after midnight, `12:30 pm` just after noon.
        Some(pm) if (1..=12).contains(&time.hour()) => {
            let hour = time.hour() % 12 + if pm { 12 } else { 0 };
            time.with_hour(hour).ok_or_else(bad)
        }
        Some(_) => Err(bad()),
    }
}

/// The clock part and whether it is afternoon, for a time ending in am or pm.
fn strip_half(lower: &str) -> Option<(&str, bool)> {
    [("a.m.", false), ("am", false), ("p.m.", true), ("pm", true)]
        .iter()
        .find_map(|(suffix, pm)| lower.strip_suffix(suffix).map(|clock| (clock, *pm)))
}

/// A trailing `Z` or `+HH:MM` / `-HHMM` offset, if the time has one.
fn zone_suffix(lower: &str) -> Option<&str> {
    if lower.ends_with('z') {
        return Some("Z");
    }
    let at = lower.rfind(['+', '-'])?;
    let offset = &lower[at + 1..];
    let digits = offset.chars().filter(char::is_ascii_digit).count();
    (digits == 4 || digits == 2).then(|| &lower[at..])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::pipeline::decode::{Origin, Table};
    use crate::pipeline::tests::{format, ymd};

    fn at(h: u32, m: u32) -> u32 {
        h * 3600 + m * 60
    }

    #[test]
    fn times_as_providers_write_them() {
        for (text, want) in [
            ("09:00", at(9, 0)),
            ("9:05", at(9, 5)),
            ("13:15:00", at(13, 15)),
            ("09:00:00.000", at(9, 0)),
            ("1:15 pm", at(13, 15)),
            ("9.30am", at(9, 30)),
            ("12:10 a.m.", at(0, 10)),
            ("12:10 PM", at(12, 10)),
        ] {
            assert_eq!(
                time_text(text).map(|t| t.num_seconds_from_midnight()),
                Ok(want),
                "{text}"
            );
        }
        for bad in ["noon", "25:00", "13:00 pm", "9"] {
            assert!(time_text(bad).unwrap_err().contains("is not a time of day"), "{bad}");
        }
        for zoned in ["09:00Z", "09:00:00+01:00", "08:00-0500"] {
            assert!(time_text(zoned).unwrap_err().contains("time zone"), "{zoned}");
        }
    }

    #[test]
    fn dates_with_times_in_one_cell() {
        let f = format(
            "kind = \"csv\"\ndate_formats = [\"%d/%m/%Y\"]\n[identity]\nupn = \"U\"\n[layout]\nstyle = \"long\"\ndatetime = \"S\"\nmark = \"M\"\n[marks]\ncodes = \"dfe\"",
        );
        let table = Table::new(Origin::Csv);
        let reader = DateReader::new(&f, &table);
        let read = |cell: Cell| reader.date_time(&cell).map(|(d, t)| (d, t.seconds));
        assert_eq!(
            read(Cell::text("2026-04-20T09:00:00")),
            Ok((ymd(2026, 4, 20), at(9, 0)))
        );
        assert_eq!(read(Cell::text("2026-04-20 13:00")), Ok((ymd(2026, 4, 20), at(13, 0))));
        assert_eq!(
            read(Cell::text("20/04/2026 1:30 pm")),
            Ok((ymd(2026, 4, 20), at(13, 30)))
        );
        // A spreadsheet serial with a fraction of a day: 46132.5 is noon on 20 April 2026.
        assert_eq!(read(Cell::Number(46132.5)), Ok((ymd(2026, 4, 20), at(12, 0))));
        assert!(read(Cell::text("2026-04-20")).unwrap_err().contains("no time of day"));
        assert!(
            read(Cell::text("2026-04-20T09:00:00Z"))
                .unwrap_err()
                .contains("time zone")
        );
        assert!(
            read(Cell::text("Monday 9am"))
                .unwrap_err()
                .contains("not a date and time")
        );
        assert_eq!(reader.time(&Cell::Number(0.375)).map(|t| t.seconds), Ok(at(9, 0)));
    }
}
