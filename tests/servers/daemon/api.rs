//! The daemon's HTTP API under load and with tokens of different scopes: a flood of unfinished
//! requests is held to the limit while `/readyz` answers, and a reloaded endpoint gets every visit.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::endpoint::Endpoint;
use crate::support::install::Install;

use super::{Daemon, NOW, visit, wait_for};

/// An install whose only change is the HTTP API on a free port with `[http]` lines added.
fn install_with_http(extra: &str) -> Install {
    let install = Install::new(None);
    let text = std::fs::read_to_string(install.config()).unwrap().replace(
        "listen = \"127.0.0.1:8087\"",
        &format!("listen = \"127.0.0.1:0\"\n{extra}"),
    );
    std::fs::write(install.config(), text).unwrap();
    install.ok(&["check"]);
    install
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_unfinished_requests_is_held_to_the_limit_and_readyz_still_answers() {
    use std::io::{Read, Write};
    let install = install_with_http("max_connections = 8\nheader_timeout_seconds = 2");
    let daemon = tokio::task::block_in_place(|| Daemon::start(&install, 0, NOW));
    let addr = daemon.base.trim_start_matches("http://").to_string();
    // Four times the limit, each with headers begun and never finished (a slow-loris client).
    let mut flood: Vec<std::net::TcpStream> = (0..32)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            s.write_all(b"GET /readyz HTTP/1.1\r\nHost: apsync\r\nX-Slow: ")
                .unwrap();
            s
        })
        .collect();
    // Queued behind the flood, it is answered once the unfinished ones are cut off.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let ready = client.get(format!("{}/readyz", daemon.base)).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    // Every flood connection was closed by the server (end of stream or reset), not left open.
    for s in &mut flood {
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut answer = Vec::new();
        match s.read_to_end(&mut answer) {
            Ok(_) => {}
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ),
                "a flood connection was left open: {e}"
            ),
        }
    }
    let log = daemon.log();
    assert!(
        log.contains("has 8 connections open, its limit ([http] max_connections)"),
        "the limit is logged: {log}"
    );
    assert_eq!(
        log.matches("its limit ([http] max_connections)").count(),
        1,
        "logged once, not per connection: {log}"
    );
    let (status, _) = tokio::task::block_in_place(|| daemon.stop());
    assert!(status.success());
}

/// Posts `body` with `token` and, when given, an Idempotency-Key; the status, the
/// `Idempotent-Replayed` header and the answer.
async fn post_as(base: &str, token: &str, key: Option<&str>, body: &Value) -> (u16, bool, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/api/v1/visits"))
        .bearer_auth(token)
        .json(body);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    let resp = req.send().await.unwrap();
    let replayed = resp.headers().get("idempotent-replayed").is_some();
    (
        resp.status().as_u16(),
        replayed,
        resp.json().await.unwrap_or(Value::Null),
    )
}

async fn get_as(base: &str, token: &str, id: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/api/v1/visits/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_keep_to_their_scope_a_repeat_records_nothing_and_a_reloaded_endpoint_gets_every_visit() {
    let install = install_with_http("");
    let text = std::fs::read_to_string(install.config())
        .unwrap()
        .replace("push_interval_seconds = 5", "push_interval_seconds = 1");
    std::fs::write(install.config(), text).unwrap();
    install.import_sample_roster();
    let form = install.ok(&["token", "create", "form"]).trim().to_string();
    let other = install.ok(&["token", "create", "other-form"]).trim().to_string();
    let viewer = install
        .ok(&["token", "create", "viewer", "--scope", "read"])
        .trim()
        .to_string();
    let listed = install.json(&["token", "list", "--format", "json"]);
    let scopes: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["scopes"].as_str().unwrap())
        .collect();
    assert_eq!(scopes, ["intake", "intake", "read"], "intake is the default: {listed}");
    let daemon = tokio::task::block_in_place(|| Daemon::start(&install, 0, NOW));
    let base = daemon.base.clone();

    // A retry with the same key gets the first visit back and records nothing; the same key
    // for another visit is refused.
    let (status, replayed, first) = post_as(&base, &form, Some("k-1"), &visit(1)).await;
    assert_eq!((status, replayed), (201, false), "{first}");
    let (status, replayed, again) = post_as(&base, &form, Some("k-1"), &visit(1)).await;
    assert_eq!((status, replayed, &again["id"]), (200, true, &first["id"]), "{again}");
    let (status, _, reused) = post_as(&base, &form, Some("k-1"), &visit(2)).await;
    assert_eq!(
        (status, reused["error"]["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    // Another token's key is its own, and the client's own reference works like a key.
    let (status, _, theirs) = post_as(&base, &other, Some("k-1"), &visit(1)).await;
    assert_eq!(status, 201, "{theirs}");
    let mut with_ref = visit(3);
    with_ref["client_ref"] = json!("form-record-42");
    let (status, _, referenced) = post_as(&base, &form, None, &with_ref).await;
    assert_eq!(status, 201, "{referenced}");
    let (status, replayed, repeat) = post_as(&base, &form, None, &with_ref).await;
    assert_eq!((status, replayed, &repeat["id"]), (200, true, &referenced["id"]));
    let visits = install.json(&["visits", "--format", "json"]);
    assert_eq!(visits.as_array().map(Vec::len), Some(3), "{visits}");

    // Reads: a token reads what it posted; another intake token finds nothing; read reads all.
    let id = first["id"].as_str().unwrap();
    assert_eq!(get_as(&base, &form, id).await, 200);
    assert_eq!(get_as(&base, &other, id).await, 404);
    assert_eq!(get_as(&base, &viewer, id).await, 200);
    let (status, _, refused) = post_as(&base, &viewer, None, &visit(4)).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("insufficient_scope"))
    );
    assert_eq!(first["state"], "not pushed", "no endpoint yet");

    // An endpoint added and reloaded gets the API's visits and the CLI's alike.
    let ep = Endpoint::start(vec![]).await;
    let mut text = std::fs::read_to_string(install.config()).unwrap();
    text.push_str(&format!(
        "\n[[endpoint]]\nid = \"cpoms\"\nurl = \"{}\"\nallow_plaintext_loopback = true\n[endpoint.auth]\nkind = \"none\"\n",
        ep.url()
    ));
    std::fs::write(install.config(), text).unwrap();
    daemon.signal("HUP");
    tokio::task::block_in_place(|| {
        wait_for(Duration::from_secs(60), "the reload", || {
            daemon.log().contains("SIGHUP: configuration reloaded")
        })
    });
    let (status, _, after) = post_as(&base, &form, None, &visit(5)).await;
    assert_eq!(
        (status, after["deliveries"][0]["endpoint"].as_str()),
        (201, Some("cpoms")),
        "{after}"
    );
    let added = install.run(&[
        "--now",
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
        "Settled.",
    ]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    tokio::task::block_in_place(|| {
        wait_for(Duration::from_secs(60), "both visits at the endpoint", || {
            ep.stored().len() == 2
        })
    });
    let stored: Vec<String> = ep.stored().into_iter().map(|(key, _)| key).collect();
    assert!(
        stored.contains(&after["external_id"].as_str().unwrap().to_string()),
        "{stored:?}"
    );
    let (status, _) = tokio::task::block_in_place(|| daemon.stop());
    assert!(status.success());
}
