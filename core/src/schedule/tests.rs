use chrono::TimeZone;
use chrono_tz::Europe::London;

use super::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Every run of `schedule` in `[from, to)` as the loop would make them, one after another.
fn runs(schedule: &str, from: &str, to: &str) -> Vec<String> {
    let s = Schedule::parse(Some(schedule)).unwrap();
    let mut state = ConnectorState {
        last_start: Some(utc(from)),
        ..Default::default()
    };
    let mut out = Vec::new();
    while let Some(due) = next_due(&s, London, &state, Duration::ZERO, utc(from)) {
        if due >= utc(to) {
            break;
        }
        out.push(due.with_timezone(&London).to_rfc3339());
        state.last_start = Some(due);
    }
    out
}

#[test]
fn spring_forward_runs_once_at_the_first_moment_after_the_gap() {
    // 01:30 does not exist on 2026-03-29 in London: the run happens once, at 02:00 BST.
    assert_eq!(
        runs("30 1 * * *", "2026-03-27T12:00:00Z", "2026-03-31T00:00:00Z"),
        [
            "2026-03-28T01:30:00+00:00",
            "2026-03-29T02:00:00+01:00",
            "2026-03-30T01:30:00+01:00"
        ]
    );
}

#[test]
fn fall_back_runs_once_although_the_time_happens_twice() {
    // 01:30 happens twice on 2026-10-25 in London (BST, then GMT): one run only.
    assert_eq!(
        runs("30 1 * * *", "2026-10-23T12:00:00Z", "2026-10-27T00:00:00Z"),
        [
            "2026-10-24T01:30:00+01:00",
            "2026-10-25T01:30:00+01:00",
            "2026-10-26T01:30:00+00:00"
        ]
    );
}

#[test]
fn half_hourly_runs_keep_the_local_clock_across_the_change() {
    let r = runs("0 9 * * *", "2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z");
    assert_eq!(
        r,
        [
            "2026-03-28T09:00:00+00:00",
            "2026-03-29T09:00:00+01:00",
            "2026-03-30T09:00:00+01:00"
        ]
    );
}

#[test]
fn a_connector_never_run_or_missed_while_down_runs_now_and_only_once() {
    let s = Schedule::parse(Some("0 * * * *")).unwrap();
    let now = utc("2026-03-02T12:10:00Z");
    assert_eq!(
        next_due(&s, London, &ConnectorState::default(), Duration::ZERO, now),
        Some(now)
    );
    // Down from 08:05 to 12:10: four hourly runs missed, one run now.
    let state = ConnectorState {
        last_start: Some(utc("2026-03-02T08:05:00Z")),
        ..Default::default()
    };
    assert_eq!(next_due(&s, London, &state, Duration::from_secs(30), now), Some(now));
    let after = ConnectorState {
        last_start: Some(now),
        ..state
    };
    assert_eq!(
        next_due(&s, London, &after, Duration::from_secs(30), now),
        Some(utc("2026-03-02T13:00:30Z")),
        "then back on the schedule, with its jitter"
    );
}

#[test]
fn retryable_failures_back_off_exponentially_but_never_past_the_schedule() {
    assert_eq!(backoff(1), Duration::from_secs(60));
    assert_eq!(backoff(2), Duration::from_secs(120));
    assert_eq!(backoff(5), Duration::from_secs(960));
    assert_eq!(backoff(30), Duration::from_secs(3600));
    let s = Schedule::parse(Some("0 6 * * *")).unwrap();
    let failed = ConnectorState {
        last_start: Some(utc("2026-03-02T06:00:00Z")),
        last_end: Some(utc("2026-03-02T06:00:10Z")),
        retryable_failures: 2,
    };
    let now = utc("2026-03-02T06:01:00Z");
    assert_eq!(
        next_due(&s, London, &failed, Duration::ZERO, now),
        Some(utc("2026-03-02T06:02:10Z"))
    );
    let many = ConnectorState {
        retryable_failures: 30,
        last_end: Some(utc("2026-03-03T05:30:00Z")),
        ..failed
    };
    assert_eq!(
        next_due(&s, London, &many, Duration::ZERO, utc("2026-03-03T05:30:00Z")),
        Some(utc("2026-03-03T06:00:00Z")),
        "the daily run is not postponed by a long backoff"
    );
}

#[test]
fn jitter_is_stable_and_bounded() {
    assert_eq!(jitter("bright-futures-sftp"), jitter("bright-futures-sftp"));
    assert!(jitter("x") < Duration::from_secs(MAX_JITTER_SECONDS));
    assert_ne!(jitter("a"), jitter("b"));
}

#[test]
fn a_bad_schedule_says_how_to_write_one() {
    let e = Schedule::parse(Some("every morning")).unwrap_err().to_string();
    assert!(e.contains("every morning") && e.contains("minute hour"), "{e}");
    assert_eq!(Schedule::parse(None).unwrap().as_str(), DEFAULT_SCHEDULE);
    // The field count said agrees with the docs: exactly 5, never "between 5 and 7".
    for six in ["0 */30 6-19 * * 1-5", "0 0 6 * * * 2026"] {
        let e = Schedule::parse(Some(six)).unwrap_err().to_string();
        assert!(e.contains("exactly 5") && !e.contains("between"), "{e}");
    }
    let e = Schedule::parse(Some("61 * * * *")).unwrap_err().to_string();
    assert!(!e.contains("between 5 and 7"), "{e}");
    let _ = London.with_ymd_and_hms(2026, 1, 1, 0, 0, 0);
}
