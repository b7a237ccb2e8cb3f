//! A Wonde double in the test process (axum on 127.0.0.1:0) following the documented shapes
//! (`docs/mis.md`): one school, its students paged through `meta.pagination.next`, its
//! attendance codes, and its session attendance, read and written. It checks the bearer token,
//! answers the scripted failures real ones give (401, 403, 429 with Retry-After, 500, 422 with
//! validation errors), hands out writeback ids, keeps every mark written and serves it back.
//!
//! Routes, under `/v1.0/schools/{school}`: `GET` (the school), `GET /students?page=N`,
//! `GET /attendance-codes`, `GET /attendance/session`, `POST /attendance/session`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

/// The school id the double serves.
pub const SCHOOL: &str = "A1930499544";
/// The token it accepts.
pub const TOKEN: &str = "wonde-test-token";

/// How one request is answered instead of normally.
#[derive(Debug, Clone)]
pub enum Fail {
    /// This status with an error body.
    Status(u16),
    /// 429 with `Retry-After: SECONDS`.
    RateLimited(u32),
    /// 422 with these validation errors (`{"errors": ...}`).
    Invalid(Value),
}

/// One session mark the double holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Held {
    /// The student's id.
    pub student: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `AM` or `PM`.
    pub session: String,
    /// The attendance code's id.
    pub code_id: String,
}

#[derive(Default)]
struct Inner {
    students: Vec<Value>,
    per_page: usize,
    codes: Vec<(String, String)>,
    held: BTreeMap<(String, String, String), String>,
    script: VecDeque<Fail>,
    write_script: VecDeque<Fail>,
    writebacks: Vec<(String, Value)>,
    requests: Vec<String>,
}

/// The running double; it stops when the test's runtime ends.
#[derive(Clone)]
pub struct WondeDouble {
    /// `http://127.0.0.1:PORT/v1.0`: what `[mis] url` says.
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

/// The statutory codes, each with an id as a school's list gives them (`C-B`, `C-N`, ...; `/`
/// and `\` are `C-PRESENT-AM`, `C-PRESENT-PM`).
pub fn statutory_codes() -> Vec<(String, String)> {
    let codes = [
        "/", "\\", "L", "K", "V", "P", "W", "B", "D", "C1", "M", "J1", "S", "X", "C2", "C", "T", "R", "I", "E", "Q",
        "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7", "G", "N", "O", "U", "Z", "#",
    ];
    codes
        .iter()
        .map(|c| {
            let id = match *c {
                "/" => "C-PRESENT-AM".to_string(),
                "\\" => "C-PRESENT-PM".to_string(),
                "#" => "C-CLOSED".to_string(),
                c => format!("C-{c}"),
            };
            (id, c.to_string())
        })
        .collect()
}

/// A student record as Wonde lists it with `include=extended_details,education_details,year`.
pub fn student(id: &str, upn: &str, adno: &str, surname: &str, forename: &str, dob: &str, year: &str) -> Value {
    json!({
        "id": id,
        "upi": format!("upi-{id}"),
        "mis_id": id.trim_start_matches('A'),
        "forename": forename,
        "surname": surname,
        "legal_forename": forename,
        "legal_surname": surname,
        "date_of_birth": { "date": format!("{dob} 00:00:00.000000"), "timezone_type": 3, "timezone": "Europe/London" },
        "extended_details": { "data": { "upn": upn } },
        "education_details": { "data": { "admission_number": adno, "current_nc_year": year } },
    })
}

impl WondeDouble {
    /// Starts the double with these students (records as [`student`] makes them), `per_page`
    /// to a page, and the statutory code list.
    pub async fn start(roster: Vec<Value>, per_page: usize) -> WondeDouble {
        let inner = Arc::new(Mutex::new(Inner {
            students: roster,
            per_page: per_page.max(1),
            codes: statutory_codes(),
            ..Default::default()
        }));
        let app = Router::new()
            .route("/v1.0/schools/{school}", get(school))
            .route("/v1.0/schools/{school}/students", get(students))
            .route("/v1.0/schools/{school}/attendance-codes", get(codes))
            .route(
                "/v1.0/schools/{school}/attendance/session",
                get(read_sessions).post(write_sessions),
            )
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/v1.0", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        WondeDouble { base, inner }
    }

    /// Answers the next requests with these failures, in order.
    pub fn fail_next(&self, fails: Vec<Fail>) {
        self.inner.lock().unwrap().script.extend(fails);
    }

    /// Answers the next write-backs (POSTs only) with these failures, in order.
    pub fn fail_next_writes(&self, fails: Vec<Fail>) {
        self.inner.lock().unwrap().write_script.extend(fails);
    }

    /// Replaces the students listed.
    pub fn set_students(&self, students: Vec<Value>) {
        self.inner.lock().unwrap().students = students;
    }

    /// Holds a mark as if a person entered it in the MIS.
    pub fn hold(&self, student: &str, date: &str, session: &str, code_id: &str) {
        self.inner
            .lock()
            .unwrap()
            .held
            .insert((student.into(), date.into(), session.into()), code_id.into());
    }

    /// Every mark the MIS holds, sorted.
    pub fn held(&self) -> Vec<Held> {
        self.inner
            .lock()
            .unwrap()
            .held
            .iter()
            .map(|((student, date, session), code_id)| Held {
                student: student.clone(),
                date: date.clone(),
                session: session.clone(),
                code_id: code_id.clone(),
            })
            .collect()
    }

    /// Each accepted write-back: its id and the body posted.
    pub fn writebacks(&self) -> Vec<(String, Value)> {
        self.inner.lock().unwrap().writebacks.clone()
    }

    /// Every request's method, path and query, in order.
    pub fn requests(&self) -> Vec<String> {
        self.inner.lock().unwrap().requests.clone()
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

/// The scripted failure, the token check and the school check, before any normal answer.
fn gate(inner: &mut Inner, line: String, headers: &HeaderMap, school: &str) -> Option<Response> {
    let write = line.starts_with("POST ");
    inner.requests.push(line);
    let scripted = match inner.script.pop_front() {
        Some(f) => Some(f),
        None if write => inner.write_script.pop_front(),
        None => None,
    };
    if let Some(fail) = scripted {
        return Some(match fail {
            Fail::Status(s) => (
                StatusCode::from_u16(s).unwrap(),
                axum::Json(json!({ "error": format!("scripted {s}") })),
            )
                .into_response(),
            Fail::RateLimited(secs) => (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", secs.to_string())],
                axum::Json(json!({ "error": "Too Many Attempts." })),
            )
                .into_response(),
            Fail::Invalid(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                axum::Json(json!({ "errors": errors })),
            )
                .into_response(),
        });
    }
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {TOKEN}")) {
        return Some(
            (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({ "error": "Unauthenticated." })),
            )
                .into_response(),
        );
    }
    if school != SCHOOL {
        return Some(
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({ "error": "school not found" })),
            )
                .into_response(),
        );
    }
    None
}

async fn school(State(inner): Shared, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(r) = gate(&mut inner, format!("GET /schools/{id}"), &headers, &id) {
        return r;
    }
    axum::Json(json!({ "data": { "id": SCHOOL, "name": "Example Academy", "urn": 100001 } })).into_response()
}

async fn students(
    State(inner): Shared,
    Path(id): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut inner = inner.lock().unwrap();
    let line = format!("GET /schools/{id}/students?{}", query_text(&q));
    if let Some(r) = gate(&mut inner, line, &headers, &id) {
        return r;
    }
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let per = inner.per_page;
    let items: Vec<Value> = inner
        .students
        .iter()
        .skip((page - 1) * per)
        .take(per)
        .cloned()
        .collect();
    let more = inner.students.len() > page * per;
    let mut next_q = q.clone();
    next_q.insert("page".into(), (page + 1).to_string());
    let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1");
    let next = more.then(|| format!("http://{host}/v1.0/schools/{id}/students?{}", query_text(&next_q)));
    axum::Json(json!({
        "data": items,
        "meta": { "pagination": { "next": next, "previous": null, "more": more, "per_page": per, "current_page": page } }
    }))
    .into_response()
}

async fn codes(State(inner): Shared, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(r) = gate(&mut inner, format!("GET /schools/{id}/attendance-codes"), &headers, &id) {
        return r;
    }
    let data: Vec<Value> = inner
        .codes
        .iter()
        .map(|(cid, code)| json!({ "id": cid, "code": code, "description": code }))
        .collect();
    axum::Json(json!({ "data": data, "meta": { "pagination": { "next": null, "more": false } } })).into_response()
}

async fn read_sessions(
    State(inner): Shared,
    Path(id): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut inner = inner.lock().unwrap();
    let line = format!("GET /schools/{id}/attendance/session?{}", query_text(&q));
    if let Some(r) = gate(&mut inner, line, &headers, &id) {
        return r;
    }
    let after = q.get("session_date_after").cloned().unwrap_or_default();
    let before = q.get("session_date_before").cloned().unwrap_or_else(|| "9999".into());
    let data: Vec<Value> = inner
        .held
        .iter()
        .filter(|((_, date, _), _)| *date > after && *date < before)
        .map(|((student, date, session), code)| {
            json!({ "student": student, "date": { "date": format!("{date} 00:00:00.000000") }, "session": session, "attendance_code": code })
        })
        .collect();
    axum::Json(json!({ "data": data, "meta": { "pagination": { "next": null, "more": false } } })).into_response()
}

async fn write_sessions(State(inner): Shared, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(r) = gate(
        &mut inner,
        format!("POST /schools/{id}/attendance/session"),
        &headers,
        &id,
    ) {
        return r;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(marks) = body.get("attendance").and_then(Value::as_array) else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({ "errors": { "attendance": ["The attendance field is required."] } })),
        )
            .into_response();
    };
    let known: Vec<String> = inner.codes.iter().map(|(c, _)| c.clone()).collect();
    let mut errors = serde_json::Map::new();
    for (i, m) in marks.iter().enumerate() {
        let field = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        if !known.contains(&field("attendance_code_id")) {
            errors.insert(
                format!("attendance.{i}.attendance_code_id"),
                json!(["The selected attendance code id is invalid."]),
            );
        }
        if !matches!(field("session").as_str(), "AM" | "PM") {
            errors.insert(
                format!("attendance.{i}.session"),
                json!(["The selected session is invalid."]),
            );
        }
    }
    if !errors.is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({ "errors": errors })),
        )
            .into_response();
    }
    for m in marks {
        let field = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        inner.held.insert(
            (field("student_id"), field("date"), field("session")),
            field("attendance_code_id"),
        );
    }
    let writeback_id = format!("WB-{}", inner.writebacks.len() + 1);
    inner.writebacks.push((writeback_id.clone(), body));
    axum::Json(json!({ "writeback_id": writeback_id })).into_response()
}

fn query_text(q: &BTreeMap<String, String>) -> String {
    q.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}
