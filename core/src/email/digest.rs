//! The weekly digest for the AP coordinator: per provider and pupil, attendance in the week and
//! the term, the trend, open alerts, review items waiting and overdue visits, with the chart
//! inline.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;

use super::{ChartSeries, Email, EmailError, EmailSettings, Templates, build, weekly_chart};
use crate::domain::{AttendanceSummary, Code, format_pct};
use crate::register::Mark;
use crate::roster::PlacementRecord;
use crate::roster::StoredPupil;
use crate::rules::{OpenAlert, Periods, Span, day_label, local, overdue_visits};
use crate::visits::LastVisit;

/// What the digest is made from.
pub struct DigestFacts<'a> {
    /// Pupils.
    pub pupils: &'a [StoredPupil],
    /// Placements.
    pub placements: &'a [PlacementRecord],
    /// Marks of the term: (upn, date, session, code, provider).
    pub marks: &'a [Mark],
    /// Open alerts.
    pub open: &'a [OpenAlert],
    /// Open review items per provider id.
    pub review_waiting: BTreeMap<String, i64>,
    /// Each pupil placed today with their latest visit.
    pub last_visits: &'a [LastVisit],
}

#[derive(Serialize)]
struct OverdueLine {
    pupil: String,
    admission_number: String,
    provider: String,
    since: String,
    due: String,
}

#[derive(Serialize)]
struct PupilLine {
    pupil: String,
    admission_number: String,
    week: String,
    term: String,
    window: String,
    trend: &'static str,
    open_alerts: usize,
}

#[derive(Serialize)]
struct ProviderBlock {
    name: String,
    review_waiting: i64,
    pupils: Vec<PupilLine>,
}

fn pct_text(s: &AttendanceSummary) -> String {
    match s.attendance_pct() {
        Some(p) => format!("{}%", format_pct(Some(p))),
        None => "no sessions".into(),
    }
}

/// The digest messages (one per AP coordinator address), keyed `key` (its ISO week).
pub fn digest_emails(
    key: &str,
    settings: &EmailSettings<'_>,
    facts: &DigestFacts<'_>,
    templates: &Templates,
    now: DateTime<Utc>,
) -> Result<Vec<Email>, EmailError> {
    let config = settings.rules;
    let (today, _) = local(config, now);
    let cal = &config.calendar;
    let window_days = config.alerts.below_window_days;
    let periods = Periods::on(cal, today, window_days).unwrap_or_else(|| {
        // No school day yet in the calendar: empty periods ending today.
        let empty = Span { from: today, to: today };
        Periods {
            day: today,
            week: empty,
            term: empty,
            window: empty,
            window_days,
        }
    });
    let reported = periods.day;
    let weeks = periods.term_weeks();
    let marks_of = |upn: &str| -> Vec<(NaiveDate, &Code)> {
        facts
            .marks
            .iter()
            .filter(|m| m.upn == upn)
            .map(|m| (m.date, &m.code))
            .collect()
    };
    let mut blocks: BTreeMap<String, ProviderBlock> = BTreeMap::new();
    let mut series = Vec::new();
    for pupil in facts.pupils.iter().filter(|p| p.on_roll) {
        let upn = pupil.record.upn.as_str();
        let Some(placement) = facts
            .placements
            .iter()
            .rev()
            .find(|p| p.upn.as_str() == upn && p.is_active_on(reported))
        else {
            continue;
        };
        let label = crate::rules::pupil_label(pupil);
        let marks = marks_of(upn);
        let weekly: Vec<AttendanceSummary> = weeks.iter().map(|w| w.summary(marks.iter().copied())).collect();
        let this_week = periods.week.summary(marks.iter().copied());
        let last_week = weekly.len().checked_sub(2).and_then(|i| weekly.get(i)).copied();
        let trend = match (this_week.attendance_pct(), last_week.and_then(|s| s.attendance_pct())) {
            (Some(a), Some(b)) if a > b + 0.05 => "up",
            (Some(a), Some(b)) if a + 0.05 < b => "down",
            (Some(_), Some(_)) => "steady",
            _ => "-",
        };
        let term = periods.term.summary(marks.iter().copied());
        let window = periods.window.summary(marks.iter().copied());
        let name = config
            .provider(&placement.provider_id)
            .map_or(placement.provider_id.clone(), |p| p.name.clone());
        let block = blocks.entry(name.clone()).or_insert_with(|| ProviderBlock {
            name,
            review_waiting: facts.review_waiting.get(&placement.provider_id).copied().unwrap_or(0),
            pupils: Vec::new(),
        });
        block.pupils.push(PupilLine {
            pupil: label.clone(),
            admission_number: pupil.record.admission_number.clone(),
            week: pct_text(&this_week),
            term: pct_text(&term),
            window: pct_text(&window),
            trend,
            open_alerts: facts.open.iter().filter(|a| a.upn.as_deref() == Some(upn)).count(),
        });
        series.push((
            block.name.clone(),
            ChartSeries {
                label,
                weekly: weekly.iter().map(AttendanceSummary::attendance_pct).collect(),
            },
        ));
    }
    // The chart's panels in the order the tables list them: by provider, then pupil.
    series.sort_by(|a, b| a.0.cmp(&b.0));
    let series: Vec<ChartSeries> = series.into_iter().map(|(_, s)| s).collect();
    let overdue: Vec<OverdueLine> = if config.alerts.visit_overdue.enabled {
        overdue_visits(config, today, facts.pupils, facts.placements, facts.last_visits)
            .into_iter()
            .map(|o| OverdueLine {
                pupil: crate::rules::pupil_label(o.pupil),
                admission_number: o.pupil.record.admission_number.clone(),
                provider: config
                    .provider(o.provider_id)
                    .map_or_else(|| o.provider_id.to_string(), |p| p.name.clone()),
                since: o.since_text(),
                due: day_label(o.due),
            })
            .collect()
    } else {
        Vec::new()
    };
    let visits = match overdue.len() {
        _ if !config.alerts.visit_overdue.enabled => "not tracked ([alerts.visit_overdue] is off)".to_string(),
        0 => "none".to_string(),
        n => n.to_string(),
    };
    let png = weekly_chart(&series, config.school.attendance_target)?;
    let week_label = periods.week.from.format("%a %-d %b %Y").to_string();
    let subject = format!(
        "[apsync] Weekly digest: week beginning {}",
        periods.week.from.format("%a %-d %b")
    );
    let cid = "attendance-chart";
    let ctx = json!({
        "subject": subject,
        "week": week_label,
        "to": day_label(periods.day),
        "term_from": day_label(periods.term.from),
        "window_days": periods.window_days,
        "target": format_pct(Some(config.school.attendance_target)),
        "providers": blocks.into_values().collect::<Vec<_>>(),
        "review_waiting": facts.review_waiting.values().sum::<i64>(),
        "visits": visits,
        "overdue_visits": overdue,
        "chart_cid": cid,
        "school": config.school.name,
        "roles": "AP coordinator",
        "dashboard_url": config.alerts.dashboard_url,
    });
    let text = templates.render("digest.txt", &ctx)?;
    let html = templates.render("digest.html", &ctx)?;
    let mut out = Vec::new();
    for role in &config.alerts.digest.roles {
        for address in settings.roles.addresses(*role) {
            out.push(build(
                settings.from,
                address,
                &subject,
                &format!("{key}:{address}"),
                text.clone(),
                html.clone(),
                Some((cid, png.clone())),
                now,
            )?);
        }
    }
    Ok(out)
}
