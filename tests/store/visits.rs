//! Visits, tokens and the visit-overdue hook.

use apsync::store::Store;

use super::d;
use super::support::store::{t, with_roster};
use apsync::visits::VisitNotes;

fn new_visit(external_id: &str, upn: &str, at: &str, source_ref: Option<&str>) -> apsync::store::NewVisit {
    apsync::store::NewVisit {
        document: apsync::visits::VisitDocument {
            external_id: external_id.into(),
            upn: upn.into(),
            admission_number: "002101".into(),
            provider: Some("skills-hub".into()),
            occurred_at: t(at),
            staff: "Ms Patel".into(),
            kind: apsync::visits::VisitKind::Video,
            notes: VisitNotes {
                pupil_views: None,
                progress: Some("Good".into()),
                behaviour: None,
                welfare: None,
                actions: None,
            },
            follow_up: Some(d("2026-03-16")),
        },
        origin: apsync::store::Origin {
            source_ref: source_ref.map(str::to_string),
            ..apsync::store::Origin::named("test")
        },
    }
}

pub(crate) async fn visits_are_queued_per_endpoint_and_imported_rows_record_once(store: Store) {
    use apsync::store::PupilLookup;
    with_roster(&store).await;
    let placed = store.pupil_for_visit("2101", d("2026-03-02")).await.unwrap();
    assert_eq!(
        placed,
        PupilLookup::Placed {
            upn: "R371432121100".into(),
            admission_number: "002101".into(),
            provider_id: "skills-hub".into()
        },
        "leading zeros of an admission number do not matter"
    );
    assert_eq!(
        store.pupil_for_visit("R371432121100", d("2026-03-02")).await.unwrap(),
        placed
    );
    assert_eq!(
        store.pupil_for_visit("9999", d("2026-03-02")).await.unwrap(),
        PupilLookup::Unknown
    );
    assert_eq!(
        store.pupil_for_visit("2101", d("2025-12-01")).await.unwrap(),
        PupilLookup::NotPlaced {
            upn: "R371432121100".into()
        },
        "before the placement began"
    );

    let endpoints = vec!["cpoms".to_string(), "trust".to_string()];
    let now = t("2026-03-02T12:00:00Z");
    let ids = store
        .record_visits(
            &[
                new_visit("visit-a", "R371432121100", "2026-03-02T10:00:00Z", None),
                new_visit("visit-b", "R371432121100", "2026-03-03T10:00:00Z", Some("csv:abc:2")),
            ],
            &endpoints,
            now,
        )
        .await
        .unwrap();
    assert!(ids.iter().all(Option::is_some));
    let again = store
        .record_visits(
            &[new_visit(
                "visit-c",
                "R371432121100",
                "2026-03-03T10:00:00Z",
                Some("csv:abc:2"),
            )],
            &endpoints,
            now,
        )
        .await
        .unwrap();
    assert_eq!(again, [None], "the same CSV row again records nothing");

    let deliveries = store.deliveries(false, 10).await.unwrap();
    assert_eq!(deliveries.len(), 4, "one push per visit per endpoint");
    assert!(deliveries.iter().all(|d| d.channel == "push"));
    let visits = store.visits(None, 10).await.unwrap();
    assert_eq!(visits.len(), 2);
    assert_eq!(visits[0].document.external_id, "visit-b", "latest first");
    let b = &visits[0];
    assert_eq!(
        b.deliveries.iter().map(|d| d.endpoint.as_str()).collect::<Vec<_>>(),
        ["cpoms", "trust"]
    );
    assert_eq!(b.state(), "pending");
    let cpoms = b.deliveries[0].delivery_id;
    store.mark_delivered(cpoms, Some("R-9"), now).await.unwrap();
    let b = store.visit(b.id).await.unwrap().unwrap();
    assert_eq!(
        (b.deliveries[0].remote_id.as_deref(), b.state()),
        (Some("R-9"), "pending")
    );
    store.mark_dead(b.deliveries[1].delivery_id, "HTTP 422").await.unwrap();
    assert_eq!(store.visit(b.id).await.unwrap().unwrap().state(), "dead");
    let payload = &deliveries
        .iter()
        .find(|d| d.idempotency_key == "visit-b")
        .unwrap()
        .payload;
    assert_eq!(payload["type"], "video");
    assert_eq!(payload["follow_up"], "2026-03-16");
    assert_eq!(store.visits(Some("Q371432121107"), 10).await.unwrap().len(), 0);
    assert_eq!(store.visits(Some("R371432121100"), 1).await.unwrap().len(), 1);
    assert!(store.visit(999).await.unwrap().is_none());
}

pub(crate) async fn tokens_are_kept_hashed_and_revocable(store: Store) {
    let now = t("2026-03-02T12:00:00Z");
    store.create_token("form", &[1u8; 32], "intake", now).await.unwrap();
    let err = store
        .create_token("form", &[2u8; 32], "intake", now)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("revoke it first"), "{err}");
    store.create_token("mis", &[3u8; 32], "intake", now).await.unwrap();
    let active = store.active_tokens().await.unwrap();
    assert_eq!(
        active.iter().map(|t| (t.name.as_str(), t.hash[0])).collect::<Vec<_>>(),
        [("form", 1), ("mis", 3)]
    );
    store.token_used(active[0].id, now).await.unwrap();
    store.revoke_token("form", now).await.unwrap();
    assert!(store.revoke_token("form", now).await.is_err(), "already revoked");
    assert_eq!(store.active_tokens().await.unwrap().len(), 1);
    store.create_token("form", &[4u8; 32], "intake", now).await.unwrap();
    let listed = store.tokens().await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!((listed[0].revoked_at, listed[0].last_used_at), (Some(now), Some(now)));
}

pub(crate) async fn last_visit_per_placed_pupil_is_the_overdue_hook(store: Store) {
    with_roster(&store).await;
    let before = store.last_visit_per_placed_pupil(d("2026-03-02")).await.unwrap();
    assert_eq!(before.len(), 14, "every placed pupil, visited or not");
    assert!(before.iter().all(|l| l.last_visit.is_none()));
    store
        .record_visits(
            &[
                new_visit("v1", "R371432121100", "2026-02-02T10:00:00Z", None),
                new_visit("v2", "R371432121100", "2026-02-20T10:00:00Z", None),
            ],
            &[],
            t("2026-03-01T12:00:00Z"),
        )
        .await
        .unwrap();
    let after = store.last_visit_per_placed_pupil(d("2026-03-02")).await.unwrap();
    let r = after.iter().find(|l| l.upn == "R371432121100").unwrap();
    assert_eq!(
        (r.provider_id.as_str(), r.last_visit),
        ("skills-hub", Some(t("2026-02-20T10:00:00Z")))
    );
    assert!(
        store
            .last_visit_per_placed_pupil(d("2026-08-01"))
            .await
            .unwrap()
            .is_empty(),
        "after the placements end"
    );
}
