//! The IMAP connector against a real Dovecot on loopback, through the real binary: STARTTLS and
//! implicit TLS, a message from a stranger, nested attachments, a Windows-1252 file name, a
//! UIDVALIDITY change, and messages already read by a person.
//!
//! Who may send a return (authenticated senders, DKIM) is in `senders`; what large and deeply
//! nested messages cost is in `large`.

mod large;
mod senders;

use crate::support;
use crate::support::dovecot::{Dovecot, PASSWORD, message};
use crate::support::install::{Install, root};
use crate::support::sample_servers::sample_files;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn installed(dovecot: &Dovecot, id: &str, provider: &str, extra: &str) -> Install {
    let install = Install::new(None);
    install.import_sample_roster();
    std::fs::write(install.path("imap-pw"), format!("{PASSWORD}\n")).unwrap();
    install.add_connector(id, provider, &dovecot.connector_toml("imap-pw", extra));
    install
}

const BF_FROM: &str = "Bright Futures <returns@bright-futures.test>";

/// The Bright Futures sample of `day`, and the same rows with every mark turned into `E`.
fn bf_return(day: &str) -> (String, Vec<u8>, Vec<u8>) {
    let name = format!("BF_attendance_2026-03-{day}.csv");
    let bytes = std::fs::read(root().join("samples/returns/bright-futures").join(&name)).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let forged: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, line)| match (i, line.rsplit_once(',')) {
            (0, _) | (_, None) => line.to_string(),
            (_, Some((head, _notes))) => match head.rsplit_once(',') {
                Some((rest, _mark)) => format!("{rest},E,"),
                None => line.to_string(),
            },
        })
        .collect();
    (name, bytes, (forged.join("\r\n") + "\r\n").into_bytes())
}

#[test]
fn starttls_imports_accepted_senders_only_and_moves_messages_after_commit() {
    let dovecot = Dovecot::start();
    for (name, bytes) in sample_files("riverside-farm") {
        dovecot.deliver(
            "INBOX",
            &message(
                "Riverside Farm <returns@riverside-farm.test>",
                &name,
                &[(&name, XLSX, &bytes)],
            ),
        );
    }
    let (name, bytes) = &sample_files("riverside-farm")[0];
    let mut forged = bytes.clone();
    forged.extend_from_slice(b"tampered");
    dovecot.deliver(
        "INBOX",
        &message("someone@elsewhere.test", "attendance", &[(name, XLSX, &forged)]),
    );
    let install = installed(
        &dovecot,
        "riverside-mail",
        "riverside-farm",
        "senders = [\"@riverside-farm.test\"]\nafter = \"move\"\nmove_to = \"Imported\"",
    );
    install.ok(&["check"]);
    let rows = install.sync(None);
    assert_eq!(rows[0]["documents"], 10, "{rows:?}");
    assert_eq!(rows[0]["refused"], 1);
    assert_eq!(
        rows[0]["error"],
        serde_json::Value::Null,
        "a stranger's mail does not fail the run"
    );
    let refused = install.json(&["refused", "--format", "json"]);
    assert_eq!(refused.as_array().map(Vec::len), Some(1), "{refused}");
    assert_eq!(refused[0]["code"], "IMAP-SENDER");
    assert_eq!(refused[0]["sender"], "someone@elsewhere.test");
    assert_eq!(dovecot.count("Imported"), 10);
    assert_eq!(dovecot.count("INBOX"), 1, "the stranger's message stays where it is");
    assert!(
        dovecot.flags("INBOX")[0].contains("$ApsyncRefused"),
        "{:?}",
        dovecot.flags("INBOX")
    );

    let marks = install.marks();
    let again = install.sync(None);
    assert_eq!(
        (again[0]["documents"].as_i64(), again[0]["error"].clone()),
        (Some(0), serde_json::Value::Null),
        "reported once"
    );
    assert_eq!(install.marks(), marks);
    assert_eq!(
        install.json(&["refused", "--format", "json"]).as_array().map(Vec::len),
        Some(1)
    );
}

#[test]
fn implicit_tls_survives_people_reading_a_uidvalidity_change_and_a_restart() {
    let mut dovecot = Dovecot::start();
    let files = sample_files("boxing-academy");
    // Both weeks in one message, each attachment nested in its own multipart.
    let attachments: Vec<(&str, &str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), "text/csv", b.as_slice()))
        .collect();
    dovecot.deliver(
        "INBOX",
        &message("office@boxing-academy.test", "weeks 10 and 11", &attachments),
    );
    // A person opened it before apsync ran.
    dovecot.flag_all("INBOX", "\\Seen");
    let extra = "senders = [\"office@boxing-academy.test\"]\n";
    let install = installed(&dovecot, "boxing-mail", "boxing-academy", extra);
    let table = std::fs::read_to_string(install.config()).unwrap().replace(
        &format!("port = {}\ntls = \"starttls\"", dovecot.port),
        &format!("port = {}\ntls = \"implicit\"", dovecot.tls_port),
    );
    std::fs::write(install.config(), table).unwrap();
    let rows = install.sync(None);
    assert_eq!(
        (rows[0]["documents"].as_i64(), rows[0]["error"].clone()),
        (Some(2), serde_json::Value::Null),
        "{rows:?}"
    );
    assert!(
        dovecot.flags("INBOX")[0].contains("$ApsyncImported"),
        "{:?}",
        dovecot.flags("INBOX")
    );
    let marks = install.marks();

    // The person flags it for follow-up: nothing changes.
    dovecot.flag_all("INBOX", "\\Flagged");
    assert_eq!(install.sync(None)[0]["documents"], 0);

    // The server rebuilds its index with a new UIDVALIDITY: everything is read again, and the
    // ledger recognises it all.
    dovecot.change_uidvalidity("INBOX", 4242);
    dovecot.restart();
    let rescanned = install.sync(None);
    assert_eq!(
        (rescanned[0]["documents"].as_i64(), rescanned[0]["error"].clone()),
        (Some(0), serde_json::Value::Null),
        "{rescanned:?}"
    );
    assert_eq!(install.marks(), marks);
}

#[test]
fn a_windows_1252_file_name_and_a_bad_password_and_check_online() {
    let dovecot = Dovecot::start();
    let (_, bytes) = &sample_files("bright-futures")[0];
    dovecot.deliver(
        "INBOX",
        &message(
            "returns@bright-futures.test",
            "Présence",
            &[(
                "Présence BF_attendance_2026-03-02.csv",
                "application/octet-stream",
                bytes,
            )],
        ),
    );
    let install = installed(
        &dovecot,
        "bf-mail",
        "bright-futures",
        "senders = [\"bright-futures.test\"]\nglob = \"*.csv\"",
    );
    std::fs::write(install.path("bad-pw"), "nope\n").unwrap();
    install.add_connector(
        "bf-mail-bad",
        "bright-futures",
        &dovecot.connector_toml("bad-pw", "senders = [\"bright-futures.test\"]"),
    );
    install.add_connector(
        "bf-mail-no-box",
        "bright-futures",
        &dovecot.connector_toml("imap-pw", "senders = [\"bright-futures.test\"]\nmailbox = \"Returns\""),
    );
    let out = install.run(&["check", "--online"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("connector bf-mail (bright-futures): ok"), "{text}");
    assert!(
        text.contains("connector bf-mail-bad (bright-futures): FAILED: IMAP-AUTH (auth)"),
        "{text}"
    );
    assert!(
        text.contains("connector bf-mail-no-box (bright-futures): FAILED: IMAP-MAILBOX (config)"),
        "{text}"
    );
    let rows = install.sync(Some("bf-mail"));
    assert_eq!(
        (rows[0]["documents"].as_i64(), rows[0]["error"].clone()),
        (Some(1), serde_json::Value::Null),
        "{rows:?}"
    );
    assert!(install.marks().lines().count() > 1);
}

/// XOAUTH2 as apsync logs in to Microsoft 365: a token from the client-credentials flow (here an
/// in-process token endpoint), sent to a real Dovecot, which checks it with the same endpoint's
/// introspection; a refused client secret is an auth error naming the token endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn xoauth2_logs_in_with_a_client_credentials_token() {
    use apsync_connector_core::oauth2::ClientCredentials;
    use apsync_connector_core::{Checkpoint, Secret, Source};
    use apsync_connector_imap::{ImapAuth, ImapConfig, ImapSource, Security};
    use axum::routing::post;
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let token = post(move |body: String| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(body.clone());
            if body.contains("grant_type=client_credentials") && body.contains("client_secret=s3cret") {
                (
                    axum::http::StatusCode::OK,
                    r#"{"access_token":"tok-apsync-1","token_type":"Bearer","expires_in":3600}"#,
                )
            } else {
                (axum::http::StatusCode::UNAUTHORIZED, r#"{"error":"invalid_client"}"#)
            }
        }
    });
    let introspect = post(|body: String| async move {
        if body.contains("token=tok-apsync-1") {
            format!(r#"{{"active":true,"username":"{}"}}"#, support::dovecot::USER)
        } else {
            r#"{"active":false}"#.to_string()
        }
    });
    let api = support::api::Api::serve(
        axum::Router::new()
            .route("/token", token)
            .route("/introspect", introspect),
    );
    let dovecot = Dovecot::start_with_oauth2(&api.url("/introspect"));
    dovecot.deliver("INBOX", &message(BF_FROM, "register", &[]));
    let config = ImapConfig {
        host: Some("127.0.0.1".into()),
        port: Some(dovecot.port),
        tls: Some(Security::Starttls),
        username: Some(support::dovecot::USER.into()),
        senders: vec!["@bright-futures.test".into()],
        trusted_authserv_ids: vec!["mx.school.test".into()],
        allow_plaintext: Some(true),
        oauth2: Some(apsync_connector_core::OAuth2Config {
            token_url: Some(api.url("/token")),
            client_id: Some("apsync".into()),
            client_secret_file: Some("secret".into()),
            scope: Some("https://outlook.office365.com/.default".into()),
        }),
        timeout_seconds: Some(10),
        ..Default::default()
    };
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    let ca = std::fs::read(dovecot.ca_file()).unwrap();
    let credentials = |secret: &str| ClientCredentials {
        token_url: api.url("/token"),
        client_id: "apsync".into(),
        client_secret: Secret::new(secret.into()),
        scope: Some("https://outlook.office365.com/.default".into()),
    };
    let mut source = ImapSource::new(&config, ImapAuth::OAuth2(credentials("s3cret")), Some(&ca), 1 << 20).unwrap();
    source
        .check()
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{}", dovecot.log()));
    let items = source.discover(&Checkpoint::start(), 10).await.unwrap();
    assert_eq!(items.len(), 1, "logged in and listed: {items:?}");
    let asked = seen.lock().unwrap().clone();
    assert!(
        asked
            .iter()
            .all(|b| b.contains("scope=https%3A%2F%2Foutlook.office365.com%2F.default")),
        "{asked:?}"
    );
    let mut refused = ImapSource::new(&config, ImapAuth::OAuth2(credentials("wrong")), Some(&ca), 1 << 20).unwrap();
    let e = refused.check().await.unwrap_err();
    assert_eq!(e.code, "IMAP-AUTH", "{e:?}");
}
