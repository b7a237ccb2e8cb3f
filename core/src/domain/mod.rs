//! The school's domain: register codes, pupils' identifiers, sessions, the calendar and the
//! attendance arithmetic. Everything here is pure: data in, data out, no I/O.
//!
//! - [`codes`]: the statutory register codes, how each counts, and pre-2024 marks that need a
//!   person to decide.
//! - [`upn`]: the Unique Pupil Number and its check letter.
//! - [`session`]: the AM and PM registers.
//! - [`calendar`]: terms, closures and counting in school days; [`weekdays`]: sets of weekdays.
//! - [`arithmetic`]: possible sessions, attendance percentages, persistent and severe absence.

pub mod arithmetic;
pub mod calendar;
pub mod codes;
pub mod session;
pub mod upn;
pub mod weekdays;

pub use arithmetic::{AttendanceSummary, PERSISTENT_ABSENCE_PCT, SEVERE_ABSENCE_PCT, format_pct};
pub use calendar::{CalendarError, CalendarProblem, Closure, SchoolCalendar, Term};
pub use codes::{Code, CodeGroup, PresentCode, StatCategory, UnknownCode, UnknownPresentCode, legacy_code_reason};
pub use session::{ParseSessionError, Session};
pub use upn::{Upn, UpnError};
pub use weekdays::{Weekdays, WeekdaysError};
