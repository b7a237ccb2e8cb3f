//! `/metrics` in the Prometheus text format (0.0.4), rendered from a store snapshot: a pure
//! function, so the exposition is tested without a server.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use crate::store::MetricsSnapshot;

/// The content type Prometheus expects.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Escapes a label value (backslash, quote, newline).
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The exposition for `m`, ages reckoned at `now`.
pub fn render(m: &MetricsSnapshot, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "apsync_up",
        "gauge",
        "1 while the daemon serves and its store answers.",
    );
    out.push_str("apsync_up 1\n");
    family(
        &mut out,
        "apsync_connector_runs_total",
        "counter",
        "Connector runs by connector and outcome.",
    );
    for (connector, status, n) in &m.runs {
        let _ = writeln!(
            out,
            "apsync_connector_runs_total{{connector=\"{}\",outcome=\"{}\"}} {n}",
            label(connector),
            label(status)
        );
    }
    family(
        &mut out,
        "apsync_connector_last_success_timestamp_seconds",
        "gauge",
        "When each connector last finished a run without error (Unix time).",
    );
    for (connector, at) in &m.last_success {
        let _ = writeln!(
            out,
            "apsync_connector_last_success_timestamp_seconds{{connector=\"{}\"}} {}",
            label(connector),
            at.timestamp()
        );
    }
    family(
        &mut out,
        "apsync_documents",
        "gauge",
        "Documents in the store by status.",
    );
    for (status, n) in &m.documents {
        let _ = writeln!(out, "apsync_documents{{status=\"{}\"}} {n}", label(status));
    }
    family(&mut out, "apsync_marks", "gauge", "Marks in the register.");
    let _ = writeln!(out, "apsync_marks {}", m.marks);
    family(
        &mut out,
        "apsync_review_items_open",
        "gauge",
        "Review items waiting for a decision.",
    );
    let _ = writeln!(out, "apsync_review_items_open {}", m.review_open);
    family(&mut out, "apsync_alerts_open", "gauge", "Open alerts by rule.");
    for (rule, n) in &m.alerts_open {
        let _ = writeln!(out, "apsync_alerts_open{{rule=\"{}\"}} {n}", label(rule));
    }
    family(
        &mut out,
        "apsync_deliveries",
        "gauge",
        "Deliveries (emails, pushes) by channel, sink and outcome.",
    );
    for (channel, sink, status, n) in &m.deliveries {
        let _ = writeln!(
            out,
            "apsync_deliveries{{channel=\"{}\",sink=\"{}\",outcome=\"{}\"}} {n}",
            label(channel),
            label(sink),
            label(status)
        );
    }
    family(
        &mut out,
        "apsync_outbox_backlog",
        "gauge",
        "Deliveries waiting, by channel.",
    );
    for channel in ["email", "push"] {
        let n: i64 = m
            .deliveries
            .iter()
            .filter(|(c, _, s, _)| c == channel && s == "pending")
            .map(|(.., n)| n)
            .sum();
        let _ = writeln!(out, "apsync_outbox_backlog{{channel=\"{channel}\"}} {n}");
    }
    family(
        &mut out,
        "apsync_outbox_oldest_age_seconds",
        "gauge",
        "Age of the oldest delivery waiting, by channel (0 when none waits).",
    );
    for channel in ["email", "push"] {
        let age = m
            .oldest_pending
            .iter()
            .find(|(c, _)| c == channel)
            .map_or(0, |(_, at)| (now - *at).num_seconds().max(0));
        let _ = writeln!(out, "apsync_outbox_oldest_age_seconds{{channel=\"{channel}\"}} {age}");
    }
    family(
        &mut out,
        "apsync_job_held_since_timestamp_seconds",
        "gauge",
        "Scheduled jobs held now (connector runs, the rules pass, housekeeping): since when (Unix time), by job and holder (host:pidns:pid:start), across every replica on the database.",
    );
    for j in &m.jobs {
        let _ = writeln!(
            out,
            "apsync_job_held_since_timestamp_seconds{{job=\"{}\",holder=\"{}\"}} {}",
            label(&j.job),
            label(&j.held_by),
            j.held_since.timestamp()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_families_labels_and_ages() {
        let now = DateTime::parse_from_rfc3339("2026-03-02T10:00:00Z").map(|t| t.with_timezone(&Utc));
        let Ok(now) = now else { return };
        let m = MetricsSnapshot {
            runs: vec![("nor\"th".into(), "ok".into(), 3)],
            marks: 12,
            deliveries: vec![
                ("email".into(), "smtp".into(), "pending".into(), 2),
                ("email".into(), "smtp".into(), "delivered".into(), 5),
            ],
            oldest_pending: vec![("email".into(), now - chrono::Duration::seconds(90))],
            ..Default::default()
        };
        let text = render(&m, now);
        assert!(text.contains("apsync_connector_runs_total{connector=\"nor\\\"th\",outcome=\"ok\"} 3\n"));
        assert!(text.contains("apsync_marks 12\n"));
        assert!(text.contains("apsync_outbox_backlog{channel=\"email\"} 2\n"));
        assert!(text.contains("apsync_outbox_backlog{channel=\"push\"} 0\n"));
        assert!(text.contains("apsync_outbox_oldest_age_seconds{channel=\"email\"} 90\n"));
        assert!(text.contains("# TYPE apsync_deliveries gauge\n"));
        let m = MetricsSnapshot {
            jobs: vec![crate::store::JobLease {
                job: "connector:oak".into(),
                held_by: "srv-2:4026531836:77:123".into(),
                held_since: now,
                leased_until: now,
            }],
            ..Default::default()
        };
        assert!(render(&m, now).contains(
            "apsync_job_held_since_timestamp_seconds{job=\"connector:oak\",holder=\"srv-2:4026531836:77:123\"} 1772445600\n"
        ));
    }
}
