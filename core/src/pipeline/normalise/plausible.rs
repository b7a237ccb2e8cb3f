//! Dates that cannot be right: a date more than a year from every term of the school calendar
//! is not a provider's slip on one row but the format reading the file's dates wrongly (most
//! often a two-digit year read with `%Y`, `16/3/26` as the year 26). It is reported once, for
//! the file, as a format problem with the likely fix.

use chrono::{Datelike as _, NaiveDate};

use crate::domain::SchoolCalendar;
use crate::pipeline::error::DecodeProblem;
use crate::pipeline::format::Format;
use crate::pipeline::observation::Decoded;

/// How far from every term a date may be before it cannot be right.
const YEAR_DAYS: i64 = 366;

/// The first observation whose date is more than a year from every term, as the file's
/// problem; `None` when every date could be right (or the calendar has no terms to tell by).
pub fn implausible_date(decoded: &Decoded, calendar: &SchoolCalendar, format: &Format) -> Option<DecodeProblem> {
    let terms = calendar.terms();
    let (first, last) = (terms.first()?, terms.last()?);
    let far = |date: NaiveDate| {
        terms.iter().all(|t| {
            let away = if date < t.start {
                (t.start - date).num_days()
            } else {
                (date - t.end).num_days()
            };
            away > YEAR_DAYS
        })
    };
    let obs = decoded.observations.iter().find(|o| far(o.date))?;
    Some(DecodeProblem::ImplausibleDate {
        at: obs.locator.clone(),
        date: obs.date,
        terms: format!(
            "{} to {}",
            first.start.format("%-d %b %Y"),
            last.end.format("%-d %b %Y")
        ),
        advice: advice(obs.date, format),
    })
}

/// The likely fix, for a person.
fn advice(date: NaiveDate, format: &Format) -> String {
    let four_digit: Vec<&str> = format
        .date_formats
        .iter()
        .map(String::as_str)
        .filter(|p| p.contains("%Y"))
        .collect();
    if date.year() < 100
        && let Some(pattern) = four_digit.first()
    {
        let two = pattern.replace("%Y", "%y");
        return format!(
            "the year is read as {:04}, so the provider writes two-digit years: put `{two}` in the provider's `date_formats`, \
             before `{pattern}` (or instead of it), then read the file again",
            date.year()
        );
    }
    "check the provider's dates and the format's `date_formats` (is the day read as the month, or the year wrongly?), \
     then read the file again"
        .to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::domain::{Closure, Term};
    use crate::pipeline::decode;

    fn calendar() -> SchoolCalendar {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let terms = vec![
            Term {
                name: "Spring".into(),
                start: d(2026, 1, 5),
                end: d(2026, 3, 27),
            },
            Term {
                name: "Summer".into(),
                start: d(2026, 4, 13),
                end: d(2026, 7, 22),
            },
        ];
        SchoolCalendar::new(terms, Vec::<Closure>::new()).unwrap()
    }

    fn format(patterns: &str) -> crate::pipeline::CheckedFormat {
        toml::from_str::<Format>(&format!(
            "kind = \"csv\"\ndate_formats = [{patterns}]\n[identity]\nupn = \"UPN\"\n[layout]\nstyle = \"long\"\ndate = \"Date\"\nsession = \"Session\"\nmark = \"Mark\"\n[marks]\ncodes = \"dfe\""
        ))
        .unwrap()
        .check()
        .unwrap()
    }

    const TWO_DIGIT: &[u8] = b"UPN,Date,Session,Mark\nA1,16/3/26,AM,/\nA1,16/3/26,PM,N\nA1,17/3/26,AM,/\n";

    #[test]
    fn a_two_digit_year_read_with_four_digits_is_the_files_problem_with_the_fix() {
        let f = format("\"%d/%m/%Y\"");
        let decoded = decode(TWO_DIGIT, "a.csv", &f).unwrap();
        let problem = implausible_date(&decoded, &calendar(), &f).unwrap();
        let text = problem.to_string();
        assert!(
            text.starts_with("line 2 has the date Mon 16 Mar 0026, more than a year from every term"),
            "{text}"
        );
        assert!(text.contains("5 Jan 2026 to 22 Jul 2026"), "{text}");
        assert!(
            text.contains("put `%d/%m/%y` in the provider's `date_formats`, before `%d/%m/%Y`"),
            "{text}"
        );
        // Read with the fix, every date is in term (four-digit years still read after it).
        let fixed = format("\"%d/%m/%y\", \"%d/%m/%Y\"");
        let decoded = decode(TWO_DIGIT, "a.csv", &fixed).unwrap();
        assert_eq!(
            decoded.observations[0].date,
            NaiveDate::from_ymd_opt(2026, 3, 16).unwrap()
        );
        assert_eq!(implausible_date(&decoded, &calendar(), &fixed), None);
        let four = decode(b"UPN,Date,Session,Mark\nA1,16/03/2026,AM,/\n", "a.csv", &fixed).unwrap();
        assert_eq!(four.observations[0].date, NaiveDate::from_ymd_opt(2026, 3, 16).unwrap());
    }

    #[test]
    fn dates_near_a_term_are_left_to_the_rows_and_far_ones_get_general_advice() {
        let f = format("\"%d/%m/%Y\"");
        // A Saturday, the holidays, next spring: each row's own question, not the format's.
        let near = b"UPN,Date,Session,Mark\nA1,14/03/2026,AM,/\nA1,10/08/2026,AM,/\nA1,02/03/2027,AM,/\n";
        let decoded = decode(near, "a.csv", &f).unwrap();
        assert_eq!(implausible_date(&decoded, &calendar(), &f), None);
        let far = decode(b"UPN,Date,Session,Mark\nA1,02/03/2029,AM,/\n", "a.csv", &f).unwrap();
        let text = implausible_date(&far, &calendar(), &f).unwrap().to_string();
        assert!(
            text.contains("Fri 2 Mar 2029") && text.contains("is the day read as the month"),
            "{text}"
        );
        // No terms, nothing to tell by.
        let none = SchoolCalendar::new(Vec::new(), Vec::new()).unwrap();
        assert_eq!(implausible_date(&far, &none, &f), None);
    }
}
