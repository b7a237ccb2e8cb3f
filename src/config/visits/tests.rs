//! `[http]`, `[visits]` and `[[endpoint]]` as IT writes them, and the mistakes IT will read.

use crate::config::{ConfigError, EndpointAuth, parse, validate};
use crate::visits::PupilIdentifier;

const BASE: &str = r#"
[school]
name = "Test School"
[calendar]
terms = [{ name = "Spring 2026", start = "2026-01-05", end = "2026-03-27" }]
"#;

fn check(extra: &str) -> Result<crate::config::Config, Vec<ConfigError>> {
    let (raw, unknown) = parse(&format!("{BASE}{extra}"), vec![])?;
    let config = validate::validate(raw)?;
    if unknown.is_empty() { Ok(config) } else { Err(unknown) }
}

fn keys(errors: &[ConfigError]) -> Vec<&str> {
    errors.iter().map(|e| e.key.as_str()).collect()
}

#[test]
fn defaults_listen_on_loopback_with_no_endpoint() {
    let c = check("").unwrap();
    assert_eq!(c.http.listen.to_string(), "127.0.0.1:8087");
    assert!(c.http.tls.is_none() && c.endpoints.is_empty() && c.visits.csv_folder.is_none());
}

#[test]
fn endpoints_with_each_kind_of_auth() {
    let c = check(
        r#"
[http]
listen = "0.0.0.0:8443"
tls_cert_file = "cert.pem"
tls_key_file = "key.pem"
body_limit_bytes = 65536

[[endpoint]]
id = "cpoms"
url = "https://cpoms.example/api/records"
timeout_secs = 20
[endpoint.auth]
kind = "oauth2"
token_url = "https://login.example/token"
client_id = "apsync"
client_secret_file = "cpoms-secret"
[endpoint.payload]
pupil_identifiers = ["admission_number"]
category = "AP visit"
title = "{type} visit by {staff}"
fields = { admission_number = "student.adno", body = "description" }

[[endpoint]]
id = "relay"
url = "http://127.0.0.1:9000/visits"
allow_plaintext_loopback = true
[endpoint.auth]
kind = "api_key"
header = "X-API-Key"
key_file = "relay-key"
"#,
    )
    .unwrap();
    assert_eq!(c.http.body_limit, 65536);
    assert!(c.http.tls.is_some());
    assert_eq!(c.endpoints.len(), 2);
    let cpoms = &c.endpoints[0];
    assert!(matches!(&cpoms.auth, EndpointAuth::OAuth2 { client_id, .. } if client_id == "apsync"));
    assert_eq!(cpoms.payload.identifiers, [PupilIdentifier::AdmissionNumber]);
    assert_eq!(cpoms.payload.fields["admission_number"], "student.adno");
    assert!(matches!(&c.endpoints[1].auth, EndpointAuth::ApiKey { header, .. } if header == "X-API-Key"));
}

#[test]
fn every_mistake_is_named() {
    let errors = check(
        r#"
[http]
listen = "0.0.0.0:8087"

[[endpoint]]
id = "cpoms"
url = "http://cpoms.example/api"
[endpoint.auth]
kind = "bearer"
header = "X-Key"
[endpoint.payload]
pupil_identifiers = ["name"]
title = "{who}"
fields = { colour = "x" }

[[endpoint]]
id = "cpoms"
url = "https://x.example"
[endpoint.auth]
kind = "magic"

[[endpoint]]
id = "far"
url = "http://10.0.0.5/visits"
allow_plaintext_loopback = true
[endpoint.auth]
kind = "none"
tokn_file = "x"
"#,
    )
    .unwrap_err();
    assert_eq!(
        keys(&errors),
        [
            "http.listen",
            "endpoint[0].url",
            "endpoint[0].auth.token_file",
            "endpoint[0].auth.header",
            "endpoint[0].payload.pupil_identifiers[0]",
            "endpoint[0].payload.title",
            "endpoint[0].payload.fields.colour",
            "endpoint[1].id",
            "endpoint[1].auth.kind",
            "endpoint[2].url",
        ],
        "{errors:#?}"
    );
    assert!(errors[0].message.contains("needs TLS"));
    assert!(errors[1].message.contains("use https"));
    assert!(errors[3].message.contains("does not apply"));
    assert!(errors[9].message.contains("only to this machine"));
}

#[test]
fn unknown_keys_in_the_new_tables_are_errors() {
    let errors = check(
        r#"
[[endpoint]]
id = "cpoms"
url = "https://cpoms.example/api"
[endpoint.auth]
kind = "none"
tokn_file = "x"
"#,
    )
    .unwrap_err();
    assert_eq!(keys(&errors), ["endpoint[0].auth.tokn_file"]);
}

#[test]
fn a_csv_folder_needs_a_processed_folder() {
    let errors = check("[visits.csv_folder]\npath = \"/srv/visit-forms\"\n").unwrap_err();
    assert_eq!(keys(&errors), ["visits.csv_folder.processed"]);
    let c = check("[visits.csv_folder]\npath = \"/srv/visit-forms\"\nprocessed = \"done\"\n").unwrap();
    assert!(c.visits.csv_folder.is_some());
}
