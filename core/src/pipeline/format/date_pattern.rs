//! Checking a date pattern IT writes in a format (`date_formats`): strftime fields that read
//! back the very date they wrote.

use std::fmt::Write as _;

use chrono::NaiveDate;
use chrono::format::{Item, StrftimeItems};

/// Why a date pattern cannot be used; the text says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatePatternError {
    /// Not strftime.
    #[error("`{0}` is not a valid date pattern: use strftime fields such as %d/%m/%Y")]
    Invalid(String),
    /// Some of the year, month and day are missing.
    #[error("`{0}` does not read back a whole date: it must include the year, month and day (such as %d/%m/%Y)")]
    NotWholeDate(String),
}

/// Checks a strftime-style date pattern: it must be valid and name the year, month and day, so
/// that a date written with it reads back as the same date.
pub fn check_date_pattern(pattern: &str) -> Result<(), DatePatternError> {
    let items: Vec<Item<'_>> = StrftimeItems::new(pattern).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(DatePatternError::Invalid(pattern.to_string()));
    }
    for sample in [(2026, 3, 2), (2027, 11, 23)] {
        let Some(date) = NaiveDate::from_ymd_opt(sample.0, sample.1, sample.2) else {
            continue;
        };
        let mut written = String::new();
        if write!(written, "{}", date.format_with_items(items.iter())).is_err()
            || NaiveDate::parse_from_str(&written, pattern) != Ok(date)
        {
            return Err(DatePatternError::NotWholeDate(pattern.to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn patterns_are_checked() {
        assert_eq!(check_date_pattern("%d/%m/%Y"), Ok(()));
        assert_eq!(check_date_pattern("%d %B %Y"), Ok(()));
        assert_eq!(check_date_pattern("%d/%m/%y"), Ok(()));
        assert_eq!(
            check_date_pattern("%d/%m").unwrap_err().to_string(),
            "`%d/%m` does not read back a whole date: it must include the year, month and day (such as %d/%m/%Y)"
        );
        assert_eq!(check_date_pattern("%Q"), Err(DatePatternError::Invalid("%Q".into())));
    }
}
