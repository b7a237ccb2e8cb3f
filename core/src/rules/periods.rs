//! The periods apsync reports attendance over, defined once: the digest's week and term, the
//! below-target rule's window and the chart's weeks all end on the same school day and count the
//! same marks, so a pupil's figures in one email agree with the alert beside it and with
//! `report attendance --from … --to …` over the same days.

use chrono::{Datelike, Days, NaiveDate};

use crate::domain::{AttendanceSummary, Code, SchoolCalendar};

/// A span of days, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The first day.
    pub from: NaiveDate,
    /// The last day.
    pub to: NaiveDate,
}

impl Span {
    /// The last `n` school days up to and including `day` (from the calendar's first term when
    /// it holds fewer).
    pub fn last_school_days(cal: &SchoolCalendar, day: NaiveDate, n: u32) -> Span {
        let from = cal
            .sub_school_days(day, n.saturating_sub(1))
            .or_else(|| cal.terms().first().map(|t| t.start))
            .unwrap_or(day);
        Span {
            from: from.min(day),
            to: day,
        }
    }

    /// Whether `date` falls inside.
    pub fn contains(self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }

    /// The attendance of the marks (date, code) that fall inside: the marks a pupil holds in the
    /// register on those days, whichever sessions the placement expected.
    pub fn summary<'a>(self, marks: impl IntoIterator<Item = (NaiveDate, &'a Code)>) -> AttendanceSummary {
        marks
            .into_iter()
            .filter(|(d, _)| self.contains(*d))
            .map(|(_, c)| *c)
            .collect()
    }
}

/// The periods of a report made on a given day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Periods {
    /// The day every period runs to: the report's day when it is a school day (its marks count
    /// as its returns arrive), else the school day before. The below-target rule's "latest
    /// school day" is this day too.
    pub day: NaiveDate,
    /// The school week reported: Monday to Sunday of the week of the last school day before the
    /// report's day (so a digest on Monday morning reports the week just ended, one on Friday
    /// this week with Friday's marks so far), never past [`Periods::day`].
    pub week: Span,
    /// From the start of the reported week's term to [`Periods::day`].
    pub term: Span,
    /// The last `window_days` school days, to [`Periods::day`].
    pub window: Span,
    /// How many school days the window holds.
    pub window_days: u32,
}

impl Periods {
    /// The periods of a report made on `today`, with a window of `window_days` school days;
    /// `None` when the calendar has no school day on or before `today`.
    pub fn on(cal: &SchoolCalendar, today: NaiveDate, window_days: u32) -> Option<Periods> {
        let day = if cal.is_school_day(today) {
            today
        } else {
            cal.previous_school_day(today)?
        };
        let week_day = cal.previous_school_day(today).unwrap_or(day);
        let week_start = monday(week_day);
        let week_end = week_start.checked_add_days(Days::new(6)).unwrap_or(day).min(day);
        let term_start = cal.term_of(week_day).map_or(week_start, |t| t.start);
        Some(Periods {
            day,
            week: Span {
                from: week_start,
                to: week_end,
            },
            term: Span {
                from: term_start,
                to: day,
            },
            window: Span::last_school_days(cal, day, window_days),
            window_days,
        })
    }

    /// The term's weeks to the reported one, oldest first: each from its Monday (or the term's
    /// first day) to its Sunday, the last one [`Periods::week`].
    pub fn term_weeks(&self) -> Vec<Span> {
        let mut out = Vec::new();
        let mut from = self.term.from;
        while from <= self.week.to {
            let sunday = monday(from).checked_add_days(Days::new(6)).unwrap_or(self.week.to);
            let to = sunday.min(self.week.to);
            out.push(Span { from, to });
            match to.succ_opt() {
                Some(next) => from = next,
                None => break,
            }
        }
        out
    }
}

/// The Monday of `d`'s week.
pub fn monday(d: NaiveDate) -> NaiveDate {
    d.checked_sub_days(Days::new(u64::from(d.weekday().num_days_from_monday())))
        .unwrap_or(d)
}
