//! A NUL byte (or another control character) in a provider's file: PostgreSQL refuses it in a
//! text column, so the store writes those texts cleaned, and keeps the file's bytes as they are.

use apsync::domain::{Code, Session};
use apsync::register::{NewReview, ReviewKind};
use apsync::store::{MarkFilter, Store};

use super::support::store::{t, with_roster};
use super::{doc, mark};

pub(crate) async fn nul_bytes_in_cells_are_stored_cleaned_and_the_ledger_keeps_them(store: Store) {
    with_roster(&store).await;
    let bytes = b"upn,date,mark,comment\nQ371432121107,2026-03-02,/,late\0bus\nQ37\0,2026-03-02,/,x\n";
    let mut document = doc("bright-futures", "week\u{0}10.csv", bytes);
    document.external_id = "week\u{0}10.csv|78|0".into();
    document.metadata = serde_json::json!({ "sender": "office\u{0}@provider.example", "note": ["a\u{1b}b"] });
    let mut with_comment = mark("Q371432121107", "2026-03-02", Session::Am, Code::PresentAm);
    with_comment.comment = Some("late\0bus".into());
    with_comment.raw_mark = "/\0".into();
    with_comment.raw_row = vec![
        "Q371432121107".into(),
        "2026-03-02".into(),
        "/".into(),
        "late\0bus".into(),
    ];
    let review = NewReview {
        kind: ReviewKind::InvalidIdentifier,
        locator: "line\u{0} 3".into(),
        identifier: Some("Q37\0".into()),
        raw_row: vec!["Q37\0".into(), "2026-03-02".into(), "/".into(), "x".into()],
        reason: "`Q37\0` is not a UPN".into(),
        upn: None,
        date: None,
        session: None,
        raw_mark: Some("/\0".into()),
    };
    let s = store
        .import_document(&document, &[with_comment], &[review], None, t("2026-03-02T10:00:00Z"))
        .await
        .unwrap();
    assert_eq!((s.marks_added, s.review_items), (1, 1), "{s:?}");
    assert_eq!(
        store.document_bytes(s.document_id).await.unwrap(),
        bytes,
        "the ledger keeps the raw bytes"
    );
    let marks = store.marks(&MarkFilter::default()).await.unwrap();
    assert_eq!(
        (marks[0].upn.as_str(), marks[0].code),
        ("Q371432121107", Code::PresentAm)
    );
    let items = store.review_items(false).await.unwrap();
    let r = &items[0];
    assert_eq!(r.identifier.as_deref(), Some("Q37\u{FFFD}"));
    assert_eq!(r.locator, "line\u{FFFD} 3");
    assert_eq!(r.reason, "`Q37\u{FFFD}` is not a UPN");
    assert_eq!(r.raw_mark.as_deref(), Some("/\u{FFFD}"));
    assert_eq!(r.file.as_deref(), Some("week\u{FFFD}10.csv"));
    assert!(!r.reason.contains('\0'));

    // The same bytes again are known by their digest: a duplicate, not an error.
    let again = store
        .import_document(&document, &[], &[], None, t("2026-03-02T11:00:00Z"))
        .await
        .unwrap();
    assert!(again.duplicate);
}
