use super::*;

fn valid() -> ImapConfig {
    ImapConfig {
        host: Some("imap.example.test".into()),
        user: Some("returns@school.test".into()),
        password_file: Some("pw".into()),
        senders: vec!["@provider.test".into()],
        ..Default::default()
    }
}

fn keys(c: &ImapConfig) -> Vec<&'static str> {
    c.validate().into_iter().map(|(k, _)| k).collect()
}

#[test]
fn a_complete_table_is_valid() {
    assert!(keys(&valid()).is_empty());
}

#[test]
fn plaintext_needs_an_explicit_yes_and_loopback() {
    let mut c = ImapConfig {
        security: Some(Security::None),
        ..valid()
    };
    assert_eq!(keys(&c), ["security"]);
    c.allow_plaintext = Some(true);
    assert_eq!(keys(&c), ["security"], "not loopback");
    c.host = Some("127.0.0.1".into());
    assert!(keys(&c).is_empty());
}

#[test]
fn every_problem_is_named_at_once() {
    let c = ImapConfig {
        port: Some(0),
        oauth2_client_id: Some("app".into()),
        glob: Some(" ".into()),
        media_types: Some(vec!["csv".into()]),
        after: Some(After::Move),
        timeout_seconds: Some(0),
        ..Default::default()
    };
    assert_eq!(
        keys(&c),
        [
            "host",
            "port",
            "user",
            "oauth2_token_url",
            "oauth2_client_secret_file",
            "senders",
            "glob",
            "media_types",
            "move_to",
            "timeout_seconds"
        ]
    );
}
