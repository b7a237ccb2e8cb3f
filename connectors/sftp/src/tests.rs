use super::*;

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

fn valid() -> SftpConfig {
    SftpConfig {
        host: Some("sftp.example.test".into()),
        username: Some("school".into()),
        host_key: Some(KEY.into()),
        private_key_file: Some("bf-key".into()),
        path: Some("/outgoing".into()),
        ..Default::default()
    }
}

#[test]
fn a_complete_table_is_valid() {
    assert_eq!(valid().validate(), vec![]);
    assert!(connect::parse_host_key(KEY).is_some());
    assert!(connect::parse_host_key(&format!("{KEY} provider-host")).is_some());
}

#[test]
fn validation_names_each_key_at_once() {
    let c = SftpConfig {
        port: Some(0),
        host_key: Some("ssh-ed25519 not-base64".into()),
        password_file: Some("pw".into()),
        private_key_file: Some("key".into()),
        glob: Some("".into()),
        after: Some(After::Move),
        timeout_seconds: Some(0),
        ..Default::default()
    };
    let keys: Vec<&str> = c.validate().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "host",
            "port",
            "username",
            "host_key",
            "password_file",
            "path",
            "glob",
            "move_to",
            "timeout_seconds"
        ]
    );
}

#[test]
fn no_credentials_and_a_stray_move_to_are_reported() {
    let c = SftpConfig {
        private_key_file: None,
        move_to: Some("done".into()),
        ..valid()
    };
    let keys: Vec<&str> = c.validate().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["private_key_file", "move_to"]);
}

#[test]
fn the_checkpoint_remembers_imported_files() {
    let s = SftpSource::new(&valid(), SftpSecrets::default(), 100);
    let item = |id: &str| apsync_connector_core::ItemRef {
        external_id: id.into(),
        display_name: "a.csv".into(),
    };
    let cp =
        apsync_connector_core::Source::advance(&s, &apsync_connector_core::Checkpoint::start(), &[item("a.csv|1|2")]);
    let cp = apsync_connector_core::Source::advance(&s, &cp, &[item("a.csv|3|4")]);
    assert_eq!(cp.0, serde_json::json!({ "seen": ["a.csv|1|2", "a.csv|3|4"] }));
}

#[tokio::test]
async fn a_closed_port_is_reported_as_refused() {
    let c = SftpConfig {
        host: Some("127.0.0.1".into()),
        port: Some(1),
        ..valid()
    };
    let mut s = SftpSource::new(&c, SftpSecrets::default(), 100);
    let err = apsync_connector_core::Source::check(&mut s).await.unwrap_err();
    assert_eq!(
        (err.code, err.kind),
        (
            apsync_connector_core::ErrorCode::SftpRefused,
            apsync_connector_core::ErrorKind::Transient
        )
    );
}
