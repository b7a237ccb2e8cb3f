//! The roster, documents, marks and history, review, checkpoints and status.

use apsync::domain::{Code, Session};
use apsync::register::ReviewKind;
use apsync::roster::PupilRecord;
use apsync::store::{Decision, MarkFilter, NewReview, Store};
use apsync_connector_core::Checkpoint;

use super::support::store::{providers, sample_placements, sample_pupils, t, with_roster};
use super::{d, doc, mark, upn};

pub(crate) async fn migrations_are_idempotent(store: Store) {
    store.migrate().await.unwrap();
    let status = store.status().await.unwrap();
    assert_eq!(status.pupils_on_roll, 0);
    assert_eq!(status.marks, 0);
}

pub(crate) async fn roster_import_is_an_upsert_that_keeps_leavers(store: Store) {
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

pub(crate) async fn placements_for_unknown_pupils_refuse_the_whole_import(store: Store) {
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

pub(crate) async fn same_bytes_import_once(store: Store) {
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

pub(crate) async fn later_return_replaces_and_history_keeps_the_earlier_mark(store: Store) {
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

pub(crate) async fn another_providers_mark_is_a_conflict_for_review(store: Store) {
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
        1,
        "a conflict is a row waiting for a person: the document is partly imported"
    );
}

pub(crate) async fn rejected_document_writes_nothing_but_the_ledger_row(store: Store) {
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

pub(crate) async fn review_resolve_writes_the_mark_and_dismiss_keeps_the_record(store: Store) {
    with_roster(&store).await;
    let u = "Q371432121107";
    let unknown_pupil = NewReview {
        kind: ReviewKind::UnknownPupil,
        upn: None,
        date: Some(d("2026-03-03")),
        ..unknown_mark_review(u)
    };
    let saturday = NewReview {
        kind: ReviewKind::NotASchoolDay,
        date: Some(d("2026-03-07")),
        raw_mark: Some("/".into()),
        ..unknown_mark_review(u)
    };
    let s = store
        .import_document(
            &doc("bright-futures", "x.csv", b"x"),
            &[],
            &[unknown_mark_review(u), unknown_pupil, saturday],
            None,
            t("2026-03-04T10:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(s.review_items, 3);
    assert_eq!(store.status().await.unwrap().documents_partly_imported, 1);
    let items = store.review_items(false).await.unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].file.as_deref(), Some("x.csv"));
    let (j, who, sat) = (items[0].id, items[1].id, items[2].id);

    // A day that is not a school day is not a possible session: no code can be recorded there.
    let err = store
        .resolve_review(sat, Code::B, by("amy"), t("2026-03-04T12:00:00Z"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not a school day") && err.contains("review dismiss"),
        "{err}"
    );
    store
        .dismiss_review(sat, by("amy"), t("2026-03-04T12:00:00Z"))
        .await
        .unwrap();

    // A pupil-less item cannot become a mark, and says what to do instead.
    let err = store
        .resolve_review(who, Code::B, by("amy"), t("2026-03-04T12:00:00Z"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("dismiss"), "{err}");

    store
        .resolve_review(
            j,
            Code::J1,
            Decision {
                by: "amy.attendance",
                note: Some("phoned provider"),
            },
            t("2026-03-04T12:00:00Z"),
        )
        .await
        .unwrap();
    let marks = store.marks(&MarkFilter::default()).await.unwrap();
    assert_eq!((marks.len(), marks[0].code), (1, Code::J1));
    // The session's history says who decided it and why.
    let history = store
        .session_history(&upn(u), d("2026-03-04"), d("2026-03-04"))
        .await
        .unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(
        (
            history[0].code.as_str(),
            history[0].decided_by.as_deref(),
            history[0].decision_note.as_deref()
        ),
        ("J1", Some("amy.attendance"), Some("phoned provider"))
    );
    assert!(
        store
            .resolve_review(j, Code::B, by("amy"), t("2026-03-04T12:00:00Z"))
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
        .dismiss_review(
            who,
            Decision {
                by: "dsl",
                note: Some("not our pupil"),
            },
            t("2026-03-04T12:00:00Z"),
        )
        .await
        .unwrap();
    let all = store.review_items(true).await.unwrap();
    assert_eq!(all.iter().filter(|r| r.status.as_str() == "dismissed").count(), 2);
    assert_eq!(all.iter().filter(|r| r.status.as_str() == "resolved").count(), 1);
    let decided: Vec<_> = all
        .iter()
        .filter(|r| r.decided_at.is_some())
        .map(|r| (r.decided_by.as_deref(), r.decision_note.as_deref()))
        .collect();
    assert_eq!(
        decided,
        vec![
            (Some("amy.attendance"), Some("phoned provider")),
            (Some("dsl"), Some("not our pupil")),
            (Some("amy"), None)
        ]
    );
    assert!(
        store
            .dismiss_review(9999, by("amy"), t("2026-03-04T12:00:00Z"))
            .await
            .unwrap_err()
            .to_string()
            .contains("no review item 9999")
    );
}

pub(crate) async fn marks_are_listed_in_register_order_and_filtered(store: Store) {
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

pub(crate) async fn checkpoints_compare_and_swap(store: Store) {
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

    let run = store
        .start_run("sftp-bf", "test-host:1:1:1", t("2026-03-02T10:00:00Z"))
        .await
        .unwrap();
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

pub(crate) async fn status_counts_everything(store: Store) {
    with_roster(&store).await;
    let s = store.status().await.unwrap();
    assert_eq!(
        (s.pupils_on_roll, s.placements, s.providers, s.review_open),
        (15, 14, 5, 0)
    );
    assert_eq!(s.review_oldest_open, None);
}

/// A document that gives one session two different marks contradicts itself: every mark it
/// gives that session goes to review and the register keeps nothing for it; the same mark twice
/// is one mark. The repeats are found wherever they fall in the document (here in different
/// staging batches), and the raw bytes come back whole from their parts.
pub(crate) async fn a_document_that_contradicts_itself_sends_the_session_to_review(store: Store) {
    with_roster(&store).await;
    let u = "Q371432121107";
    let first = d("1990-01-01");
    // More marks than one staging batch holds, each a different session.
    let mut marks: Vec<_> = (0..10_010)
        .flat_map(|i| {
            let date = (first + chrono::Days::new(i)).to_string();
            [
                mark(u, &date, Session::Am, Code::B),
                mark(u, &date, Session::Pm, Code::B),
            ]
        })
        .collect();
    let mut contradiction = mark(u, "1990-01-01", Session::Am, Code::O);
    contradiction.locator = "line 20022".into();
    marks.push(contradiction);
    marks.push(mark(u, "1990-01-01", Session::Pm, Code::B));
    let bytes: Vec<u8> = (0..apsync::store::PART_BYTES * 2 + 7)
        .map(|i| (i % 251) as u8)
        .collect();
    let s = store
        .import_document(
            &doc("bright-futures", "long.csv", &bytes),
            &marks,
            &[],
            None,
            t("2026-03-02T10:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!((s.marks_added, s.review_items), (20_019, 2), "{s:?}");
    let review = store.review_items(false).await.unwrap();
    let kinds: Vec<(&str, &str)> = review.iter().map(|r| (r.kind.as_str(), r.locator.as_str())).collect();
    assert_eq!(kinds, [("conflict", "line 2"), ("conflict", "line 20022")]);
    assert!(review[0].reason.contains("more than one mark"), "{}", review[0].reason);
    let held = store.marks(&MarkFilter::default()).await.unwrap();
    assert_eq!(held.len(), 20_019);
    assert!(!held.iter().any(|m| m.date == first && m.session == Session::Am));
    assert_eq!(store.document_bytes(s.document_id).await.unwrap(), bytes);
}

/// A decision by `name` with no note.
fn by(name: &str) -> Decision<'_> {
    Decision { by: name, note: None }
}
