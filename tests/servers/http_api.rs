//! The HTTP API connector against an in-process server, through the real binary: page-number
//! paging over the northstar sample pages with a moving date window, 429 with Retry-After, 500,
//! a response slower than the timeout, next-link and cursor paging, and each kind of auth.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};

use crate::support;
use crate::support::api::{Api, northstar};
use crate::support::install::Install;

fn northstar_toml(api: &Api, extra: &str) -> String {
    format!(
        "[connector.http]\nurl = \"{}\"\nallow_plaintext = true\nstart_date = 2026-03-02\npaging = \"page\"\nrecords_path = \"data\"\nnext_path = \"meta.next_page\"\ntimeout_seconds = 5\n{extra}\n",
        api.url("/v1/attendance?from={from}&to={to}")
    )
}

#[test]
fn pages_are_imported_once_and_the_next_window_overlaps_the_last() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let api = Api::serve(northstar(log.clone()));
    let install = Install::new(None);
    install.import_sample_roster();
    install.add_connector("northstar-api", "northstar", &northstar_toml(&api, ""));
    install.ok(&["check"]);
    let first = install.sync(None);
    assert_eq!(
        (first[0]["documents"].as_i64(), first[0]["error"].clone()),
        (Some(2), serde_json::Value::Null),
        "{first:?}"
    );
    let marks = install.marks();
    let again = install.sync(None);
    assert_eq!(
        (again[0]["documents"].as_i64(), again[0]["error"].clone()),
        (Some(0), serde_json::Value::Null),
        "{again:?}"
    );
    assert_eq!(install.marks(), marks);
    let log = log.lock().unwrap().clone();
    assert!(
        log[0].starts_with("from=2026-03-02&to=") && log[0].ends_with("&page=1"),
        "{log:?}"
    );
    assert_eq!(log.len(), 4, "two pages per run: {log:?}");
    let to = log[0].split('&').nth(1).unwrap().trim_start_matches("to=").to_string();
    let end = chrono::NaiveDate::parse_from_str(&to, "%Y-%m-%d").unwrap();
    assert!(
        log[2].starts_with(&format!("from={}", end - chrono::Duration::days(2))),
        "{log:?}"
    );
}

#[test]
fn rate_limits_and_server_errors_are_retried_and_a_slow_answer_times_out() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let router = axum::Router::new()
        .route(
            "/flaky",
            get(move || {
                let n = h.fetch_add(1, Ordering::SeqCst);
                async move {
                    let mut headers = HeaderMap::new();
                    match n {
                        0 => {
                            headers.insert("retry-after", "1".parse().unwrap());
                            (StatusCode::TOO_MANY_REQUESTS, headers, String::new())
                        }
                        1 => (StatusCode::INTERNAL_SERVER_ERROR, headers, String::new()),
                        _ => (
                            StatusCode::OK,
                            headers,
                            std::fs::read_to_string(
                                support::install::root().join("samples/returns/northstar/page-1.json"),
                            )
                            .unwrap(),
                        ),
                    }
                }
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                "{}"
            }),
        );
    let api = Api::serve(router);
    let install = Install::new(None);
    install.import_sample_roster();
    install.add_connector(
        "flaky",
        "northstar",
        &format!(
            "[connector.http]\nurl = \"{}\"\nallow_plaintext = true\n",
            api.url("/flaky?from={from}")
        ),
    );
    install.add_connector(
        "slow",
        "northstar",
        &format!(
            "[connector.http]\nurl = \"{}\"\nallow_plaintext = true\ntimeout_seconds = 1\nretries = 1\n",
            api.url("/slow")
        ),
    );
    let rows = install.sync(None);
    assert_eq!(
        (rows[0]["documents"].as_i64(), rows[0]["error"].clone()),
        (Some(1), serde_json::Value::Null),
        "{rows:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 3, "429, 500, then the page");
    let err = rows[1]["error"].as_str().unwrap();
    assert!(err.starts_with("HTTP-TIMEOUT:"), "{err}");
    assert_eq!(rows[1]["error_kind"], "transient");
}

#[test]
fn next_links_cursors_and_every_kind_of_auth() {
    let page = |n: usize| {
        std::fs::read(support::install::root().join(format!("samples/returns/northstar/page-{n}.json"))).unwrap()
    };
    let (p1, p2) = (page(1), page(2));
    let with_next = |bytes: &[u8], next: serde_json::Value| {
        let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        v["links"] = serde_json::json!({ "next": next });
        serde_json::to_vec(&v).unwrap()
    };
    let (a, b) = (
        with_next(&p1, "/linked?part=2".into()),
        with_next(&p2, serde_json::Value::Null),
    );
    let (c, d) = (with_next(&p1, "abc".into()), with_next(&p2, serde_json::Value::Null));
    let authorised = |h: &HeaderMap| {
        let auth = h.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
        auth == "Bearer static-token"
            || auth == "Bearer issued-token"
            || auth == "Basic dXNlcjpwdw=="
            || h.get("x-api-key").is_some_and(|k| k == "key-1")
    };
    let router = axum::Router::new()
        .route(
            "/linked",
            get(
                move |h: HeaderMap, axum::extract::RawQuery(q): axum::extract::RawQuery| {
                    let body = if q.as_deref() == Some("part=2") {
                        b.clone()
                    } else {
                        a.clone()
                    };
                    async move {
                        if authorised(&h) {
                            (StatusCode::OK, body)
                        } else {
                            (StatusCode::UNAUTHORIZED, Vec::new())
                        }
                    }
                },
            ),
        )
        .route(
            "/cursor",
            get(
                move |h: HeaderMap, axum::extract::RawQuery(q): axum::extract::RawQuery| {
                    let body = if q.unwrap_or_default().contains("cursor=abc") {
                        d.clone()
                    } else {
                        c.clone()
                    };
                    async move {
                        if authorised(&h) {
                            (StatusCode::OK, body)
                        } else {
                            (StatusCode::UNAUTHORIZED, Vec::new())
                        }
                    }
                },
            ),
        )
        .route(
            "/token",
            post(|body: String| async move {
                if body.contains("grant_type=client_credentials") && body.contains("client_secret=s3cret") {
                    (
                        StatusCode::OK,
                        r#"{"access_token":"issued-token","token_type":"Bearer","expires_in":3600}"#.to_string(),
                    )
                } else {
                    (StatusCode::UNAUTHORIZED, String::new())
                }
            }),
        );
    let api = Api::serve(router);
    let install = Install::new(None);
    install.import_sample_roster();
    for (name, value) in [
        ("token", "static-token"),
        ("key", "key-1"),
        ("pw", "pw"),
        ("secret", "s3cret"),
        ("wrong", "nope"),
    ] {
        std::fs::write(install.path(name), value).unwrap();
    }
    let table = |path: &str, extra: &str| {
        format!(
            "[connector.http]\nurl = \"{}\"\nallow_plaintext = true\nnext_path = \"links.next\"\n{extra}\n",
            api.url(path)
        )
    };
    let oauth = format!(
        "auth = \"oauth2\"\n[connector.http.oauth2]\ntoken_url = \"{}\"\nclient_id = \"apsync\"\n",
        api.url("/token")
    );
    // The old, flat names are still read (`check` warns about them).
    let old_oauth = format!(
        "auth = \"oauth2\"\noauth2_token_url = \"{}\"\noauth2_client_id = \"apsync\"\n",
        api.url("/token")
    );
    install.add_connector(
        "bearer-links",
        "northstar",
        &table(
            "/linked",
            "paging = \"next_link\"\nauth = \"bearer\"\ntoken_file = \"token\"",
        ),
    );
    install.add_connector(
        "key-cursor",
        "northstar",
        &table(
            "/cursor",
            "paging = \"cursor\"\nauth = \"api_key\"\napi_key_header = \"X-API-Key\"\napi_key_file = \"key\"",
        ),
    );
    install.add_connector(
        "basic-links",
        "northstar",
        &table(
            "/linked",
            "paging = \"next_link\"\nauth = \"basic\"\nusername = \"user\"\npassword_file = \"pw\"",
        ),
    );
    install.add_connector(
        "oauth-cursor",
        "northstar",
        &table(
            "/cursor",
            &format!("paging = \"cursor\"\n{oauth}client_secret_file = \"secret\""),
        ),
    );
    install.add_connector(
        "oauth-refused",
        "northstar",
        &table(
            "/cursor",
            &format!("paging = \"cursor\"\n{old_oauth}oauth2_client_secret_file = \"wrong\""),
        ),
    );
    install.add_connector("no-auth", "northstar", &table("/cursor", "paging = \"cursor\""));
    let rows = install.sync(None);
    assert_eq!(rows[0]["documents"], 2, "{rows:?}");
    for r in &rows[..4] {
        assert_eq!(r["error"], serde_json::Value::Null, "{r:?}");
    }
    assert_eq!(rows[2]["documents"], 0, "the same pages again: the ledger knows them");
    assert_eq!(rows[4]["error_kind"], "auth", "{:?}", rows[4]);
    assert!(
        rows[5]["error"].as_str().unwrap().starts_with("HTTP-AUTH:"),
        "{:?}",
        rows[5]
    );
}

#[test]
fn an_endless_page_is_refused_at_the_providers_limit_without_holding_it() {
    // 300 MB in 1 MB chunks, with no Content-Length: only reading tells how big it is.
    let router = axum::Router::new().route(
        "/endless",
        get(|| async {
            let chunks = futures_util::stream::iter(
                (0..300).map(|_| Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(vec![b' '; 1 << 20]))),
            );
            axum::body::Body::from_stream(chunks)
        }),
    );
    let api = Api::serve(router);
    let install = Install::new(None);
    install.import_sample_roster();
    install.add_connector(
        "endless",
        "northstar",
        &format!(
            "[connector.http]\nurl = \"{}\"\nallow_plaintext = true\nretries = 0\n",
            api.url("/endless")
        ),
    );
    let (out, peak_kib) = install.run_measured(&["sync", "--format", "json"]);
    eprintln!("peak RSS of the sync: {peak_kib} KiB");
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(peak_kib < 256 * 1024, "peak {peak_kib} KiB");
    // Recorded as refused, with the reason, and the run goes on: it is not a failure of the
    // connector, and IT hears of it through the day's refusal alert.
    assert_eq!(
        (rows[0]["refused"].as_i64(), rows[0]["error"].clone()),
        (Some(1), serde_json::Value::Null),
        "{rows}"
    );
    let refused = install.json(&["refused", "--format", "json"]);
    assert_eq!(refused.as_array().map(Vec::len), Some(1), "{refused}");
    assert_eq!(refused[0]["code"], "HTTP-TOO-BIG");
    let reason = refused[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("over the provider's limit of 20971520 bytes") && reason.contains("waits"),
        "{reason}"
    );
    // The same day again: recorded once, and the window still waits (nothing was skipped).
    let again = install.sync(None);
    assert_eq!(again[0]["error"], serde_json::Value::Null, "{again:?}");
    assert_eq!(
        install.json(&["refused", "--format", "json"]).as_array().map(Vec::len),
        Some(1)
    );
    let status = install.json(&["status", "--format", "json"]);
    assert!(
        !status.to_string().contains("\"window_end\""),
        "the window did not move: {status}"
    );
    // Read on without being held, an endless page has no end to take a digest of.
    assert_eq!(refused[0]["sha256"], serde_json::Value::Null, "{refused}");
}

/// A page over the limit that ends (within four times the limit) is read to its end, hashed
/// and not held: its refusal carries the page's SHA-256 and exact size, announced length or not.
#[test]
fn a_finite_page_over_the_limit_is_refused_with_its_digest() {
    const SIZE: usize = 25 << 20;
    let page: Vec<u8> = (0..SIZE).map(|i| b"abcdefghij"[i % 10]).collect();
    let expected = apsync::sha256::sha256_hex(&page);
    let page = axum::body::Bytes::from(page);
    let (announced, streamed) = (page.clone(), page);
    let router = axum::Router::new()
        .route("/announced", get(move || async move { announced.clone() }))
        .route(
            "/streamed",
            get(move || async move {
                let chunks: Vec<Result<_, std::convert::Infallible>> = streamed
                    .chunks(1 << 20)
                    .map(|c| Ok(axum::body::Bytes::copy_from_slice(c)))
                    .collect();
                axum::body::Body::from_stream(futures_util::stream::iter(chunks))
            }),
        );
    let api = Api::serve(router);
    let install = Install::new(None);
    install.import_sample_roster();
    for path in ["announced", "streamed"] {
        install.add_connector(
            path,
            "northstar",
            &format!(
                "[connector.http]\nurl = \"{}\"\nallow_plaintext = true\nretries = 0\n",
                api.url(&format!("/{path}"))
            ),
        );
    }
    let rows = install.sync(None);
    for r in &rows[..2] {
        assert_eq!(
            (r["refused"].as_i64(), &r["error"]),
            (Some(1), &serde_json::Value::Null),
            "{rows:?}"
        );
    }
    let refused = install.json(&["refused", "--format", "json"]);
    assert_eq!(refused.as_array().map(Vec::len), Some(2), "{refused}");
    for r in refused.as_array().unwrap() {
        assert_eq!(r["code"], "HTTP-TOO-BIG", "{r}");
        assert_eq!(r["sha256"].as_str(), Some(expected.as_str()), "{r}");
        assert_eq!(r["size"].as_u64(), Some(SIZE as u64), "{r}");
        let reason = r["reason"].as_str().unwrap();
        assert!(reason.contains(&format!("the page is {SIZE} bytes, over")), "{reason}");
    }
}

/// The provider's key never leaves the provider's server: not through a `next` link to another
/// host, not through a redirect to one. The second host (127.0.0.2) records what it is sent.
#[test]
fn the_api_key_never_goes_to_another_host_by_a_next_link_or_a_redirect() {
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let thief = {
        let seen = seen.clone();
        Api::serve_on(
            "127.0.0.2",
            axum::Router::new().fallback(move |h: HeaderMap| {
                let seen = seen.clone();
                async move {
                    let key = h.get("x-api-key").and_then(|v| v.to_str().ok()).unwrap_or("none");
                    seen.lock().unwrap().push(key.to_string());
                    (StatusCode::OK, r#"{"data": []}"#)
                }
            }),
        )
    };
    let page = std::fs::read(support::install::root().join("samples/returns/northstar/page-1.json")).unwrap();
    let mut linked: serde_json::Value = serde_json::from_slice(&page).unwrap();
    linked["links"] = serde_json::json!({ "next": thief.url("/steal?page=2") });
    let linked = serde_json::to_vec(&linked).unwrap();
    let elsewhere = thief.url("/steal");
    let api = Api::serve(
        axum::Router::new()
            .route("/linked", get(move || async move { (StatusCode::OK, linked.clone()) }))
            .route(
                "/moved",
                get(move || {
                    let to = elsewhere.clone();
                    async move { (StatusCode::FOUND, [("location", to)], Vec::<u8>::new()) }
                }),
            ),
    );
    let install = Install::new(None);
    install.import_sample_roster();
    std::fs::write(install.path("key"), "provider-key-1").unwrap();
    let table = |path: &str, paging: &str| {
        format!(
            "[connector.http]\nurl = \"{}\"\nallow_plaintext = true\nnext_path = \"links.next\"\npaging = \"{paging}\"\n\
             auth = \"api_key\"\napi_key_header = \"X-API-Key\"\napi_key_file = \"key\"\nretries = 0\n",
            api.url(path)
        )
    };
    install.add_connector("linked", "northstar", &table("/linked", "next_link"));
    install.add_connector("moved", "northstar", &table("/moved", "none"));
    let rows = install.sync(None);
    let error = |id: &str| {
        rows.iter()
            .find(|r| r["connector"] == id)
            .and_then(|r| r["error"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let linked = error("linked");
    assert!(
        linked.starts_with("HTTP-NEXT-ORIGIN:") && linked.contains("http://127.0.0.2:"),
        "{rows:?}"
    );
    let moved = error("moved");
    assert!(
        moved.starts_with("HTTP-REDIRECT:") && moved.contains("set the connector's url"),
        "{rows:?}"
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "the other host was sent: {:?}",
        seen.lock().unwrap()
    );
    // Nothing of the linked window was imported half: its first page waits with the rest.
    assert_eq!(install.marks().lines().count(), 1, "only the header");
}
