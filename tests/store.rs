//! The store story suite: every story runs on SQLite (a temp file) and on PostgreSQL (a fresh
//! database on the server the harness finds or starts), in every test run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use apsync::domain::{Code, Session, Upn};
use apsync::register::ReviewKind;
use apsync::roster::PupilRecord;
use apsync::store::{MarkFilter, NewDocument, NewMark, NewReview, Store};
use apsync_connector_core::Checkpoint;
use chrono::NaiveDate;

use support::store::{postgres_store, providers, sample_placements, sample_pupils, sqlite_store, t, with_roster};

/// Runs each story once per backend.
macro_rules! stories {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test] async fn $story() { let (s, _g) = super::sqlite_store().await; super::$story(s).await } )*
        }
        mod postgres {
            $( #[tokio::test] async fn $story() { let (s, _g) = super::postgres_store().await; super::$story(s).await } )*
        }
    };
}

stories!(
    migrations_are_idempotent,
    roster_import_is_an_upsert_that_keeps_leavers,
    placements_for_unknown_pupils_refuse_the_whole_import,
    same_bytes_import_once,
    later_return_replaces_and_history_keeps_the_earlier_mark,
    another_providers_mark_is_a_conflict_for_review,
    rejected_document_writes_nothing_but_the_ledger_row,
    review_resolve_writes_the_mark_and_dismiss_keeps_the_record,
    marks_are_listed_in_register_order_and_filtered,
    checkpoints_compare_and_swap,
    status_counts_everything,
    outbox_delivers_once_and_dead_letters_keep_the_payload,
    visits_are_queued_per_endpoint_and_imported_rows_record_once,
    tokens_are_kept_hashed_and_revocable,
    last_visit_per_placed_pupil_is_the_overdue_hook,
    alerts_are_raised_once_with_their_email_and_resolved_by_occurrence,
    ops_facts_count_failed_runs_in_a_row_and_dead_letters,
);

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn upn(s: &str) -> Upn {
    Upn::parse(s).unwrap()
}

fn doc(provider: &str, name: &str, bytes: &[u8]) -> NewDocument {
    NewDocument {
        provider_id: provider.into(),
        connector: "manual".into(),
        external_id: name.into(),
        file_name: name.into(),
        media_type: Some("text/csv".into()),
        bytes: bytes.to_vec(),
        metadata: serde_json::json!({}),
        received_at: t("2026-03-02T10:00:00Z"),
        rejected: None,
    }
}

fn mark(u: &str, date: &str, session: Session, code: Code) -> NewMark {
    NewMark {
        upn: upn(u),
        date: d(date),
        session,
        code,
        raw_mark: code.as_str().into(),
        comment: None,
        locator: "line 2".into(),
        raw_row: vec![u.into(), date.into()],
    }
}

async fn migrations_are_idempotent(store: Store) {
    store.migrate().await.unwrap();
    let status = store.status().await.unwrap();
    assert_eq!(status.pupils_on_roll, 0);
    assert_eq!(status.marks, 0);
}

async fn roster_import_is_an_upsert_that_keeps_leavers(store: Store) {
    store
        .sync_providers(&providers(), t("2026-03-01T08:00:00Z"))
        .await
        .unwrap();
    let pupils = sample_pupils();
    let placements = sample_placements();
    let first = store
        .import_roster(&pupils, Some(&placements), t("2026-03-01T08:00:00Z"))
        .await
        .unwrap();
    assert_eq!((first.pupils_added, first.placements_added), (15, 14));
    let again = store
        .import_roster(&pupils, Some(&placements), t("2026-03-02T08:00:00Z"))
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert_eq!((again.pupils_unchanged, again.placements_unchanged), (15, 14));

    // One pupil leaves, one changes year group: the leaver is kept, off roll.
    let mut fewer: Vec<PupilRecord> = pupils
        .iter()
        .filter(|p| p.upn.as_str() != "X371432121198")
        .cloned()
        .collect();
    fewer[0].year_group = Some(12);
    let third = store
        .import_roster(&fewer, None, t("2026-03-03T08:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        (third.pupils_left_roll, third.pupils_updated, third.pupils_unchanged),
        (1, 1, 13)
    );
    let stored = store.pupils().await.unwrap();
    assert_eq!(stored.len(), 15);
    let leaver = stored
        .iter()
        .find(|p| p.record.upn.as_str() == "X371432121198")
        .unwrap();
    assert!(!leaver.on_roll);
    let status = store.status().await.unwrap();
    assert_eq!(
        (status.pupils_on_roll, status.pupils_off_roll, status.placements),
        (14, 1, 14)
    );

    // Back on roll when an export lists them again.
    let back = store
        .import_roster(&pupils, None, t("2026-03-04T08:00:00Z"))
        .await
        .unwrap();
    assert_eq!((back.pupils_updated, back.pupils_left_roll), (2, 0));
    assert_eq!(store.status().await.unwrap().pupils_off_roll, 0);
    assert_eq!(store.placements().await.unwrap(), {
        let mut p = placements.clone();
        for r in &mut p {
            r.line = 0;
        }
        p.sort_by(|a, b| a.upn.as_str().cmp(b.upn.as_str()));
        p
    });
}

async fn placements_for_unknown_pupils_refuse_the_whole_import(store: Store) {
    store
        .sync_providers(&providers(), t("2026-03-01T08:00:00Z"))
        .await
        .unwrap();
    let pupils: Vec<PupilRecord> = sample_pupils()
        .into_iter()
        .filter(|p| p.upn.as_str() != "R371432121100")
        .collect();
    let err = store
        .import_roster(&pupils, Some(&sample_placements()), t("2026-03-01T08:00:00Z"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("R371432121100") && err.contains("line 2"), "{err}");
    let status = store.status().await.unwrap();
    assert_eq!(
        (status.pupils_on_roll, status.placements),
        (0, 0),
        "nothing half-loaded"
    );
}

async fn same_bytes_import_once(store: Store) {
    with_roster(&store).await;
    let marks = [mark("Q371432121107", "2026-03-02", Session::Am, Code::B)];
    let first = store
        .import_document(
            &doc("bright-futures", "a.csv", b"x"),
            &marks,
            &[],
            None,
            t("2026-03-02T10:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!((first.duplicate, first.marks_added), (false, 1));
    let second = store
        .import_document(
            &doc("bright-futures", "copy-by-email.csv", b"x"),
            &marks,
            &[],
            None,
            t("2026-03-02T11:00:00Z"),
        )
        .await
        .unwrap();
    assert!(second.duplicate);
    assert_eq!(second.document_id, first.document_id);
    assert_eq!(second.marks_added + second.marks_replaced + second.marks_unchanged, 0);
    let status = store.status().await.unwrap();
    assert_eq!((status.documents_imported, status.marks), (1, 1));
}

async fn later_return_replaces_and_history_keeps_the_earlier_mark(store: Store) {
    with_roster(&store).await;
    let u = "H371432121170";
    let first = store
        .import_document(
            &doc("bright-futures", "d1.csv", b"1"),
            &[mark(u, "2026-03-04", Session::Am, Code::N)],
            &[],
            None,
            t("2026-03-04T10:00:00Z"),
        )
        .await
        .unwrap();
    let second = store
        .import_document(
            &doc("bright-futures", "d2.csv", b"2"),
            &[mark(u, "2026-03-04", Session::Am, Code::I)],
            &[],
            None,
            t("2026-03-05T10:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(second.marks_replaced, 1);
    let same = store
        .import_document(
            &doc("bright-futures", "d3.csv", b"3"),
            &[mark(u, "2026-03-04", Session::Am, Code::I)],
            &[],
            None,
            t("2026-03-06T10:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(same.marks_unchanged, 1);
    let marks = store.marks(&MarkFilter::default()).await.unwrap();
    assert_eq!(marks.len(), 1);
    assert_eq!(marks[0].code, Code::I);
    let history = store.mark_history(&upn(u), d("2026-03-04"), Session::Am).await.unwrap();
    assert_eq!(
        history,
        vec![("N".to_string(), "bright-futures".to_string(), Some(first.document_id))]
    );
}

async fn another_providers_mark_is_a_conflict_for_review(store: Store) {
    with_roster(&store).await;
    let u = "Q371432121107";
    store
        .import_document(
            &doc("bright-futures", "a.csv", b"a"),
            &[mark(u, "2026-03-02", Session::Pm, Code::B)],
            &[],
            None,
            t("2026-03-02T10:00:00Z"),
        )
        .await
        .unwrap();
    let other = store
        .import_document(
            &doc("skills-hub", "b.csv", b"b"),
            &[mark(u, "2026-03-02", Session::Pm, Code::O)],
            &[],
            None,
            t("2026-03-02T11:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!((other.marks_added, other.review_items), (0, 1));
    let marks = store.marks(&MarkFilter::default()).await.unwrap();
    assert_eq!((marks[0].code, marks[0].provider.as_str()), (Code::B, "bright-futures"));
    let review = store.review_items(false).await.unwrap();
    assert_eq!(review.len(), 1);
    assert_eq!(review[0].kind, ReviewKind::Conflict.as_str());
    assert!(review[0].reason.contains("bright-futures"), "{}", review[0].reason);
    assert_eq!(
        store.status().await.unwrap().documents_partly_imported,
        0,
        "conflicts do not change the status set at insert"
    );
}

async fn rejected_document_writes_nothing_but_the_ledger_row(store: Store) {
    with_roster(&store).await;
    let mut bad = doc("riverside-farm", "broken.xlsx", b"PK\x03\x04 not really");
    bad.rejected = Some("broken.xlsx is not a readable XLSX file".into());
    let s = store
        .import_document(
            &bad,
            &[mark("G371432121121", "2026-03-02", Session::Am, Code::B)],
            &[],
            None,
            t("2026-03-02T10:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(s.marks_added, 0);
    let status = store.status().await.unwrap();
    assert_eq!((status.documents_rejected, status.marks), (1, 0));
}

fn unknown_mark_review(u: &str) -> NewReview {
    NewReview {
        kind: ReviewKind::UnknownMark,
        locator: "line 5".into(),
        identifier: Some("BF-104".into()),
        raw_row: vec!["BF-104".into(), "J".into()],
        reason: "J is obsolete".into(),
        upn: Some(upn(u)),
        date: Some(d("2026-03-04")),
        session: Some(Session::Am),
        raw_mark: Some("J".into()),
    }
}

async fn review_resolve_writes_the_mark_and_dismiss_keeps_the_record(store: Store) {
    with_roster(&store).await;
    let u = "Q371432121107";
    let unknown_pupil = NewReview {
        kind: ReviewKind::UnknownPupil,
        upn: None,
        date: Some(d("2026-03-03")),
        ..unknown_mark_review(u)
    };
    let s = store
        .import_document(
            &doc("bright-futures", "x.csv", b"x"),
            &[],
            &[unknown_mark_review(u), unknown_pupil],
            None,
            t("2026-03-04T10:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(s.review_items, 2);
    assert_eq!(store.status().await.unwrap().documents_partly_imported, 1);
    let items = store.review_items(false).await.unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].file.as_deref(), Some("x.csv"));
    let (j, who) = (items[0].id, items[1].id);

    // A pupil-less item cannot become a mark, and says what to do instead.
    let err = store
        .resolve_review(who, Code::B, None, t("2026-03-04T12:00:00Z"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("dismiss"), "{err}");

    store
        .resolve_review(j, Code::J1, Some("phoned provider"), t("2026-03-04T12:00:00Z"))
        .await
        .unwrap();
    let marks = store.marks(&MarkFilter::default()).await.unwrap();
    assert_eq!((marks.len(), marks[0].code), (1, Code::J1));
    assert!(
        store
            .resolve_review(j, Code::B, None, t("2026-03-04T12:00:00Z"))
            .await
            .is_err(),
        "decided once"
    );

    // A provider's later differing mark does not silently replace a person's decision.
    let later = store
        .import_document(
            &doc("bright-futures", "y.csv", b"y"),
            &[mark(u, "2026-03-04", Session::Am, Code::B)],
            &[],
            None,
            t("2026-03-05T10:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(later.review_items, 1);

    store
        .dismiss_review(who, Some("not our pupil"), t("2026-03-04T12:00:00Z"))
        .await
        .unwrap();
    let all = store.review_items(true).await.unwrap();
    assert_eq!(all.iter().filter(|r| r.status.as_str() == "dismissed").count(), 1);
    assert_eq!(all.iter().filter(|r| r.status.as_str() == "resolved").count(), 1);
    assert!(
        store
            .dismiss_review(9999, None, t("2026-03-04T12:00:00Z"))
            .await
            .unwrap_err()
            .to_string()
            .contains("no review item 9999")
    );
}

async fn marks_are_listed_in_register_order_and_filtered(store: Store) {
    with_roster(&store).await;
    let marks = [
        mark("Q371432121107", "2026-03-03", Session::Pm, Code::B),
        mark("Q371432121107", "2026-03-03", Session::Am, Code::I),
        mark("L371432121114", "2026-03-04", Session::Am, Code::B),
        mark("Q371432121107", "2026-03-02", Session::Pm, Code::B),
    ];
    store
        .import_document(
            &doc("bright-futures", "m.csv", b"m"),
            &marks,
            &[],
            None,
            t("2026-03-04T10:00:00Z"),
        )
        .await
        .unwrap();
    let all = store.marks(&MarkFilter::default()).await.unwrap();
    let order: Vec<String> = all
        .iter()
        .map(|m| format!("{} {} {}", &m.upn[..1], m.date, m.session))
        .collect();
    assert_eq!(
        order,
        [
            "L 2026-03-04 AM",
            "Q 2026-03-02 PM",
            "Q 2026-03-03 AM",
            "Q 2026-03-03 PM"
        ]
    );
    let filtered = store
        .marks(&MarkFilter {
            from: Some(d("2026-03-03")),
            to: Some(d("2026-03-03")),
            upn: Some(upn("Q371432121107")),
        })
        .await
        .unwrap();
    assert_eq!(filtered.len(), 2);
}

async fn checkpoints_compare_and_swap(store: Store) {
    let (cp, v) = store.checkpoint("sftp-bf").await.unwrap();
    assert_eq!((cp, v), (Checkpoint::start(), 0));
    let next = Checkpoint(serde_json::json!({"seen": ["a.csv"]}));
    let v1 = store
        .save_checkpoint("sftp-bf", &next, 0, t("2026-03-02T10:00:00Z"))
        .await
        .unwrap();
    assert_eq!(store.checkpoint("sftp-bf").await.unwrap(), (next.clone(), v1));
    // A second run that read version 0 must not overwrite what the first stored.
    assert!(
        store
            .save_checkpoint("sftp-bf", &Checkpoint::start(), 0, t("2026-03-02T10:01:00Z"))
            .await
            .is_err()
    );
    assert_eq!(store.checkpoint("sftp-bf").await.unwrap().0, next);

    let run = store.start_run("sftp-bf", t("2026-03-02T10:00:00Z")).await.unwrap();
    store
        .finish_run(
            run,
            apsync::store::RunStatus::Failed,
            (0, 0, 0),
            Some(("auth", "password refused")),
            t("2026-03-02T10:00:00Z"),
            t("2026-03-02T10:00:02Z"),
        )
        .await
        .unwrap();
    let runs = store.latest_runs().await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].status.as_str(), runs[0].error.as_deref()),
        ("failed", Some("password refused"))
    );
}

async fn status_counts_everything(store: Store) {
    with_roster(&store).await;
    let s = store.status().await.unwrap();
    assert_eq!(
        (s.pupils_on_roll, s.placements, s.providers, s.review_open),
        (15, 14, 5, 0)
    );
    assert_eq!(s.review_oldest_open, None);
}

struct ScriptedSink {
    answers: std::sync::Mutex<Vec<apsync::outbox::Attempt>>,
    seen: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl apsync::outbox::Sink for ScriptedSink {
    fn channel(&self) -> apsync::store::Channel {
        apsync::store::Channel::Push
    }
    fn id(&self) -> &str {
        "cpoms"
    }
    async fn deliver(&self, d: &apsync::store::Delivery) -> apsync::outbox::Attempt {
        self.seen.lock().unwrap().push(d.idempotency_key.clone());
        self.answers.lock().unwrap().remove(0)
    }
}

async fn outbox_delivers_once_and_dead_letters_keep_the_payload(store: Store) {
    use apsync::outbox::{Attempt, RetryPolicy, dispatch_once};
    use apsync::store::{Channel, NewDelivery};
    let delivery = |key: &str| NewDelivery {
        channel: Channel::Push,
        sink: "cpoms".into(),
        idempotency_key: key.into(),
        subject: format!("visit {key}"),
        payload: serde_json::json!({ "visit": key }),
    };
    let now = t("2026-03-02T10:00:00Z");
    assert!(store.enqueue(&delivery("v1"), now).await.unwrap());
    assert!(
        !store.enqueue(&delivery("v1"), now).await.unwrap(),
        "same key, same sink: one delivery"
    );
    assert!(store.enqueue(&delivery("v2"), now).await.unwrap());

    let sink = ScriptedSink {
        answers: std::sync::Mutex::new(vec![
            Attempt::Retry {
                reason: "503".into(),
                after: None,
                slow: false,
            },
            Attempt::Dead {
                reason: "400 bad field".into(),
            },
            Attempt::Delivered {
                remote_id: Some("R-1".into()),
            },
        ]),
        seen: Default::default(),
    };
    let policy = RetryPolicy::default();
    let first = dispatch_once(&store, &sink, &policy, now).await.unwrap();
    assert_eq!((first.retrying, first.dead), (1, 1));
    // Not due yet: nothing is sent.
    let idle = dispatch_once(&store, &sink, &policy, now + chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(idle.delivered + idle.retrying + idle.dead, 0);
    let later = dispatch_once(&store, &sink, &policy, now + chrono::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(later.delivered, 1);
    assert_eq!(
        *sink.seen.lock().unwrap(),
        ["v1", "v2", "v1"],
        "the key is the same on every attempt"
    );

    let rows = store.deliveries(false, 10).await.unwrap();
    let v1 = rows.iter().find(|d| d.idempotency_key == "v1").unwrap();
    assert_eq!(
        (v1.status.as_str(), v1.attempts, v1.remote_id.as_deref()),
        ("delivered", 2, Some("R-1"))
    );
    let v2 = rows.iter().find(|d| d.idempotency_key == "v2").unwrap();
    assert_eq!(
        (v2.status.as_str(), v2.last_error.as_deref()),
        ("dead", Some("400 bad field"))
    );
    assert_eq!(
        v2.payload,
        serde_json::json!({ "visit": "v2" }),
        "dead letters keep the payload"
    );

    // Replay the dead letter; a delivered one is never sent again.
    assert!(
        store
            .retry_delivery(v1.id, now)
            .await
            .unwrap_err()
            .to_string()
            .contains("already accepted")
    );
    store.retry_delivery(v2.id, now).await.unwrap();
    let claimed = store
        .claim_due(Channel::Push, "cpoms", 10, chrono::Duration::minutes(5), now)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].idempotency_key, "v2");
    // Leased: a second sender (another replica) does not get it.
    assert!(
        store
            .claim_due(Channel::Push, "cpoms", 10, chrono::Duration::minutes(5), now)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.deliveries(true, 10).await.unwrap().len(), 1);
}

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
            pupil_views: None,
            progress: Some("Good".into()),
            behaviour: None,
            welfare: None,
            actions: None,
            follow_up: Some(d("2026-03-16")),
        },
        source: "test".into(),
        source_ref: source_ref.map(str::to_string),
    }
}

async fn visits_are_queued_per_endpoint_and_imported_rows_record_once(store: Store) {
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

async fn tokens_are_kept_hashed_and_revocable(store: Store) {
    let now = t("2026-03-02T12:00:00Z");
    store.create_token("form", &[1u8; 32], now).await.unwrap();
    let err = store
        .create_token("form", &[2u8; 32], now)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("revoke it first"), "{err}");
    store.create_token("mis", &[3u8; 32], now).await.unwrap();
    let active = store.active_tokens().await.unwrap();
    assert_eq!(
        active.iter().map(|t| (t.name.as_str(), t.hash[0])).collect::<Vec<_>>(),
        [("form", 1), ("mis", 3)]
    );
    store.token_used(active[0].id, now).await.unwrap();
    store.revoke_token("form", now).await.unwrap();
    assert!(store.revoke_token("form", now).await.is_err(), "already revoked");
    assert_eq!(store.active_tokens().await.unwrap().len(), 1);
    store.create_token("form", &[4u8; 32], now).await.unwrap();
    let listed = store.tokens().await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!((listed[0].revoked_at, listed[0].last_used_at), (Some(now), Some(now)));
}

async fn last_visit_per_placed_pupil_is_the_overdue_hook(store: Store) {
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

async fn alerts_are_raised_once_with_their_email_and_resolved_by_occurrence(store: Store) {
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
    assert!(store.apply_alert_changes(&escalate, &[], now).await.is_err());
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

async fn ops_facts_count_failed_runs_in_a_row_and_dead_letters(store: Store) {
    use apsync::store::RunStatus;
    let now = t("2026-03-02T10:00:00Z");
    for status in [RunStatus::Failed, RunStatus::Ok, RunStatus::Failed, RunStatus::Failed] {
        let id = store.start_run("bf-sftp", now).await.unwrap();
        let error = (status == RunStatus::Failed).then_some(("auth", "login refused"));
        store.finish_run(id, status, (0, 0, 0), error, now, now).await.unwrap();
    }
    let ok = store.start_run("rf-imap", now).await.unwrap();
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
