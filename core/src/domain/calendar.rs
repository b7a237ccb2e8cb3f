//! The school calendar: which dates are school days (Monday to Friday, inside a term, not a
//! closure day), and counting in school days, which is how the guidance states its deadlines
//! ("five school days", "ten school weeks").

use std::fmt;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

pub use super::weekdays::{Weekdays, WeekdaysError};

/// A term (or half term), both dates inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Term {
    /// The school's name for it, e.g. `Spring 2`.
    pub name: String,
    /// The first day.
    pub start: NaiveDate,
    /// The last day.
    pub end: NaiveDate,
}

impl Term {
    /// Whether `date` falls inside the term.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date <= self.end
    }
}

/// Days inside a term when the school is closed (INSET days, bank holidays, a planned closure).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    /// The first day closed.
    pub start: NaiveDate,
    /// The last day closed, inclusive; absent for a single day.
    #[serde(default)]
    pub end: Option<NaiveDate>,
    /// Why, for people reading the config.
    #[serde(default)]
    pub reason: Option<String>,
}

impl Closure {
    /// A single closed day.
    pub fn day(date: NaiveDate) -> Closure {
        Closure {
            start: date,
            end: None,
            reason: None,
        }
    }

    /// Closed from `start` to `end`, both inclusive.
    pub fn range(start: NaiveDate, end: NaiveDate) -> Closure {
        Closure {
            start,
            end: Some(end),
            reason: None,
        }
    }

    /// The last day closed.
    pub fn last_day(&self) -> NaiveDate {
        self.end.unwrap_or(self.start)
    }

    /// Whether `date` is closed.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date <= self.last_day()
    }
}

/// One thing wrong with the calendar's dates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarProblem {
    /// A term whose end is before its start.
    #[error("term `{name}` ends on {end}, before it starts on {start}: check the two dates")]
    TermEndsBeforeStart {
        /// The term's name.
        name: String,
        /// Its start.
        start: NaiveDate,
        /// Its end.
        end: NaiveDate,
    },
    /// Two terms sharing at least one day.
    #[error(
        "terms `{first}` ({first_start} to {first_end}) and `{second}` ({second_start} to {second_end}) overlap: a day can be in only one term"
    )]
    TermsOverlap {
        /// The earlier term's name.
        first: String,
        /// Its start.
        first_start: NaiveDate,
        /// Its end.
        first_end: NaiveDate,
        /// The later term's name.
        second: String,
        /// Its start.
        second_start: NaiveDate,
        /// Its end.
        second_end: NaiveDate,
    },
    /// A closure whose end is before its start.
    #[error("the closure from {start} ends on {end}, before it starts: check the two dates")]
    ClosureEndsBeforeStart {
        /// Its start.
        start: NaiveDate,
        /// Its end.
        end: NaiveDate,
    },
}

/// The calendar's dates are inconsistent; every problem found is listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CalendarError {
    /// Every problem, terms first.
    pub problems: Vec<CalendarProblem>,
}

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the school calendar has {} problem(s):", self.problems.len())?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

/// The school's terms and closures. Construct with [`SchoolCalendar::new`], which checks them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SchoolCalendar {
    /// Sorted by start; no two overlap.
    terms: Vec<Term>,
    closures: Vec<Closure>,
}

impl SchoolCalendar {
    /// Builds a calendar, refusing terms or closures whose dates are inconsistent.
    ///
    /// A calendar with no terms is allowed and has no school days.
    pub fn new(mut terms: Vec<Term>, closures: Vec<Closure>) -> Result<Self, CalendarError> {
        let mut problems = Vec::new();
        for term in &terms {
            if term.end < term.start {
                problems.push(CalendarProblem::TermEndsBeforeStart {
                    name: term.name.clone(),
                    start: term.start,
                    end: term.end,
                });
            }
        }
        terms.sort_by_key(|t| (t.start, t.end));
        for (i, first) in terms.iter().enumerate() {
            if first.end < first.start {
                continue;
            }
            // Compare against every later term, not just the next, so one long term that
            // swallows several others is reported against each of them.
            for second in terms[i + 1..].iter().filter(|t| t.start <= t.end) {
                if second.start <= first.end {
                    problems.push(CalendarProblem::TermsOverlap {
                        first: first.name.clone(),
                        first_start: first.start,
                        first_end: first.end,
                        second: second.name.clone(),
                        second_start: second.start,
                        second_end: second.end,
                    });
                }
            }
        }
        for closure in &closures {
            if closure.last_day() < closure.start {
                problems.push(CalendarProblem::ClosureEndsBeforeStart {
                    start: closure.start,
                    end: closure.last_day(),
                });
            }
        }
        if problems.is_empty() {
            Ok(SchoolCalendar { terms, closures })
        } else {
            Err(CalendarError { problems })
        }
    }

    /// The terms, earliest first.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// The closures, as given.
    pub fn closures(&self) -> &[Closure] {
        &self.closures
    }

    /// The term `date` falls in, if any (weekends and closures inside a term included).
    pub fn term_of(&self, date: NaiveDate) -> Option<&Term> {
        self.terms.iter().find(|t| t.contains(date))
    }

    /// Whether `date` is a school day: Monday to Friday, inside a term, and not closed.
    pub fn is_school_day(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
            && self.term_of(date).is_some()
            && !self.closures.iter().any(|c| c.contains(date))
    }

    /// The school days from `from` to `to`, both inclusive, in order.
    pub fn school_days(&self, from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> + '_ {
        from.iter_days()
            .take_while(move |d| *d <= to)
            .filter(|d| self.is_school_day(*d))
    }

    /// How many school days fall after `from`, up to and including `to`: 0 when `to` is not
    /// after `from`. So a mark made on a Monday has been waiting one school day on Tuesday.
    pub fn school_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        let Some(day_after) = from.succ_opt() else {
            return 0;
        };
        let count = self.school_days(day_after, to).count();
        u32::try_from(count).unwrap_or(u32::MAX)
    }

    /// The last school day before `date`, or `None` when there is none in the calendar.
    pub fn previous_school_day(&self, date: NaiveDate) -> Option<NaiveDate> {
        self.sub_school_days(date, 1)
    }

    /// The first school day after `date`, or `None` when there is none in the calendar.
    pub fn next_school_day(&self, date: NaiveDate) -> Option<NaiveDate> {
        self.add_school_days(date, 1)
    }

    /// The `n`th school day after `date` (`date` itself for 0), or `None` when the calendar's
    /// terms end first.
    pub fn add_school_days(&self, date: NaiveDate, n: u32) -> Option<NaiveDate> {
        if n == 0 {
            return Some(date);
        }
        let last = self.terms.iter().map(|t| t.end).max()?;
        self.step(date, n, last, |d| d.checked_add_days(Days::new(1)), |d, last| d > last)
    }

    /// The `n`th school day before `date` (`date` itself for 0), or `None` when the calendar's
    /// terms begin later.
    pub fn sub_school_days(&self, date: NaiveDate, n: u32) -> Option<NaiveDate> {
        if n == 0 {
            return Some(date);
        }
        let first = self.terms.first()?.start;
        self.step(
            date,
            n,
            first,
            |d| d.checked_sub_days(Days::new(1)),
            |d, first| d < first,
        )
    }

    /// Walks one day at a time, counting school days, stopping at `bound` so a date outside
    /// every term cannot loop for ever.
    fn step(
        &self,
        mut date: NaiveDate,
        n: u32,
        bound: NaiveDate,
        next: impl Fn(NaiveDate) -> Option<NaiveDate>,
        past: impl Fn(NaiveDate, NaiveDate) -> bool,
    ) -> Option<NaiveDate> {
        let mut remaining = n;
        while remaining > 0 {
            date = next(date)?;
            if past(date, bound) {
                return None;
            }
            if self.is_school_day(date) {
                remaining -= 1;
            }
        }
        Some(date)
    }
}

#[cfg(test)]
mod tests;
