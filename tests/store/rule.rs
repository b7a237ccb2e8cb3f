//! The register's rule, both ways: the pure [`meet`] and the store's SQL that applies it to a
//! whole return. Every case of the function is set up in the register, one session each, and
//! one return meets them all; what the store did to each session must be what `meet` says.

use apsync::domain::{Code, Session};
use apsync::register::{HeldMark, Meeting, NewReview, ReviewKind, meet};
use apsync::store::{Decision, MarkFilter, Store};

use super::support::store::{t, with_roster};
use super::{d, doc, mark, upn};

const PUPIL: &str = "Q371432121107";
const MINE: &str = "bright-futures";
const OTHER: &str = "skills-hub";
const INCOMING: Code = Code::B;

/// One session of the story: its date and the mark it holds before the return comes.
struct Case {
    date: &'static str,
    held: Option<(&'static str, Code, bool)>,
}

fn cases() -> Vec<Case> {
    let mut held = vec![None];
    for provider in [MINE, OTHER] {
        for code in [INCOMING, Code::N] {
            for decided in [false, true] {
                held.push(Some((provider, code, decided)));
            }
        }
    }
    let dates = [
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
        "2026-03-05",
        "2026-03-06",
        "2026-03-09",
        "2026-03-10",
        "2026-03-11",
        "2026-03-12",
    ];
    dates
        .into_iter()
        .zip(held)
        .map(|(date, held)| Case { date, held })
        .collect()
}

fn decision() -> Decision<'static> {
    Decision {
        by: "amy.attendance",
        note: None,
    }
}

/// Puts `case`'s held mark in the register: by a return, or by a person deciding a review item.
async fn hold(store: &Store, n: usize, case: &Case) {
    let Some((provider, code, decided)) = case.held else {
        return;
    };
    let name = format!("held-{n}.csv");
    let bytes = name.as_bytes();
    if !decided {
        let marks = [mark(PUPIL, case.date, Session::Am, code)];
        store
            .import_document(
                &doc(provider, &name, bytes),
                &marks,
                &[],
                None,
                t("2026-03-13T08:00:00Z"),
            )
            .await
            .unwrap();
        return;
    }
    let review = NewReview {
        kind: ReviewKind::UnknownMark,
        locator: "line 2".into(),
        identifier: Some(PUPIL.into()),
        raw_row: vec![PUPIL.into()],
        reason: "unreadable".into(),
        upn: Some(upn(PUPIL)),
        date: Some(d(case.date)),
        session: Some(Session::Am),
        raw_mark: Some("?".into()),
    };
    store
        .import_document(
            &doc(provider, &name, bytes),
            &[],
            &[review],
            None,
            t("2026-03-13T08:00:00Z"),
        )
        .await
        .unwrap();
    let open = store.review_items(false).await.unwrap();
    let item = open.iter().find(|r| r.date == Some(d(case.date))).unwrap();
    store
        .resolve_review(item.id, code, decision(), t("2026-03-13T09:00:00Z"))
        .await
        .unwrap();
}

/// The session's mark, as `(code, provider)`.
async fn held_now(store: &Store, date: &str) -> Option<(Code, String)> {
    let filter = MarkFilter {
        from: Some(d(date)),
        to: Some(d(date)),
        upn: Some(upn(PUPIL)),
    };
    let marks = store.marks(&filter).await.unwrap();
    marks.first().map(|m| (m.code, m.provider.clone()))
}

pub(crate) async fn the_stores_sql_applies_the_registers_rule(store: Store) {
    with_roster(&store).await;
    let cases = cases();
    for (n, case) in cases.iter().enumerate() {
        hold(&store, n, case).await;
    }
    let mut before = Vec::new();
    for case in &cases {
        let history = store
            .mark_history(&upn(PUPIL), d(case.date), Session::Am)
            .await
            .unwrap();
        before.push((held_now(&store, case.date).await, history.len()));
    }

    let incoming: Vec<_> = cases
        .iter()
        .map(|c| mark(PUPIL, c.date, Session::Am, INCOMING))
        .collect();
    let summary = store
        .import_document(
            &doc(MINE, "incoming.csv", b"incoming"),
            &incoming,
            &[],
            None,
            t("2026-03-14T08:00:00Z"),
        )
        .await
        .unwrap();
    let conflicts: Vec<_> = store
        .review_items(false)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.file.as_deref() == Some("incoming.csv"))
        .collect();

    let mut expected_counts = [0u32; 4];
    for (case, (held_before, history_before)) in cases.iter().zip(before) {
        let held = case.held.map(|(provider, code, decided)| HeldMark {
            provider,
            code,
            decided,
        });
        let expected = meet(held, MINE, INCOMING);
        expected_counts[Meeting::ALL.iter().position(|m| *m == expected).unwrap()] += 1;

        let after = held_now(&store, case.date).await;
        let history = store
            .mark_history(&upn(PUPIL), d(case.date), Session::Am)
            .await
            .unwrap();
        let reviewed: Vec<_> = conflicts.iter().filter(|r| r.date == Some(d(case.date))).collect();
        let mine = Some((INCOMING, MINE.to_string()));
        let observed = match (&held_before, reviewed.as_slice()) {
            (_, [r]) if r.kind == ReviewKind::Conflict.as_str() && after == held_before => Meeting::Conflict,
            (None, []) if after == mine => Meeting::Insert,
            (Some(_), []) if after == held_before && history.len() == history_before => Meeting::Unchanged,
            (Some(_), []) if after == mine && history.len() == history_before + 1 => Meeting::Replace,
            _ => panic!(
                "{}: held {held_before:?}, now {after:?}, history {history:?}, review {reviewed:?}",
                case.date
            ),
        };
        assert_eq!(observed, expected, "{}: the session held {:?}", case.date, case.held);
    }

    let [added, unchanged, replaced, conflict] = expected_counts;
    assert_eq!(
        (
            summary.marks_added,
            summary.marks_unchanged,
            summary.marks_replaced,
            summary.review_items
        ),
        (added, unchanged, replaced, conflict),
        "the summary counts what `meet` says: {summary:?}"
    );
    assert!(
        expected_counts.iter().all(|n| *n > 0),
        "every outcome is reached: {expected_counts:?}"
    );
}
