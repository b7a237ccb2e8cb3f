//! Alerts and the operations facts.

use apsync::store::Store;

use super::d;
use super::support::store::t;

fn condition(key: &str, level: u8) -> apsync::rules::Condition {
    apsync::rules::Condition {
        rule: apsync::rules::Rule::Absence,
        key: key.into(),
        level,
        roles: vec![apsync::config::Role::AttendanceAdministrator],
        about: Some(d("2026-03-02")),
        raise: true,
        upn: Some("Q371432121107".into()),
        provider: Some("bright-futures".into()),
        detail: apsync::rules::Detail {
            title: format!("Absent: {key}"),
            ..Default::default()
        },
    }
}

fn email(key: &str) -> apsync::store::NewDelivery {
    apsync::store::NewDelivery {
        channel: apsync::store::Channel::Email,
        sink: "smtp".into(),
        idempotency_key: key.into(),
        subject: format!("[apsync] {key}"),
        payload: serde_json::json!({ "message": key }),
    }
}

pub(crate) async fn alerts_are_raised_once_with_their_email_and_resolved_by_occurrence(store: Store) {
    use apsync::rules::Change;
    let now = t("2026-03-02T10:00:00Z");
    let raise = [Change::Raise(condition("k1", 0))];
    let counts = store.apply_alert_changes(&raise, &[email("e1")], now).await.unwrap();
    assert_eq!((counts.raised, counts.emails), (1, 1));
    let open = store.open_alerts().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].key.as_str(), open[0].first_seen), ("k1", now));

    // A second evaluation deciding the same raise (decided before the first committed) is refused
    // whole: its email is not queued either.
    let err = store
        .apply_alert_changes(&raise, &[email("e1-again")], now)
        .await
        .unwrap_err();
    assert!(matches!(err, apsync::store::StoreError::Conflict(_)), "{err}");
    assert_eq!(store.deliveries(false, 10).await.unwrap().len(), 1);

    // Escalated (level 0 -> 1), then resolved; a stale escalation decided on level 0 is refused.
    let escalate = [Change::Escalate(open[0].clone(), condition("k1", 1))];
    store.apply_alert_changes(&escalate, &[email("e2")], now).await.unwrap();
    let err = store.apply_alert_changes(&escalate, &[], now).await.unwrap_err();
    let id = open[0].id;
    assert!(
        matches!(&err, apsync::store::StoreError::Conflict(m) if *m == format!(
            "alert {id} was changed by another evaluation at the same time; nothing was written and the rules run again"
        )),
        "{err:?}"
    );
    let open = store.open_alerts().await.unwrap();
    assert_eq!(open[0].level, 1);
    store
        .apply_alert_changes(&[Change::Resolve(open[0].clone())], &[email("e3")], now)
        .await
        .unwrap();
    assert!(store.open_alerts().await.unwrap().is_empty());

    // The same condition later is a new occurrence, with a row (and emails) of its own.
    store.apply_alert_changes(&raise, &[email("e4")], now).await.unwrap();
    let listed = store.alerts(now - chrono::Duration::days(1)).await.unwrap();
    let states: Vec<(&str, &str)> = listed
        .iter()
        .map(|a| (a.subject_key.as_str(), a.state.as_str()))
        .collect();
    assert_eq!(states, [("k1", "open"), ("k1", "resolved")]);
    assert_eq!(store.deliveries(false, 10).await.unwrap().len(), 4);
    assert!(store.has_delivery_prefixed("smtp", "e").await.unwrap());
    assert!(!store.has_delivery_prefixed("smtp", "digest:").await.unwrap());
}

pub(crate) async fn ops_facts_count_failed_runs_in_a_row_and_dead_letters(store: Store) {
    use apsync::store::RunStatus;
    let now = t("2026-03-02T10:00:00Z");
    for status in [RunStatus::Failed, RunStatus::Ok, RunStatus::Failed, RunStatus::Failed] {
        let id = store.start_run("bf-sftp", "test-host:1:1:1", now).await.unwrap();
        let error = (status == RunStatus::Failed).then_some(("auth", "login refused"));
        store.finish_run(id, status, (0, 0, 0), error, now, now).await.unwrap();
    }
    let ok = store.start_run("rf-imap", "test-host:1:1:1", now).await.unwrap();
    store
        .finish_run(ok, RunStatus::Ok, (1, 2, 0), None, now, now)
        .await
        .unwrap();
    store.enqueue(&email("dead-one"), now).await.unwrap();
    let d = store.deliveries(false, 1).await.unwrap();
    store.mark_dead(d[0].id, "550 no such user").await.unwrap();
    let facts = store.ops_facts().await.unwrap();
    assert_eq!(
        facts.connector_failures,
        [("bf-sftp".to_string(), 2, Some("login refused".to_string()))]
    );
    assert_eq!(facts.dead_deliveries, [(d[0].id, "[apsync] dead-one".to_string())]);
    let health = store.outbox_health().await.unwrap();
    assert_eq!(
        health,
        [("email".to_string(), 0, 1, Some("550 no such user".to_string()))]
    );
}
