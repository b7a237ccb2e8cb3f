//! A CPOMS-style endpoint in the test process (axum on 127.0.0.1:0), scripted to fail as real
//! ones do. It keeps every request (with its `Idempotency-Key` and `Authorization`) and, like a
//! real receiver honouring idempotency keys, stores each visit once: a key it has stored before is
//! answered 409.
//!
//! `POST /visits` takes the next scripted [`Reply`] (or [`Reply::Normal`] once the script is
//! used up). `POST /token` is an OAuth 2 token endpoint (client credentials) handing out
//! `token-1`, `token-2`, ...; `GET /health` answers 200 to `Authorization: Bearer
//! HEALTH_TOKEN` and 401 to anything else, as a real endpoint's authenticated health check does.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// How one request is answered.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Store the visit and answer 201 `{"id": "R-n"}`; 409 when its key was stored before.
    Normal,
    /// Answer with this status, body and headers, storing nothing.
    Status(u16, &'static str, Vec<(&'static str, String)>),
    /// Store the visit, then never answer: the response is lost on the way back.
    StoreThenHang,
    /// Never answer (nor store).
    Hang,
}

/// A request as the endpoint saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// Any `X-API-Key` header.
    pub api_key: Option<String>,
    /// The JSON body.
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Reply>,
    requests: Vec<Seen>,
    stored: Vec<(String, Value)>,
    tokens_issued: u32,
}

/// The running endpoint; it stops when the test's runtime ends.
#[derive(Clone)]
pub struct Endpoint {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

/// How long a hanging reply hangs (far past any client timeout in the tests), so the server
/// task still ends by itself.
const HANG: Duration = Duration::from_secs(60);

impl Endpoint {
    /// Starts an endpoint answering `script` in order.
    pub async fn start(script: Vec<Reply>) -> Endpoint {
        let inner = Arc::new(Mutex::new(Inner {
            script: script.into(),
            ..Default::default()
        }));
        let app = Router::new()
            .route("/visits", post(visits))
            .route("/token", post(token))
            .route("/health", axum::routing::get(health))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Endpoint { base, inner }
    }

    /// The visits URL.
    pub fn url(&self) -> String {
        format!("{}/visits", self.base)
    }

    /// Adds replies to the script.
    pub fn then(&self, replies: Vec<Reply>) {
        self.inner.lock().unwrap().script.extend(replies);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// Every visit stored, with its key.
    pub fn stored(&self) -> Vec<(String, Value)> {
        self.inner.lock().unwrap().stored.clone()
    }

    /// How many OAuth tokens were handed out.
    pub fn tokens_issued(&self) -> u32 {
        self.inner.lock().unwrap().tokens_issued
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

async fn visits(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: Bytes) -> Response {
    let key = header(&headers, "idempotency-key");
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let reply = {
        let mut inner = inner.lock().unwrap();
        inner.requests.push(Seen {
            idempotency_key: key.clone(),
            authorization: header(&headers, "authorization"),
            api_key: header(&headers, "x-api-key"),
            body: body.clone(),
        });
        let reply = inner.script.pop_front().unwrap_or(Reply::Normal);
        let known = inner.stored.iter().any(|(k, _)| Some(k) == key.as_ref());
        match reply {
            Reply::Normal if known => return (StatusCode::CONFLICT, "already have it").into_response(),
            Reply::Normal | Reply::StoreThenHang if !known => {
                inner.stored.push((key.clone().unwrap_or_default(), body));
            }
            _ => {}
        }
        (reply, inner.stored.len())
    };
    match reply {
        (Reply::Normal, n) => (StatusCode::CREATED, axum::Json(json!({ "id": format!("R-{n}") }))).into_response(),
        (Reply::Status(code, text, extra), _) => {
            let mut resp = (StatusCode::from_u16(code).unwrap(), text).into_response();
            for (name, value) in extra {
                resp.headers_mut().insert(name, value.parse().unwrap());
            }
            resp
        }
        (Reply::StoreThenHang | Reply::Hang, _) => {
            tokio::time::sleep(HANG).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}

/// The bearer token `GET /health` accepts.
pub const HEALTH_TOKEN: &str = "health-check-token";

async fn health(headers: HeaderMap) -> Response {
    if header(&headers, "authorization").as_deref() == Some(&format!("Bearer {HEALTH_TOKEN}")) {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::UNAUTHORIZED, "unauthorised").into_response()
    }
}

async fn token(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: String) -> Response {
    let basic = header(&headers, "authorization").unwrap_or_default();
    if !basic.starts_with("Basic ") || !body.contains("grant_type=client_credentials") {
        return (StatusCode::BAD_REQUEST, "invalid_client").into_response();
    }
    let n = {
        let mut inner = inner.lock().unwrap();
        inner.tokens_issued += 1;
        inner.tokens_issued
    };
    axum::Json(json!({ "access_token": format!("token-{n}"), "token_type": "bearer", "expires_in": 3600 }))
        .into_response()
}
