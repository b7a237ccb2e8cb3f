//! Pushing visits to a CPOMS-style endpoint: the real HTTP sender against an endpoint in the test
//! process scripted to fail as real ones do. Every story asserts the endpoint stored each visit
//! once and saw the same idempotency key on every attempt. The clock is passed in, never waited on.

use std::path::Path;
use std::time::Duration;

use apsync::config::{EndpointAuth, EndpointConfig, SecretFile};
use apsync::outbox::push::PushSink;
use apsync::runtime::alerts;
use apsync::runtime::visits::{VisitIntake, dispatch_pushes};
use apsync::store::{Delivery, Origin, Store, StoredVisit};
use apsync::visits::{PayloadTemplate, VisitInput};
use chrono::{DateTime, Utc};

use crate::support::endpoint::{Endpoint, Reply};
use crate::support::install::Install;
use crate::support::store::{Guard, postgres_store, sqlite_store, t, with_roster};
use apsync::visits::VisitNotes;

const TZ: chrono_tz::Tz = chrono_tz::Europe::London;

fn endpoint_config(id: &str, url: &str, auth: EndpointAuth) -> EndpointConfig {
    EndpointConfig {
        id: id.into(),
        url: url.parse().unwrap(),
        health_url: None,
        // Short, so a hang ends the attempt quickly; the outcome, not the time, is asserted.
        timeout: Duration::from_millis(700),
        auth,
        payload: PayloadTemplate::default(),
        remote_id_field: "id".into(),
    }
}

fn sink(ep: &Endpoint, id: &str) -> PushSink {
    PushSink::new(
        &endpoint_config(id, &ep.url(), EndpointAuth::None),
        TZ,
        None,
        Path::new("."),
    )
    .unwrap()
}

fn visit_input(pupil: &str) -> VisitInput {
    VisitInput {
        pupil: Some(pupil.into()),
        occurred_at: Some("2026-03-02 10:30".into()),
        staff: Some("Ms Patel".into()),
        kind: Some("on_site".into()),
        notes: VisitNotes {
            pupil_views: Some("Enjoying the workshop.".into()),
            progress: Some("On track with the level 1 certificate.".into()),
            actions: Some("Review attendance in two weeks.".into()),
            ..VisitNotes::default()
        },
        ..Default::default()
    }
}

const T0: &str = "2026-03-02T12:00:00Z";

/// A store with the roster and one visit queued for `endpoints`.
async fn one_visit(store: &Store, endpoints: &[&str]) -> StoredVisit {
    with_roster(store).await;
    let intake = VisitIntake {
        tz: TZ,
        endpoints: endpoints.iter().map(|e| e.to_string()).collect(),
    };
    intake
        .record(store, &visit_input("2101"), Origin::named("test"), t(T0))
        .await
        .unwrap()
        .into_visit()
        .unwrap()
}

async fn delivery(store: &Store, sink: &str) -> Delivery {
    store
        .deliveries(false, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.sink == sink)
        .unwrap()
}

fn after(secs: i64) -> DateTime<Utc> {
    t(T0) + chrono::Duration::seconds(secs)
}

/// The endpoint stored the visit exactly once, and every request carried its key.
fn assert_once(ep: &Endpoint, visit: &StoredVisit) {
    let key = &visit.document.external_id;
    let stored = ep.stored();
    assert_eq!(stored.len(), 1, "stored once: {stored:?}");
    assert_eq!(&stored[0].0, key);
    for r in ep.requests() {
        assert_eq!(r.idempotency_key.as_ref(), Some(key), "the same key on every attempt");
    }
}

#[tokio::test]
async fn server_errors_are_retried_until_accepted() {
    let (store, _g) = sqlite_store().await;
    let visit = one_visit(&store, &["cpoms"]).await;
    let ep = Endpoint::start(vec![
        Reply::Status(503, "busy", vec![]),
        Reply::Status(503, "busy", vec![]),
    ])
    .await;
    let s = [sink(&ep, "cpoms")];
    assert_eq!(dispatch_pushes(&store, &s, after(0)).await.unwrap().retrying, 1);
    assert_eq!(
        dispatch_pushes(&store, &s, after(1)).await.unwrap().retrying,
        0,
        "not due yet"
    );
    assert_eq!(dispatch_pushes(&store, &s, after(3600)).await.unwrap().retrying, 1);
    let done = dispatch_pushes(&store, &s, after(7200)).await.unwrap();
    assert_eq!(done.delivered, 1);
    assert_eq!(ep.requests().len(), 3);
    assert_once(&ep, &visit);
    let d = delivery(&store, "cpoms").await;
    assert_eq!(
        (d.status.as_str(), d.attempts, d.remote_id.as_deref()),
        ("delivered", 3, Some("R-1"))
    );
    // The body follows the default template.
    let body = &ep.stored()[0].1;
    assert_eq!(body["external_id"], visit.document.external_id.as_str());
    assert_eq!(body["admission_number"], "002101");
    assert_eq!(body["category"], "Alternative provision visit");
    assert!(body["body"].as_str().unwrap().contains("Progress:\nOn track"));
    // Delivered is final: later passes send nothing.
    dispatch_pushes(&store, &s, after(99_999)).await.unwrap();
    assert_eq!(ep.requests().len(), 3);
    assert_eq!(store.visit(visit.id).await.unwrap().unwrap().state(), "delivered");
}

#[tokio::test]
async fn too_many_requests_waits_as_long_as_retry_after_says() {
    let (store, _g) = sqlite_store().await;
    let visit = one_visit(&store, &["cpoms"]).await;
    let ep = Endpoint::start(vec![Reply::Status(
        429,
        "slow down",
        vec![("retry-after", "120".into())],
    )])
    .await;
    let s = [sink(&ep, "cpoms")];
    dispatch_pushes(&store, &s, after(0)).await.unwrap();
    assert_eq!(delivery(&store, "cpoms").await.next_attempt_at, after(120));
    dispatch_pushes(&store, &s, after(119)).await.unwrap();
    assert_eq!(ep.requests().len(), 1, "not before Retry-After");
    assert_eq!(dispatch_pushes(&store, &s, after(120)).await.unwrap().delivered, 1);
    assert_once(&ep, &visit);
}

#[tokio::test]
async fn a_lost_response_then_409_is_delivered_once() {
    let (store, _g) = sqlite_store().await;
    let visit = one_visit(&store, &["cpoms"]).await;
    let ep = Endpoint::start(vec![Reply::StoreThenHang]).await;
    let s = [sink(&ep, "cpoms")];
    assert_eq!(dispatch_pushes(&store, &s, after(0)).await.unwrap().retrying, 1);
    let d = delivery(&store, "cpoms").await;
    assert!(
        d.last_error.as_deref().unwrap().contains("no answer in time"),
        "{:?}",
        d.last_error
    );
    assert_eq!(ep.stored().len(), 1, "the endpoint kept it although apsync never heard");
    // The retry carries the same key; the endpoint says it has it (409): delivered.
    assert_eq!(dispatch_pushes(&store, &s, after(3600)).await.unwrap().delivered, 1);
    assert_eq!(ep.requests().len(), 2);
    assert_once(&ep, &visit);
}

#[tokio::test]
async fn a_hang_past_the_timeout_is_retried() {
    let (store, _g) = sqlite_store().await;
    let visit = one_visit(&store, &["cpoms"]).await;
    let ep = Endpoint::start(vec![Reply::Hang]).await;
    let s = [sink(&ep, "cpoms")];
    assert_eq!(dispatch_pushes(&store, &s, after(0)).await.unwrap().retrying, 1);
    assert!(ep.stored().is_empty());
    assert_eq!(dispatch_pushes(&store, &s, after(3600)).await.unwrap().delivered, 1);
    assert_once(&ep, &visit);
}

#[tokio::test]
async fn bad_request_is_dead_at_once_keeps_the_answer_and_replays() {
    let (store, _g) = sqlite_store().await;
    let visit = one_visit(&store, &["cpoms"]).await;
    let ep = Endpoint::start(vec![Reply::Status(400, r#"{"error":"category unknown"}"#, vec![])]).await;
    let s = [sink(&ep, "cpoms")];
    assert_eq!(dispatch_pushes(&store, &s, after(0)).await.unwrap().dead, 1);
    let d = delivery(&store, "cpoms").await;
    assert_eq!(d.status, "dead");
    assert!(d.last_error.as_deref().unwrap().contains("category unknown"));
    assert_eq!(
        d.payload["external_id"],
        visit.document.external_id.as_str(),
        "the payload is kept"
    );
    assert_eq!(store.visit(visit.id).await.unwrap().unwrap().state(), "dead");
    dispatch_pushes(&store, &s, after(99_999)).await.unwrap();
    assert_eq!(ep.requests().len(), 1, "a dead letter is not retried by itself");
    // `outbox retry ID`, after IT fixed the category: sent again, same key.
    store.retry_delivery(d.id, after(100_000)).await.unwrap();
    assert_eq!(dispatch_pushes(&store, &s, after(100_000)).await.unwrap().delivered, 1);
    assert_once(&ep, &visit);
}

#[tokio::test]
async fn refused_credentials_are_retried_slowly_and_reported() {
    let (store, _g) = sqlite_store().await;
    let visit = one_visit(&store, &["cpoms"]).await;
    let ep = Endpoint::start(vec![Reply::Status(401, "who are you", vec![])]).await;
    let s = [sink(&ep, "cpoms")];
    let r = dispatch_pushes(&store, &s, after(0)).await.unwrap();
    assert_eq!((r.retrying, r.misconfigured), (1, 1));
    let d = delivery(&store, "cpoms").await;
    assert_eq!(d.next_attempt_at, after(3600), "an hour later");
    assert!(d.last_error.unwrap().contains("credentials"));

    // IT is emailed once while it refuses, however often it is evaluated that day.
    let install = Install::new(None);
    let loaded = apsync::config::load(&install.config()).unwrap();
    let refusing_emails = |rows: &[Delivery]| {
        rows.iter()
            .filter(|d| d.channel == "email" && d.subject.contains("Endpoint refusing visits: cpoms"))
            .count()
    };
    for minutes in [1, 30] {
        alerts::evaluate(&store, &loaded, after(minutes * 60), false)
            .await
            .unwrap();
    }
    let open = store.open_alerts().await.unwrap();
    let alert = open
        .iter()
        .find(|a| a.key.starts_with("endpoint:cpoms:"))
        .expect("an alert for IT");
    assert_eq!(alert.roles, [apsync::config::Role::It]);
    assert_eq!(
        refusing_emails(&store.deliveries(false, 1000).await.unwrap()),
        1,
        "one email"
    );

    // Accepted again: the alert resolves itself (and IT is told it has).
    assert_eq!(dispatch_pushes(&store, &s, after(3600)).await.unwrap().delivered, 1);
    assert_once(&ep, &visit);
    alerts::evaluate(&store, &loaded, after(3700), false).await.unwrap();
    let open = store.open_alerts().await.unwrap();
    assert!(!open.iter().any(|a| a.key.starts_with("endpoint:")), "{open:?}");
    assert_eq!(
        refusing_emails(&store.deliveries(false, 1000).await.unwrap()),
        2,
        "the resolution"
    );
}

#[tokio::test]
async fn one_failing_endpoint_never_causes_resends_to_another() {
    let (store, _g) = sqlite_store().await;
    let visit = one_visit(&store, &["broken", "cpoms"]).await;
    let broken = Endpoint::start((0..4).map(|_| Reply::Status(500, "down", vec![])).collect()).await;
    let good = Endpoint::start(vec![]).await;
    let s = [sink(&broken, "broken"), sink(&good, "cpoms")];
    for hour in 0..4 {
        dispatch_pushes(&store, &s, after(hour * 3600)).await.unwrap();
    }
    assert_eq!(broken.requests().len(), 4);
    assert_eq!(good.requests().len(), 1, "the healthy endpoint was sent the visit once");
    assert_once(&good, &visit);
    let v = store.visit(visit.id).await.unwrap().unwrap();
    assert_eq!(v.state(), "pending");
    assert_eq!(v.deliveries.len(), 2);
}

#[tokio::test]
async fn each_kind_of_credentials_is_sent() {
    let (store, _g) = sqlite_store().await;
    with_roster(&store).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key"), "k-123\n").unwrap();
    std::fs::write(dir.path().join("secret"), "s3cret\n").unwrap();
    let ep = Endpoint::start(vec![]).await;
    let file = |name: &str| SecretFile {
        key: format!("endpoint.auth.{name}"),
        path: name.into(),
    };
    let auths = [
        ("bearer", EndpointAuth::Bearer { token: file("key") }),
        (
            "apikey",
            EndpointAuth::ApiKey {
                header: "X-API-Key".into(),
                key: file("key"),
            },
        ),
        (
            "basic",
            EndpointAuth::Basic {
                username: "apsync".into(),
                password: file("secret"),
            },
        ),
        (
            "oauth",
            EndpointAuth::OAuth2 {
                token_url: format!("{}/token", ep.base).parse().unwrap(),
                client_id: "apsync".into(),
                client_secret: file("secret"),
                scope: Some("visits.write".into()),
            },
        ),
    ];
    let ids: Vec<&str> = auths.iter().map(|(id, _)| *id).collect();
    let intake = VisitIntake {
        tz: TZ,
        endpoints: ids.iter().map(|s| s.to_string()).collect(),
    };
    intake
        .record(&store, &visit_input("2101"), Origin::named("test"), t(T0))
        .await
        .unwrap();
    intake
        .record(&store, &visit_input("2102"), Origin::named("test"), t(T0))
        .await
        .unwrap();
    let sinks: Vec<PushSink> = auths
        .into_iter()
        .map(|(id, auth)| PushSink::new(&endpoint_config(id, &ep.url(), auth), TZ, None, dir.path()).unwrap())
        .collect();
    for s in &sinks {
        assert_eq!(
            dispatch_pushes(&store, std::slice::from_ref(s), after(0))
                .await
                .unwrap()
                .delivered,
            2
        );
    }
    let seen = ep.requests();
    assert_eq!(seen.len(), 8);
    assert_eq!(seen[0].authorization.as_deref(), Some("Bearer k-123"));
    assert_eq!(seen[2].api_key.as_deref(), Some("k-123"));
    assert_eq!(seen[4].authorization.as_deref(), Some("Basic YXBzeW5jOnMzY3JldA=="));
    assert_eq!(seen[6].authorization.as_deref(), Some("Bearer token-1"));
    assert_eq!(
        seen[7].authorization.as_deref(),
        Some("Bearer token-1"),
        "the OAuth token is reused"
    );
    assert_eq!(ep.tokens_issued(), 1);
}

/// A restart in the middle of a retry sequence, and a crash with a push in flight: nothing is
/// lost and the endpoint still stores the visit once.
async fn restart_mid_sequence(store: Store, guard: Guard) {
    let visit = one_visit(&store, &["cpoms"]).await;
    let ep = Endpoint::start(vec![Reply::Status(503, "busy", vec![])]).await;
    assert_eq!(
        dispatch_pushes(&store, &[sink(&ep, "cpoms")], after(0))
            .await
            .unwrap()
            .retrying,
        1
    );
    store.close().await;

    // Restart: a new store and a new sender on the same database.
    let store = Store::open(&guard.config(), None).await.unwrap();
    assert_eq!(
        delivery(&store, "cpoms").await.attempts,
        1,
        "the retry sequence carries on"
    );
    // This time the sender dies with the push in flight: claimed (leased) but never recorded.
    ep.then(vec![Reply::StoreThenHang]);
    let claimed = store
        .claim_due(
            apsync::store::Channel::Push,
            "cpoms",
            10,
            chrono::Duration::minutes(5),
            // In this process's name, which is still running: only the lease's end frees the row.
            &apsync::outbox::owner::this_process_name(),
            after(3600),
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let lost = sink(&ep, "cpoms");
    let _ = apsync::outbox::Sink::deliver(&lost, &claimed[0]).await;
    store.close().await;

    let store = Store::open(&guard.config(), None).await.unwrap();
    let s = [sink(&ep, "cpoms")];
    assert_eq!(
        dispatch_pushes(&store, &s, after(3601)).await.unwrap().delivered,
        0,
        "the lease holds the row until it expires"
    );
    assert_eq!(
        dispatch_pushes(&store, &s, after(3600 + 301)).await.unwrap().delivered,
        1
    );
    assert_eq!(ep.requests().len(), 3);
    assert_once(&ep, &visit);
    dispatch_pushes(&store, &s, after(99_999)).await.unwrap();
    assert_eq!(
        ep.requests().len(),
        3,
        "a delivered visit is never sent again after a restart"
    );
}

#[tokio::test]
async fn a_restart_mid_sequence_loses_and_repeats_nothing_on_sqlite() {
    let (store, guard) = sqlite_store().await;
    restart_mid_sequence(store, guard).await;
}

#[tokio::test]
async fn a_restart_mid_sequence_loses_and_repeats_nothing_on_postgres() {
    let (store, guard) = postgres_store().await;
    restart_mid_sequence(store, guard).await;
}
