//! The daemon's pure decisions: how often to ping the watchdog, which work loops look stuck, and
//! the one-line `STATUS=` systemd shows.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::ConnectorRun;

/// How often the supervisor checks the loops and pings when systemd gives no watchdog.
pub const DEFAULT_TICK: Duration = Duration::from_secs(30);

/// A work loop silent for longer than this is taken as stuck: the watchdog is no longer fed, so
/// systemd restarts the service.
pub const STUCK_AFTER: Duration = Duration::from_secs(15 * 60);

/// How often to check and ping: half the watchdog period (as sd_watchdog_enabled(3) advises),
/// at least a second; [`DEFAULT_TICK`] without a watchdog.
pub fn tick(watchdog: Option<Duration>) -> Duration {
    watchdog.map_or(DEFAULT_TICK, |w| (w / 2).max(Duration::from_secs(1)))
}

/// The loops (by name) whose last beat is older than `limit` at `now`.
pub fn stuck<'a>(beats: &'a [(&'static str, DateTime<Utc>)], now: DateTime<Utc>, limit: Duration) -> Vec<&'a str> {
    let limit = chrono::Duration::from_std(limit).unwrap_or_else(|_| chrono::Duration::minutes(15));
    beats
        .iter()
        .filter(|(_, at)| now - *at > limit)
        .map(|(name, _)| *name)
        .collect()
}

/// `STATUS=`: the latest connector run and the outbox backlog, e.g. `last run: northstar ok at
/// 2026-03-02 09:30:12 UTC (2 documents, 40 marks); outbox: 3 waiting`.
pub fn status_line(runs: &[ConnectorRun], backlog: i64) -> String {
    let latest = runs.iter().max_by_key(|r| r.started_at);
    let run = match latest {
        None => "no connector has run yet".to_string(),
        Some(r) => format!(
            "last run: {} {} at {} ({} documents, {} marks)",
            r.connector,
            r.status,
            r.finished_at.unwrap_or(r.started_at).format("%Y-%m-%d %H:%M:%S UTC"),
            r.documents,
            r.marks
        ),
    };
    format!("{run}; outbox: {backlog} waiting")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn ticks_at_half_the_watchdog() {
        assert_eq!(tick(Some(Duration::from_secs(60))), Duration::from_secs(30));
        assert_eq!(tick(Some(Duration::from_millis(500))), Duration::from_secs(1));
        assert_eq!(tick(None), DEFAULT_TICK);
    }

    #[test]
    fn names_the_silent_loops() {
        let now = at("2026-03-02T10:00:00Z");
        let beats = [
            ("rules", at("2026-03-02T09:59:00Z")),
            ("email", at("2026-03-02T09:00:00Z")),
        ];
        assert_eq!(stuck(&beats, now, STUCK_AFTER), vec!["email"]);
    }

    #[test]
    fn status_names_the_latest_run() {
        assert_eq!(status_line(&[], 0), "no connector has run yet; outbox: 0 waiting");
        let run = |c: &str, t: &str| ConnectorRun {
            connector: c.into(),
            started_at: at(t),
            finished_at: Some(at(t)),
            status: "ok".into(),
            documents: 2,
            marks: 40,
            review_items: 0,
            error_kind: None,
            error: None,
        };
        let runs = [run("a", "2026-03-02T09:00:00Z"), run("b", "2026-03-02T09:30:12Z")];
        assert_eq!(
            status_line(&runs, 3),
            "last run: b ok at 2026-03-02 09:30:12 UTC (2 documents, 40 marks); outbox: 3 waiting"
        );
    }
}
