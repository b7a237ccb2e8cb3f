use super::*;

fn valid() -> HttpConfig {
    HttpConfig {
        url: Some("https://api.provider.test/v1/attendance?from={from}&to={to}".into()),
        ..Default::default()
    }
}

fn keys(c: &HttpConfig) -> Vec<&'static str> {
    c.validate().into_iter().map(|(k, _)| k).collect()
}

#[test]
fn a_complete_table_is_valid() {
    assert!(keys(&valid()).is_empty());
}

#[test]
fn plain_http_needs_loopback_and_an_explicit_yes() {
    let mut c = HttpConfig {
        url: Some("http://127.0.0.1:8080/x?from={from}".into()),
        ..Default::default()
    };
    assert_eq!(keys(&c), ["url"]);
    c.allow_plaintext = Some(true);
    assert!(keys(&c).is_empty());
    c.url = Some("http://api.provider.test/x".into());
    assert_eq!(keys(&c), ["url"]);
}

#[test]
fn each_auth_names_its_missing_keys() {
    let c = HttpConfig {
        auth: Some(AuthKind::ApiKey),
        paging: Some(Paging::Cursor),
        max_pages: Some(0),
        date_format: Some("%Q".into()),
        ..valid()
    };
    assert_eq!(
        keys(&c),
        [
            "date_format",
            "api_key_header",
            "api_key_file",
            "next_path",
            "max_pages"
        ]
    );
    let o = HttpConfig {
        auth: Some(AuthKind::Oauth2),
        ..valid()
    };
    assert_eq!(keys(&o), ["oauth2"]);
}

#[test]
fn the_window_starts_at_the_last_end_less_the_overlap() {
    use apsync_connector_core::{Checkpoint, ItemRef, Source};
    let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 13).unwrap();
    let c = HttpConfig {
        start_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 2),
        ..valid()
    };
    let s = HttpSource::new(&c, HttpAuth::None, 100).unwrap().with_today(today);
    let item = |id: &str| ItemRef {
        external_id: id.into(),
        display_name: String::new(),
    };
    let cp = s.advance(&Checkpoint::start(), &[item("http:2026-03-02:2026-03-10:1/2")]);
    assert_eq!(
        cp.0,
        serde_json::json!({ "window_end": null }),
        "not before the last page"
    );
    // A page refused as too big holds the window where it is, whatever came before it.
    let held = s.advance(&cp, &[item("http-refused:2026-03-02:2026-03-10:page-2:2026-03-13")]);
    assert_eq!(held.0, cp.0, "a refused page never moves the window");
    let cp = s.advance(&cp, &[item("http:2026-03-02:2026-03-10:2/2")]);
    assert_eq!(cp.0, serde_json::json!({ "window_end": "2026-03-10" }));
    assert_eq!(s.window(&cp).0, chrono::NaiveDate::from_ymd_opt(2026, 3, 8).unwrap());
    assert_eq!(
        s.window(&Checkpoint::start()).0,
        chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
    );
}
