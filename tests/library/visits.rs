//! The visit intake: the HTTP API over real HTTP (and HTTPS), `apsync visit add` / `visits` /
//! `token` through the real binary, and the CSV drop folder, all through the same checks.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use apsync::config::{EndpointAuth, EndpointConfig};
use apsync::http::auth::{new_token, token_hash};
use apsync::http::{AppState, ConnectionLimits, HttpListener, serve, tls_config};
use apsync::outbox::push::PushSink;
use apsync::runtime::visits::{VisitIntake, dispatch_pushes};
use apsync::store::Store;
use apsync::visits::PayloadTemplate;
use serde_json::{Value, json};

use crate::support::endpoint::{Endpoint, Reply};
use crate::support::install::Install;
use crate::support::store::{Guard, postgres_store, sqlite_store, t, with_roster};

const TZ: chrono_tz::Tz = chrono_tz::Europe::London;

/// The API served in-process on 127.0.0.1:0, with one token.
struct Api {
    base: String,
    token: String,
    store: Store,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn api(store: Store, listener: HttpListener) -> Api {
    api_limited(
        store,
        listener,
        ConnectionLimits::from(&apsync::config::HttpServerConfig::default()),
    )
    .await
}

/// [`api`] with each connection held to `limits`.
async fn api_limited(store: Store, listener: HttpListener, limits: ConnectionLimits) -> Api {
    with_roster(&store).await;
    let token = new_token().unwrap();
    store
        .create_token("visit-form", &token_hash(&token), "intake", t("2026-03-01T08:00:00Z"))
        .await
        .unwrap();
    let scheme = if matches!(listener, HttpListener::Tls(..)) {
        "https"
    } else {
        "http"
    };
    let base = format!("{scheme}://{}", listener.local_addr().unwrap());
    let state = AppState {
        store: store.clone(),
        intake: tokio::sync::watch::channel(Arc::new(VisitIntake {
            tz: TZ,
            endpoints: vec!["cpoms".into()],
        }))
        .1,
        guards: Arc::default(),
        body_limit: 4096,
        config_loaded: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        clock_offset: chrono::Duration::zero(),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, state, limits, async move {
        let _ = stopped.await;
    }));
    Api {
        base,
        token,
        store,
        client: reqwest::Client::new(),
        _stop: stop,
    }
}

async fn plain(store: Store) -> Api {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    api(store, HttpListener::Plain(l)).await
}

fn visit() -> Value {
    json!({
        "pupil": "002101",
        "occurred_at": "2026-03-02T10:30:00Z",
        "staff": "Ms Patel",
        "type": "on_site",
        "pupil_views": "Likes the mechanics course.",
        "progress": "Good progress.",
        "follow_up": "2026-03-16"
    })
}

impl Api {
    async fn post(&self, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = self.client.post(format!("{}/api/v1/visits", self.base)).json(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }

    async fn post_raw(&self, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        let resp = self
            .client
            .post(format!("{}/api/v1/visits", self.base))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }
}

fn field_error(answer: &(u16, Value), status: u16, field: &str, words: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"]["field"], field, "{}", answer.1);
    let message = answer.1["error"]["problems"].to_string();
    assert!(message.contains(words), "{message}");
}

async fn intake_story(store: Store) {
    let api = plain(store).await;

    // Tokens: missing, wrong; the right one records the visit.
    let (status, body) = api.post(None, &visit()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("missing_token")));
    let (status, body) = api.post(Some("aps_wrong"), &visit()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_token")));
    let (status, created) = api.post(Some(&api.token), &visit()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["admission_number"], "002101");
    assert_eq!(created["provider"], "skills-hub");
    assert_eq!(created["state"], "pending");
    assert_eq!(created["source"], "api:visit-form");
    assert_eq!(created["deliveries"][0]["endpoint"], "cpoms");
    // The id is the random external id, not a number to count through.
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["id"], created["external_id"]);
    assert!(id.starts_with("visit-") && id.len() == 6 + 32, "{id}");
    let (status, fetched) = api.get(&format!("/api/v1/visits/{id}")).await;
    assert_eq!((status, &fetched), (200, &created));
    for guess in ["1", "99999"] {
        let (status, body) = api.get(&format!("/api/v1/visits/{guess}")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    }

    // Bodies: too large, not JSON, not declared JSON, unknown field.
    let big = json!({ "progress": "x".repeat(5000) });
    let (status, body) = api.post(Some(&api.token), &big).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("too_large")));
    let (status, body) = api.post_raw("application/json", b"{\"pupil\": ".to_vec()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("malformed_json")));
    let (status, _) = api.post_raw("text/plain", b"{}".to_vec()).await;
    assert_eq!(status, 415);
    let mut typo = visit();
    typo["welfair"] = json!("fine");
    field_error(
        &api.post(Some(&api.token), &typo).await,
        422,
        "welfair",
        "unknown field",
    );

    // The visit's own checks, each naming its field.
    let mut v = visit();
    v["pupil"] = json!("999999");
    field_error(&api.post(Some(&api.token), &v).await, 422, "pupil", "no pupil has");
    v["pupil"] = json!("2115");
    let unplaced = api.post(Some(&api.token), &v).await;
    field_error(&unplaced, 422, "pupil", "no placement");
    // The caller sent an admission number: the UPN it resolves to is not theirs to learn.
    let d = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let apsync::store::PupilLookup::NotPlaced { upn } = api.store.pupil_for_visit("2115", d).await.unwrap() else {
        panic!("pupil 2115 is on the roll, not placed");
    };
    assert!(!unplaced.1.to_string().contains(&upn), "{}", unplaced.1);

    // Control characters: refused on one line (400, naming the field), cleaned from notes.
    let mut v = visit();
    v["staff"] = json!("Ms Patel\r\nlevel=ERROR visit deleted");
    let answer = api.post(Some(&api.token), &v).await;
    field_error(&answer, 400, "staff", "control character");
    assert_eq!(answer.1["error"]["code"], "control_characters");
    let mut v = visit();
    v["pupil"] = json!("002101\u{0}");
    field_error(&api.post(Some(&api.token), &v).await, 400, "pupil", "control character");
    let mut v = visit();
    v["occurred_at"] = json!("2026-03-02T11:00:00Z");
    v["progress"] = json!("Settled.\r\nAsked about\u{0} college.\u{1b}");
    let (status, cleaned) = api.post(Some(&api.token), &v).await;
    assert_eq!(status, 201, "{cleaned}");
    assert_eq!(cleaned["progress"], "Settled.\nAsked about college.");
    let mut v = visit();
    v["occurred_at"] = json!("2999-01-01T10:00:00Z");
    field_error(&api.post(Some(&api.token), &v).await, 422, "occurred_at", "future");
    let mut v = visit();
    v["progress"] = json!("  ");
    field_error(
        &api.post(Some(&api.token), &v).await,
        422,
        "progress",
        "notes are empty",
    );

    // Revoked: refused at once.
    api.store
        .revoke_token("visit-form", t("2026-03-02T12:00:00Z"))
        .await
        .unwrap();
    let (status, body) = api.post(Some(&api.token), &visit()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_token")));
    assert_eq!(
        api.store.visits(None, 10).await.unwrap().len(),
        2,
        "only the good visits"
    );

    // Failed authentications are counted per address: three so far (missing, wrong, revoked);
    // at ten in a minute the address is refused, even with a good token, until the minute is out.
    for _ in 3..10 {
        assert_eq!(api.post(Some("aps_guess"), &visit()).await.0, 401);
    }
    let fresh = new_token().unwrap();
    api.store
        .create_token("second", &token_hash(&fresh), "intake", t("2026-03-02T12:00:00Z"))
        .await
        .unwrap();
    let resp = api
        .client
        .post(format!("{}/api/v1/visits", api.base))
        .bearer_auth(&fresh)
        .json(&visit())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    let wait: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");

    // The description is public.
    let resp = reqwest::get(format!("{}/api/v1/openapi.json", api.base)).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert!(doc["paths"]["/api/v1/visits/{id}"].is_object());
}

#[tokio::test]
async fn the_http_intake_on_sqlite() {
    let (store, _g) = sqlite_store().await;
    intake_story(store).await;
}

#[tokio::test]
async fn the_http_intake_on_postgres() {
    let (store, _g) = postgres_store().await;
    intake_story(store).await;
}

/// Done means: a visit posted with a token reaches the endpoint once, with its key, through
/// failures.
#[tokio::test]
async fn a_posted_visit_reaches_the_endpoint_once_through_failures() {
    let (store, _g): (Store, Guard) = sqlite_store().await;
    let api = plain(store).await;
    let (status, created) = api.post(Some(&api.token), &visit()).await;
    assert_eq!(status, 201);
    let ep = Endpoint::start(vec![Reply::Status(503, "busy", vec![]), Reply::StoreThenHang]).await;
    let config = EndpointConfig {
        id: "cpoms".into(),
        url: ep.url().parse().unwrap(),
        health_url: None,
        timeout: Duration::from_millis(700),
        auth: EndpointAuth::None,
        payload: PayloadTemplate::default(),
        remote_id_field: "id".into(),
    };
    let sink = [PushSink::new(&config, TZ, None, Path::new(".")).unwrap()];
    let now = chrono::Utc::now();
    for hour in 0..3 {
        dispatch_pushes(&api.store, &sink, now + chrono::Duration::hours(hour))
            .await
            .unwrap();
    }
    let key = created["external_id"].as_str().unwrap();
    assert_eq!(ep.stored().len(), 1);
    assert!(ep.requests().iter().all(|r| r.idempotency_key.as_deref() == Some(key)));
    assert_eq!(ep.requests().len(), 3);
    let (_, fetched) = api
        .get(&format!("/api/v1/visits/{}", created["id"].as_str().unwrap()))
        .await;
    assert_eq!(fetched["state"], "delivered");
}

#[tokio::test]
async fn the_intake_speaks_tls_when_given_a_certificate() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let tls = tls_config(cert.cert.pem().as_bytes(), cert.signing_key.serialize_pem().as_bytes()).unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let (store, _g) = sqlite_store().await;
    let _api = api(store, HttpListener::Tls(l, tls.into())).await;
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let resp = client
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "ok\n");
    assert!(
        reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await.is_err(),
        "no plain HTTP"
    );
}

/// In TLS mode too, a client that finishes the handshake and never its request headers is cut
/// off at the header deadline (the handshake has its own).
#[tokio::test]
async fn over_tls_unfinished_headers_are_cut_off_after_the_handshake() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let tls = tls_config(cert.cert.pem().as_bytes(), cert.signing_key.serialize_pem().as_bytes()).unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (store, _g) = sqlite_store().await;
    let limits = ConnectionLimits {
        header_timeout: Duration::from_secs(1),
        ..ConnectionLimits::from(&apsync::config::HttpServerConfig::default())
    };
    let _api = api_limited(store, HttpListener::Tls(l, tls.into()), limits).await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut stream = tokio_rustls::TlsConnector::from(Arc::new(client))
        .connect(name, tcp)
        .await
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    stream.flush().await.unwrap();
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer)).await;
    assert!(closed.is_ok(), "the unfinished request was left open");
    assert!(
        !String::from_utf8_lossy(&answer).contains("ok"),
        "it was never answered"
    );
}

/// The example configuration plus an endpoint (the scripted one) and a CSV drop folder.
fn install_with(ep: &Endpoint) -> Install {
    let install = Install::new(None);
    install.import_sample_roster();
    let drop = install.path("visit-forms");
    std::fs::create_dir(&drop).unwrap();
    let mut text = std::fs::read_to_string(install.config()).unwrap();
    text.push_str(&format!(
        "\n[visits.csv_folder]\npath = \"{}\"\nprocessed = \"done\"\nrejected = \"refused\"\nmin_age_seconds = 0\n\n\
         [[endpoint]]\nid = \"cpoms\"\nurl = \"{}\"\nallow_plaintext_loopback = true\n[endpoint.auth]\nkind = \"none\"\n",
        drop.display(),
        ep.url()
    ));
    std::fs::write(install.config(), text).unwrap();
    install
}

const NOW: &str = "--now=2026-03-10T12:00:00Z";

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_records_lists_and_pushes_visits() {
    let ep = Endpoint::start(vec![Reply::Status(503, "busy", vec![])]).await;
    let install = install_with(&ep);
    let run = |args: Vec<&str>| {
        let install = &install;
        let args: Vec<String> = args.into_iter().map(String::from).collect();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            tokio::task::block_in_place(|| install.run(&args))
        }
    };
    let added = run(vec![
        NOW,
        "visit",
        "add",
        "--pupil",
        "2102",
        "--at",
        "2026-03-09 14:00",
        "--staff",
        "Mr Jones",
        "--type",
        "phone",
        "--welfare",
        "Happy and settled.",
        "--format",
        "json",
    ])
    .await;
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let row: Value = serde_json::from_slice(&added.stdout).unwrap();
    assert_eq!(
        (row[0]["state"].as_str(), row[0]["deliveries"].as_str()),
        (Some("pending"), Some("cpoms: pending"))
    );

    // The same checks as the API: exit 1, naming the field.
    let bad = run(vec![
        NOW,
        "visit",
        "add",
        "--pupil",
        "2102",
        "--at",
        "2026-03-11 09:00",
        "--staff",
        "Mr Jones",
        "--type",
        "phone",
    ])
    .await;
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("occurred_at") && err.contains("future") && err.contains("notes are empty"),
        "{err}"
    );

    // The CSV folder: a good file is recorded whole, a bad one refused whole with its reasons.
    let drop = install.path("visit-forms");
    let good = "pupil,occurred_at,staff,type,progress\n002103,2026-03-05 10:00,Ms Patel,on site,Good week.\n\
                2104,2026-03-05 11:00,Ms Patel,video,Settling in.\n";
    std::fs::write(drop.join("good.csv"), good).unwrap();
    std::fs::write(
        drop.join("bad.csv"),
        "pupil,occurred_at,staff,type,progress\n2115,2026-03-05 10:00,Ms Patel,on site,Fine.\n2105,2026-03-05,Ms P,phone,\n",
    )
    .unwrap();

    // sync: the first push fails (503), the folder is read.
    let synced = run(vec![NOW, "sync"]).await;
    assert!(synced.status.success(), "{}", String::from_utf8_lossy(&synced.stderr));
    let said = String::from_utf8_lossy(&synced.stderr);
    assert!(
        said.contains("good.csv: 2 recorded") && said.contains("bad.csv refused"),
        "{said}"
    );
    assert!(said.contains("pushes: 2 delivered, 1 to retry"), "{said}");
    assert!(drop.join("done/good.csv").exists() && drop.join("refused/bad.csv").exists());
    let reasons = std::fs::read_to_string(drop.join("refused/bad.csv.errors.txt")).unwrap();
    assert!(
        reasons.contains("line 2: pupil") && reasons.contains("line 3: occurred_at"),
        "{reasons}"
    );
    assert!(reasons.contains("line 3: progress"), "{reasons}");

    // The same file again: nothing new.
    std::fs::write(drop.join("good.csv"), good).unwrap();
    let later = run(vec!["--now=2026-03-10T14:00:00Z", "sync"]).await;
    let said = String::from_utf8_lossy(&later.stderr);
    assert!(
        said.contains("good.csv: 0 recorded, 2 seen before") && said.contains("pushes: 1 delivered"),
        "{said}"
    );

    let listed = run(vec!["visits", "--format", "json"]).await;
    let visits: Vec<Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(visits.len(), 3);
    assert!(visits.iter().all(|v| v["state"] == "delivered"), "{visits:?}");
    assert_eq!(ep.stored().len(), 3, "each visit stored once");
    let sources: Vec<&str> = visits.iter().map(|v| v["source"].as_str().unwrap()).collect();
    assert_eq!(sources, ["cli", "csv:good.csv", "csv:good.csv"]);
    let one = run(vec!["visits", "--pupil", "002102", "--format", "csv"]).await;
    assert_eq!(String::from_utf8_lossy(&one.stdout).lines().count(), 2);

    // Tokens: shown once, listed by name, revoked.
    let made = run(vec!["token", "create", "visit-form"]).await;
    let token = String::from_utf8(made.stdout).unwrap();
    assert!(token.trim().starts_with("aps_") && token.trim().len() == 68, "{token}");
    let again = run(vec!["token", "create", "visit-form"]).await;
    assert_eq!(again.status.code(), Some(1));
    assert!(run(vec!["token", "revoke", "visit-form"]).await.status.success());
    let list = run(vec!["token", "list", "--format", "csv"]).await;
    let list = String::from_utf8(list.stdout).unwrap();
    assert!(
        list.starts_with("name,scopes,created_at,revoked_at,last_used_at\nvisit-form,intake,"),
        "{list}"
    );
    assert!(!list.contains("aps_"), "the token itself is never shown again");
    assert_eq!(run(vec!["token", "revoke", "nobody"]).await.status.code(), Some(1));
}

/// The real binary: `apsync serve` (the alias of `run`) takes a visit posted with a token made by `apsync token
/// create`, pushes it to the endpoint once, and stops cleanly on SIGTERM.
#[tokio::test(flavor = "multi_thread")]
async fn apsync_serve_takes_a_posted_visit_to_the_endpoint() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let ep = Endpoint::start(vec![Reply::Status(503, "busy", vec![])]).await;
    let install = install_with(&ep);
    let mut text = std::fs::read_to_string(install.config()).unwrap();
    text = text.replace("listen = \"127.0.0.1:8087\"", "listen = \"127.0.0.1:0\"");
    text = text.replace("push_interval_seconds = 5", "push_interval_seconds = 1");
    std::fs::write(install.config(), text).unwrap();
    let token = tokio::task::block_in_place(|| install.ok(&["token", "create", "visit-form"]));
    let mut child = Command::new(env!("CARGO_BIN_EXE_apsync"))
        .arg("--config")
        .arg(install.config())
        .arg("serve")
        .env_remove("APSYNC_CONFIG")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    while !first.contains("intake at ") {
        first.clear();
        let read = tokio::task::block_in_place(|| stderr.read_line(&mut first)).unwrap();
        assert!(read > 0, "apsync run ended before listening");
    }
    let base = first
        .split("intake at ")
        .nth(1)
        .and_then(|r| r.split("/api/v1/visits").next())
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    // Keep reading the log, so the daemon never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v1/visits"))
        .bearer_auth(token.trim())
        .json(&visit())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let created: Value = resp.json().await.unwrap();
    // The push loop runs every second: the 503 is retried after the backoff (at most 10 s).
    for _ in 0..300 {
        if !ep.stored().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ep.stored().len(), 1, "{:?}", ep.requests());
    assert!(
        ep.requests()
            .iter()
            .all(|r| r.idempotency_key.as_deref() == created["external_id"].as_str())
    );
    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::block_in_place(|| child.wait()).unwrap();
    assert!(status.success(), "a clean stop on SIGTERM: {status:?}");
}

#[test]
fn the_demo_pushes_its_visits_to_a_local_endpoint_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_apsync"))
        .args(["demo", "--dir"])
        .arg(dir.path())
        .env_remove("APSYNC_CONFIG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("pushed 2 visits to http://127.0.0.1:"), "{text}");
    assert_eq!(std::fs::read_dir(dir.path().join("endpoint")).unwrap().count(), 2);
}
