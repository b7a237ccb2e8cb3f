//! Table tests of configuration parsing and validation, asserting on what IT will read.

use super::*;

const EXAMPLE: &str = include_str!("../../config/apsync.example.toml");

const MINIMAL: &str = r#"
[school]
name = "Test School"
[calendar]
terms = [{ name = "Spring 2026", start = "2026-01-05", end = "2026-03-27" }]
"#;

fn check(text: &str, env: &[(&str, &str)]) -> Result<Config, Vec<ConfigError>> {
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let (raw, unknown) = parse(text, env)?;
    let config = validate::validate(raw)?;
    if unknown.is_empty() { Ok(config) } else { Err(unknown) }
}

fn keys(errors: &[ConfigError]) -> Vec<&str> {
    errors.iter().map(|e| e.key.as_str()).collect()
}

#[test]
fn the_example_configuration_is_valid() {
    let c = check(EXAMPLE, &[]).unwrap();
    assert_eq!(c.school.timezone, chrono_tz::Europe::London);
    assert_eq!(c.providers.len(), 5);
    assert_eq!(c.database.url, DatabaseUrl::Sqlite("/var/lib/apsync/apsync.db".into()));
    let half_term = chrono::NaiveDate::from_ymd_opt(2026, 2, 17).unwrap();
    assert!(!c.calendar.is_school_day(half_term));
    assert!(
        c.calendar
            .is_school_day(chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap())
    );
}

#[test]
fn defaults_fill_what_is_left_out() {
    let c = check(MINIMAL, &[]).unwrap();
    assert_eq!(c.school.attendance_target, 95.0);
    assert_eq!(c.school.timezone, chrono_tz::Europe::London);
    assert_eq!(c.database.max_connections, 5);
    assert!(c.providers.is_empty());
}

#[test]
fn three_mistakes_are_all_named() {
    let text = format!(
        "{MINIMAL}\n[database]\nurll = \"x\"\n[[provider]]\nid = \"bf\"\nname = \"BF\"\npresent_code = \"Q\"\n"
    )
    .replace(
        "name = \"Test School\"",
        "name = \"Test School\"\ntimezone = \"Mars/Olympus\"",
    );
    let errors = check(&text, &[]).unwrap_err();
    assert_eq!(
        keys(&errors),
        ["school.timezone", "provider[0].present_code"],
        "validation first"
    );
    let (_, unknown) = parse(&text, vec![]).unwrap();
    assert_eq!(keys(&unknown), ["database.urll"]);
}

#[test]
fn every_mistake_is_reported_at_once() {
    let text = r#"
[school]
attendance_target = 120
[calendar]
terms = [
  { name = "Spring", start = "2026-01-05", end = "2026-13-27" },
  { name = "Summer", start = "2026-07-17", end = "2026-04-13" },
]
closures = ["half term"]
[database]
url = "postgres://app:hunter2@db/apsync"
[[provider]]
id = "bf"
name = "BF"
urn = "12"
contact_email = "not an email"
[[provider]]
id = "bf"
[[provider]]
id = "Bad Id"
name = "X"
colour = "red"
"#;
    let env = vec![];
    let (raw, unknown) = parse(text, env).unwrap();
    assert_eq!(keys(&unknown), ["provider[2].colour"]);
    let errors = validate::validate(raw).unwrap_err();
    let k = keys(&errors);
    for expected in [
        "school.name",
        "school.attendance_target",
        "calendar.terms[0].end",
        "calendar",
        "calendar.closures[0]",
        "database.url",
        "provider[0].urn",
        "provider[0].contact_email",
        "provider[1].id",
        "provider[1].name",
        "provider[2].id",
    ] {
        assert!(k.contains(&expected), "{expected} missing from {k:?}");
    }
    assert_eq!(
        k.iter().filter(|k| **k == "calendar.closures[0]").count(),
        1,
        "one mistake, one line"
    );
    let db = errors.iter().find(|e| e.key == "database.url").unwrap();
    assert!(
        !db.message.contains("hunter2"),
        "the password is never echoed: {}",
        db.message
    );
    assert!(db.message.contains("password_file"));
}

#[test]
fn calendar_problems_are_reported_against_the_calendar() {
    let text = MINIMAL.replace(
        "terms = [",
        "terms = [{ name = \"Backwards\", start = \"2026-05-01\", end = \"2026-04-01\" }, ",
    );
    let errors = check(&text, &[]).unwrap_err();
    assert_eq!(keys(&errors), ["calendar"]);
}

#[test]
fn environment_overrides_the_file() {
    let c = check(
        MINIMAL,
        &[
            ("APSYNC__SCHOOL__ATTENDANCE_TARGET", "90"),
            ("APSYNC__DATABASE__URL", "postgres://apsync@db.example/apsync"),
        ],
    )
    .unwrap();
    assert_eq!(c.school.attendance_target, 90.0);
    assert_eq!(
        c.database.url,
        DatabaseUrl::Postgres("postgres://apsync@db.example/apsync".into())
    );
}

#[test]
fn toml_dates_and_quoted_dates_both_work() {
    let toml_date = MINIMAL.replace("start = \"2026-01-05\"", "start = 2026-01-05");
    assert_ne!(toml_date, MINIMAL, "the start is written as a TOML date");
    let day = |m, d| chrono::NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    for text in [MINIMAL, toml_date.as_str()] {
        let c = check(text, &[]).unwrap();
        let terms: Vec<_> = c
            .calendar
            .terms()
            .iter()
            .map(|t| (t.name.as_str(), t.start, t.end))
            .collect();
        assert_eq!(terms, [("Spring 2026", day(1, 5), day(3, 27))], "{text}");
    }
}

#[test]
fn a_wrong_type_names_the_key() {
    let text = MINIMAL.replace("[calendar]", "attendance_target = \"high\"\n[calendar]");
    let errors = check(&text, &[]).unwrap_err();
    assert!(
        errors[0].message.contains("school.attendance_target"),
        "{}",
        errors[0].message
    );
}

#[test]
fn the_report_lists_each_problem_with_its_key_and_says_what_to_do() {
    let e = ConfigErrors {
        file: "/etc/apsync/apsync.toml".into(),
        errors: vec![
            ConfigError::new("school.timezone", "bad"),
            ConfigError::new("provider[0].id", "worse"),
        ],
    };
    assert_eq!(
        e.to_string(),
        "2 problems in the configuration /etc/apsync/apsync.toml:\n  - `school.timezone`: bad\n  - `provider[0].id`: worse\nFix them and run `apsync check` again."
    );
}

#[test]
fn alert_and_email_mistakes_are_named_by_key() {
    let text = format!(
        "{MINIMAL}\n[email]\nfrom = \"apsync@school.example\"\nhost = \"smtp.school.example\"\ntls = \"none\"\n\
         [roles]\ndsl = [\"not an address\"]\n\
         [alerts.missing_return]\nam_deadline = \"ten\"\nescalate_to = [\"caretaker\"]\n\
         [alerts.absence]\nsessions = 4\n"
    );
    let errors = check(&text, &[]).unwrap_err();
    let keys = keys(&errors);
    for key in [
        "alerts.missing_return.escalate_to",
        "alerts.missing_return.am_deadline",
        "email.tls",
        "roles.dsl",
        "roles.attendance_administrator",
    ] {
        assert!(keys.contains(&key), "{key} not in {keys:?}");
    }
    let (_, unknown) = parse(&text, vec![]).unwrap();
    assert_eq!(
        super::tests::keys(&unknown),
        ["alerts.absence.sessions"],
        "a threshold under the wrong rule"
    );
}

#[test]
fn the_example_routes_each_rule_to_its_roles() {
    let c = check(EXAMPLE, &[]).unwrap();
    assert_eq!(c.roles.addresses(Role::Dsl), ["dsl@school.example"]);
    assert_eq!(c.alerts.missing_escalate_to, [Role::Dsl]);
    assert_eq!(c.alerts.consecutive_sessions, 4);
    assert!(matches!(
        c.email.as_ref().unwrap().transport,
        EmailTransport::File { .. }
    ));
    let bf = c.provider("bright-futures").unwrap();
    assert_eq!(bf.alerts.am_deadline, chrono::NaiveTime::from_hms_opt(10, 0, 0));
    assert_eq!(bf.alerts.expiries.len(), 4);
}

#[test]
fn postgres_beyond_this_machine_is_verify_full_unless_the_file_says_otherwise() {
    let db = |extra: &str| check(&format!("{MINIMAL}[database]\n{extra}\n"), &[]).map(|c| c.database);
    let remote = db("url = \"postgres://apsync@db.school.example/apsync\"").unwrap();
    assert_eq!(remote.tls.mode, Some(SslMode::VerifyFull));
    // Not a loopback name, however it starts.
    let lookalike = db("url = \"postgres://apsync@127.evil.example/apsync\"").unwrap();
    assert_eq!(lookalike.tls.mode, Some(SslMode::VerifyFull));
    // A weaker sslmode in the URL is refused, naming what to do ...
    let weak = db("url = \"postgres://apsync@db.school.example/apsync?sslmode=require\"").unwrap_err();
    assert_eq!(keys(&weak), ["database.url"]);
    assert!(weak[0].message.contains("verify-full") && weak[0].message.contains("database.ssl_mode"));
    // ... unless the file chooses it knowingly, with a CA for a private one.
    let chosen =
        db("url = \"postgres://apsync@db.school.example/apsync\"\nssl_mode = \"require\"\nca_file = \"db-ca.pem\"")
            .unwrap();
    assert_eq!(chosen.tls.mode, Some(SslMode::Require));
    assert_eq!(chosen.tls.ca_file.as_deref(), Some(std::path::Path::new("db-ca.pem")));
    // This machine (an address, a socket folder) keeps the URL's own sslmode.
    for local in [
        "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
        "postgres://apsync@localhost/apsync",
        "postgres://apsync@[::1]/apsync",
        "postgres:///apsync?host=/var/run/postgresql",
    ] {
        assert_eq!(db(&format!("url = \"{local}\"")).unwrap().tls.mode, None, "{local}");
    }
    assert_eq!(
        keys(&db("url = \"postgres://a@h/d\"\nssl_mode = \"sometimes\"").unwrap_err()),
        ["database.ssl_mode"]
    );
}

#[test]
fn a_password_in_the_database_url_is_refused_and_never_echoed() {
    for url in [
        "postgres://apsync:hunter22@db.school.example/apsync",
        "postgres://apsync@db.school.example/apsync?password=hunter22",
    ] {
        let errors = check(&format!("{MINIMAL}[database]\nurl = \"{url}\"\n"), &[]).unwrap_err();
        assert_eq!(keys(&errors), ["database.url"], "{url}");
        assert!(errors[0].message.contains("password_file"), "{}", errors[0].message);
        assert!(!errors[0].message.contains("hunter22"), "{}", errors[0].message);
    }
    let bad = check(&format!("{MINIMAL}[database]\nurl = \"mysql://u:hunter22@h/d\"\n"), &[]).unwrap_err();
    assert!(!bad[0].message.contains("hunter22"), "{}", bad[0].message);
}

#[test]
fn smtp_in_clear_only_to_a_parsed_loopback_and_oauth_token_urls_only_over_https() {
    let email = |host: &str, extra: &str| {
        let text = format!(
            "{MINIMAL}\n[email]\nfrom = \"apsync@school.example\"\nhost = \"{host}\"\n{extra}\n[roles]\nattendance_administrator = [\"a@school.example\"]\n"
        );
        check(&text, &[])
            .err()
            .map(|e| keys(&e).iter().map(|k| k.to_string()).collect::<Vec<_>>())
    };
    for loopback in ["127.0.0.1", "127.3.4.5", "::1", "localhost"] {
        let found = email(loopback, "tls = \"none\"");
        assert!(
            !found.iter().flatten().any(|k| k == "email.tls"),
            "{loopback}: {found:?}"
        );
    }
    for remote in ["127.evil.example", "127.0.0.1.nip.io", "smtp.school.example"] {
        let found = email(remote, "tls = \"none\"").unwrap_or_default();
        assert!(found.iter().any(|k| k == "email.tls"), "{remote}: {found:?}");
    }
    let oauth = "username = \"apsync@school.example\"\n[email.oauth2]\ntoken_url = \"http://login.example/token\"\n\
                 client_id = \"c\"\nclient_secret_file = \"s\"\nscope = \"x\"";
    let found = email("smtp.school.example", oauth).unwrap_or_default();
    assert!(found.iter().any(|k| k == "email.oauth2.token_url"), "{found:?}");
}
