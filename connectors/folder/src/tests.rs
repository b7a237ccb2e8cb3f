use super::*;

fn source(dir: &Path, processed: Option<&str>) -> FolderSource {
    let config = FolderConfig {
        path: Some(dir.to_path_buf()),
        glob: Some("*.csv".into()),
        processed: processed.map(PathBuf::from),
        ..Default::default()
    };
    FolderSource::new(&config, 1_000).without_min_age()
}

#[tokio::test]
async fn files_are_offered_in_name_order_and_moved_after_commit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.csv"), "2").unwrap();
    std::fs::write(dir.path().join("a.csv"), "1").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
    let mut s = source(dir.path(), Some("processed"));
    s.check().await.unwrap();
    let items = s.discover(&Checkpoint::start(), 10).await.unwrap();
    let names: Vec<&str> = items.iter().map(|i| i.display_name.as_str()).collect();
    assert_eq!(names, ["a.csv", "b.csv"]);
    let Fetched::Document(doc) = s.fetch(&items[0]).await.unwrap() else {
        panic!("a document")
    };
    assert_eq!(
        (doc.body.read().unwrap().as_slice(), doc.file_name.as_str()),
        (b"1".as_slice(), "a.csv")
    );
    assert!(doc.external_id.starts_with("a.csv|1|"));
    s.acknowledge(&items[0], Outcome::Imported).await.unwrap();
    assert!(dir.path().join("processed/a.csv").exists());
    assert!(!dir.path().join("a.csv").exists());
    // A same-named file later does not overwrite the processed one.
    std::fs::write(dir.path().join("a.csv"), "again").unwrap();
    let again = s.discover(&Checkpoint::start(), 10).await.unwrap();
    s.acknowledge(&again[0], Outcome::Imported).await.unwrap();
    assert!(dir.path().join("processed/a.csv.1").exists());
    assert_eq!(
        s.discover(&Checkpoint::start(), 1).await.unwrap().len(),
        1,
        "bounded by the limit"
    );
}

#[tokio::test]
async fn without_a_processed_folder_the_checkpoint_remembers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.csv"), "1").unwrap();
    let mut s = source(dir.path(), None);
    let items = s.discover(&Checkpoint::start(), 10).await.unwrap();
    let cp = s.advance(&Checkpoint::start(), &items);
    s.acknowledge(&items[0], Outcome::Imported).await.unwrap();
    assert!(dir.path().join("a.csv").exists(), "kept");
    assert!(s.discover(&cp, 10).await.unwrap().is_empty());
    // A changed file (new size) is new.
    std::fs::write(dir.path().join("a.csv"), "changed").unwrap();
    assert_eq!(s.discover(&cp, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn young_files_wait_and_big_files_are_refused_with_their_digest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.csv"), "1").unwrap();
    let config = FolderConfig {
        path: Some(dir.path().to_path_buf()),
        min_age_seconds: Some(3600),
        ..Default::default()
    };
    let mut waiting = FolderSource::new(&config, 1_000);
    assert!(waiting.discover(&Checkpoint::start(), 10).await.unwrap().is_empty());

    let big = std::fs::File::create(dir.path().join("big.csv")).unwrap();
    big.set_len(5 << 20).unwrap();
    let mut s = source(dir.path(), None);
    let items = s.discover(&Checkpoint::start(), 10).await.unwrap();
    let big_item = items.iter().find(|i| i.display_name == "big.csv").unwrap();
    let Fetched::Refused(r) = s.fetch(big_item).await.unwrap() else {
        panic!("refused")
    };
    assert_eq!(
        (r.code, r.size),
        (apsync_connector_core::ErrorCode::FolderTooBig, Some(5 << 20))
    );
    assert_eq!(
        r.sha256.as_deref(),
        Some(apsync_connector_core::digest::sha256_hex(&vec![0u8; 5 << 20]).as_str())
    );
    assert!(r.reason.contains("limit"), "{}", r.reason);
}

#[tokio::test]
async fn a_missing_folder_is_a_configuration_error() {
    let mut s = source(Path::new("/nonexistent/apsync-test"), None);
    let err = s.check().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Config);
    assert!(err.message.contains("/nonexistent/apsync-test"));
}

#[test]
fn validation_names_each_key() {
    let c = FolderConfig {
        path: Some("relative".into()),
        glob: Some(" ".into()),
        ..Default::default()
    };
    let keys: Vec<&str> = c.validate().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["path", "glob"]);
}

#[tokio::test]
async fn a_name_that_is_not_utf8_is_read_shown_escaped_and_moved() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let raw = std::ffi::OsStr::from_bytes(b"caf\xe9 week 10.csv");
    std::fs::write(dir.path().join(raw), "1").unwrap();
    std::fs::write(dir.path().join("caf\\xE9 week 10.csv"), "2").unwrap();
    let mut s = source(dir.path(), Some("processed"));
    let items = s.discover(&Checkpoint::start(), 10).await.unwrap();
    let mut names: Vec<&str> = items.iter().map(|i| i.display_name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["caf\\xE9 week 10.csv", "caf\\xE9 week 10.csv~"]);
    let mut bytes = Vec::new();
    for item in &items {
        let Fetched::Document(doc) = s.fetch(item).await.unwrap() else {
            panic!("a document")
        };
        assert_eq!(doc.file_name, item.display_name);
        bytes.push(doc.body.read().unwrap());
        s.acknowledge(item, Outcome::Imported).await.unwrap();
    }
    bytes.sort();
    assert_eq!(bytes, [b"1".to_vec(), b"2".to_vec()]);
    assert!(
        dir.path().join("processed").join(raw).exists(),
        "moved under its own name"
    );
    assert!(dir.path().join("processed/caf\\xE9 week 10.csv").exists());
}
