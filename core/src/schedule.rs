//! When a job runs: a cron schedule in the school's time zone, and the pure planning of a
//! connector's next run ([`next_due`]). croner finds occurrences in the school's zone, so a daily
//! 01:30 runs once on the spring-forward day (at 02:00 BST) and once on the fall-back day. The
//! runtime's scheduler loop sleeps and runs; this decides when.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// When a connector runs if its configuration says nothing: every half hour through the school day.
pub const DEFAULT_SCHEDULE: &str = "*/30 6-19 * * *";

/// The largest delay added to a connector's scheduled time, so providers shared by many schools
/// are not all called at :00.
const MAX_JITTER_SECONDS: u64 = 45;

/// A schedule that cannot be read; the text says what is wrong and how to write one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(String);

/// A cron schedule (`minute hour day-of-month month day-of-week`).
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: croner::Cron,
    text: String,
}

impl Schedule {
    /// Parses a cron expression, or the default when none is given; the error names the problem.
    pub fn parse(text: Option<&str>) -> Result<Schedule, ScheduleError> {
        let text = text.unwrap_or(DEFAULT_SCHEDULE).trim();
        // croner would also take seconds and years (6 or 7 fields); the documented form is 5.
        let fields = text.split_whitespace().count();
        if fields != 5 {
            return Err(ScheduleError(format!(
                "`{text}` has {fields} field{}: a schedule has exactly 5, `minute hour day month weekday`, e.g. `*/30 6-19 * * 1-5`",
                if fields == 1 { "" } else { "s" }
            )));
        }
        croner::Cron::from_str(text)
            .map(|cron| Schedule {
                cron,
                text: text.to_string(),
            })
            .map_err(|e| {
                ScheduleError(format!(
                    "`{text}` is not a cron schedule ({e}); write `minute hour day month weekday`, e.g. `*/30 6-19 * * 1-5`"
                ))
            })
    }

    /// As written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first scheduled moment strictly after `after`, reckoned in `zone`.
    pub fn next_after(&self, after: DateTime<Utc>, zone: Tz) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&after.with_timezone(&zone), false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// What the scheduler knows about one connector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectorState {
    /// When its last run started (from `connector_runs` at start-up).
    pub last_start: Option<DateTime<Utc>>,
    /// When its last run ended.
    pub last_end: Option<DateTime<Utc>>,
    /// Failed runs in a row that are worth retrying (transient, auth).
    pub retryable_failures: u32,
}

/// The delay before retry number `failures` (1 = the first retry): exponential from one minute,
/// capped at an hour.
pub fn backoff(failures: u32) -> Duration {
    const FIRST: u64 = 60;
    const CAP: u64 = 3600;
    let doublings = failures.saturating_sub(1).min(16);
    Duration::from_secs(FIRST.saturating_mul(1 << doublings).min(CAP))
}

/// A stable delay for a connector in `0..MAX_JITTER_SECONDS` s, so a restart keeps its slot.
pub fn jitter(connector: &str) -> Duration {
    // FNV-1a: stable across builds, unlike the standard library's hasher.
    let hash = connector.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    Duration::from_secs(hash % MAX_JITTER_SECONDS)
}

/// When the connector should next run, given what happened so far. Never run → now. A scheduled
/// time passed since the last run (the daemon was down) → now, once, however many were missed.
/// After a retryable failure, the backoff may bring the next run forward.
pub fn next_due(
    schedule: &Schedule,
    zone: Tz,
    state: &ConnectorState,
    jitter: Duration,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let Some(last) = state.last_start else { return Some(now) };
    let scheduled = schedule.next_after(last, zone)?;
    let due = if scheduled <= now {
        now
    } else {
        scheduled + chrono::Duration::from_std(jitter).unwrap_or_default()
    };
    if state.retryable_failures == 0 {
        return Some(due);
    }
    let failed_at = state.last_end.unwrap_or(last);
    let retry = failed_at + chrono::Duration::from_std(backoff(state.retryable_failures)).unwrap_or_default();
    Some(due.min(retry.max(now)))
}

#[cfg(test)]
mod tests;
