//! Rendering and batching, on the example configuration.

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::config::load_templates;
use crate::email::*;
use crate::rules::{Change, Condition, Detail, Rule};
use crate::settings::Role;

const EXAMPLE: &str = include_str!("../../config/apsync.example.toml");

fn config() -> Config {
    let (raw, _) = crate::config::parse(EXAMPLE, vec![]).unwrap();
    crate::config::validate::validate(raw).unwrap()
}

fn now() -> DateTime<Utc> {
    "2026-03-02T10:30:00Z".parse().unwrap()
}

fn raise(rule: Rule, key: &str, title: &str, roles: &[Role]) -> Change {
    Change::Raise(Condition {
        rule,
        key: key.into(),
        level: 0,
        roles: roles.to_vec(),
        about: None,
        raise: true,
        upn: Some("Q371432121107".into()),
        provider: Some("bright-futures".into()),
        detail: Detail {
            title: title.into(),
            pupil: Some("Jayden C. (Y10)".into()),
            admission_number: Some("002102".into()),
            provider: Some("Bright Futures Training".into()),
            when: Some("Mon 2 Mar AM".into()),
            what: "The provider reports the pupil absent from this session.".into(),
            expected: "Contact the parents today.".into(),
        },
    })
}

fn message(d: &Email) -> String {
    d.message.clone()
}

#[test]
fn one_alert_is_one_message_with_a_sortable_subject_and_no_upn() {
    let c = config();
    let t = load_templates(None).unwrap();
    let title = "Absent: Jayden C. (Y10) at Bright Futures Training, Mon 2 Mar AM";
    let out = alert_emails(
        &[raise(
            Rule::Absence,
            "Q371432121107:2026-03-02:AM",
            title,
            &[Role::AttendanceAdministrator],
        )],
        &c.email_settings().unwrap(),
        &t,
        now(),
    )
    .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].subject, format!("[apsync] {title}"));
    assert_eq!(out[0].to, "attendance@school.example");
    let m = message(&out[0]);
    assert!(m.contains("multipart/alternative") && m.contains("text/html") && m.contains("text/plain"));
    assert!(!m.contains("Q371432121107") && !m.contains("2011-02-03"), "{m}");
    assert!(m.contains("admission number 002102"));
}

#[test]
fn alerts_for_one_person_are_batched_and_each_role_gets_its_own() {
    let c = config();
    let t = load_templates(None).unwrap();
    let changes = [
        raise(Rule::Absence, "a", "Absent: A", &[Role::AttendanceAdministrator]),
        raise(Rule::StaleN, "b", "N not replaced: B", &[Role::AttendanceAdministrator]),
        raise(
            Rule::ConsecutiveAbsence,
            "c",
            "Absent 4 sessions in a row: C",
            &[Role::Dsl, Role::ApCoordinator],
        ),
    ];
    let out = alert_emails(&changes, &c.email_settings().unwrap(), &t, now()).unwrap();
    let mut to: Vec<(String, String)> = out.iter().map(|d| (d.to.clone(), d.subject.clone())).collect();
    to.sort();
    assert_eq!(
        to,
        [
            (
                "ap.coordinator@school.example".into(),
                "[apsync] Absent 4 sessions in a row: C".into()
            ),
            (
                "attendance@school.example".into(),
                "[apsync] 2 alerts: Absent: A and 1 more".into()
            ),
            (
                "dsl@school.example".into(),
                "[apsync] Absent 4 sessions in a row: C".into()
            ),
        ]
    );
    // The same changes give the same keys: queueing them again is a no-op in the outbox.
    let again = alert_emails(&changes, &c.email_settings().unwrap(), &t, now()).unwrap();
    let keys = |v: &[Email]| v.iter().map(|d| d.idempotency_key.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&out), keys(&again));
}

#[test]
fn an_override_template_replaces_the_built_in_one_and_unknown_names_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("alert.txt"),
        "{% for item in items %}ALERT {{ item.title }}{% endfor %}",
    )
    .unwrap();
    let t = load_templates(Some(dir.path())).unwrap();
    let out = alert_emails(
        &[raise(Rule::Absence, "a", "Absent: A", &[Role::AttendanceAdministrator])],
        &config().email_settings().unwrap(),
        &t,
        now(),
    )
    .unwrap();
    assert!(message(&out[0]).contains("ALERT Absent: A"));
    std::fs::write(dir.path().join("alert.txt"), "{{ item_typo }}").unwrap();
    let t = load_templates(Some(dir.path())).unwrap();
    let err = alert_emails(
        &[raise(Rule::Absence, "a", "A", &[Role::AttendanceAdministrator])],
        &config().email_settings().unwrap(),
        &t,
        now(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("alert.txt") && err.contains("templates_folder"), "{err}");
}

#[test]
fn the_chart_is_a_png_drawn_with_the_embedded_font() {
    let png = weekly_chart(
        &[ChartSeries {
            label: "Jayden C. (Y10)".into(),
            weekly: vec![Some(100.0), None, Some(80.0)],
        }],
        95.0,
    )
    .unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

/// The right-hand column's last week label used to sit on the panel's edge and be cut off: now
/// nothing is drawn within a label's half-width of the image's right edge.
#[test]
fn the_charts_last_week_label_is_drawn_whole() {
    let series: Vec<ChartSeries> = ["Jayden C. (Y10)", "Zoë O. (Y11)"]
        .iter()
        .map(|label| ChartSeries {
            label: (*label).into(),
            weekly: vec![
                Some(100.0),
                Some(90.0),
                None,
                Some(80.0),
                Some(85.0),
                Some(95.0),
                Some(70.0),
                Some(100.0),
            ],
        })
        .collect();
    let png = weekly_chart(&series, 95.0).unwrap();
    if let Ok(dir) = std::env::var("APSYNC_CHART_OUT") {
        std::fs::write(std::path::Path::new(&dir).join("chart.png"), &png).unwrap();
    }
    let mut reader = png::Decoder::new(std::io::Cursor::new(&png)).read_info().unwrap();
    let mut rgb = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut rgb).unwrap();
    let (width, height) = (info.width as usize, info.height as usize);
    let rightmost_ink = (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .filter(|(x, y)| {
            let p = &rgb[(y * width + x) * 3..(y * width + x) * 3 + 3];
            p.iter().all(|c| *c < 128)
        })
        .map(|(x, _)| x)
        .max()
        .unwrap();
    assert!(rightmost_ink + 12 <= width, "ink at x={rightmost_ink} of {width}");
}
