use super::*;

fn valid() -> ImapConfig {
    ImapConfig {
        host: Some("imap.example.test".into()),
        username: Some("returns@school.test".into()),
        password_file: Some("pw".into()),
        senders: vec!["@provider.test".into()],
        trusted_authserv_ids: vec!["mx.school.test".into()],
        ..Default::default()
    }
}

#[test]
fn a_verdict_needs_trusted_authserv_ids_and_only_a_verdict_uses_them() {
    let mut c = ImapConfig {
        trusted_authserv_ids: Vec::new(),
        ..valid()
    };
    assert_eq!(keys(&c), ["trusted_authserv_ids"]);
    c.authentication = Some(Authentication::Dkim);
    assert!(keys(&c).is_empty());
    c.authentication = Some(Authentication::Review);
    c.trusted_authserv_ids = vec!["mx.school.test".into()];
    assert_eq!(keys(&c), ["trusted_authserv_ids"]);
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
        tls: Some(Security::None),
        ..valid()
    };
    assert_eq!(keys(&c), ["tls"]);
    c.allow_plaintext = Some(true);
    assert_eq!(keys(&c), ["tls"], "not loopback");
    c.host = Some("127.0.0.1".into());
    assert!(keys(&c).is_empty());
}

#[test]
fn every_problem_is_named_at_once() {
    let c = ImapConfig {
        port: Some(0),
        oauth2: Some(OAuth2Config {
            client_id: Some("app".into()),
            ..Default::default()
        }),
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
            "username",
            "oauth2.token_url",
            "oauth2.client_secret_file",
            "senders",
            "trusted_authserv_ids",
            "glob",
            "media_types",
            "move_to",
            "timeout_seconds"
        ]
    );
}

#[test]
fn the_oauth_token_url_must_be_https() {
    let mut c = valid();
    c.password_file = None;
    c.oauth2 = Some(OAuth2Config {
        token_url: Some("http://login.example/token".into()),
        client_id: Some("apsync".into()),
        client_secret_file: Some("secret".into()),
        scope: None,
    });
    let problems = c.validate();
    assert!(
        problems
            .iter()
            .any(|(k, m)| *k == "oauth2.token_url" && m.contains("https")),
        "{problems:?}"
    );
    if let Some(o) = c.oauth2.as_mut() {
        o.token_url = Some("https://login.microsoftonline.com/t/oauth2/v2.0/token".into());
    }
    assert!(!c.validate().iter().any(|(k, _)| *k == "oauth2.token_url"));
}
