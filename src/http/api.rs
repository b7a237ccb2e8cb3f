//! `POST /api/v1/visits` and `GET /api/v1/visits/{id}`.

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use crate::runtime::visits::IntakeError;
use crate::store::StoredVisit;
use crate::visits::{FIELDS, Problem, VisitInput};

/// A visit as the API shows it: the record, its overall state and each endpoint's delivery.
pub fn visit_json(v: &StoredVisit) -> Value {
    let mut out = json!({ "id": v.id, "state": v.state(), "source": v.source, "created_at": v.created_at });
    if let (Value::Object(out), Ok(Value::Object(doc))) = (&mut out, serde_json::to_value(&v.document)) {
        out.extend(doc);
        out.insert("deliveries".into(), json!(v.deliveries));
    }
    out
}

/// Records a visit sent as a JSON object with the fields of [`FIELDS`] (strings or null).
pub async fn post_visit(
    State(state): State<AppState>,
    Extension(Caller(caller)): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let json_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json_type {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not_json",
            "send the visit as JSON with `Content-Type: application/json`",
        ));
    }
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is over {} bytes ([http] body_limit_bytes)", state.body_limit),
        )
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > state.body_limit) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, state.body_limit)
        .await
        .map_err(|_| too_large())?;
    let input = visit_from_json(&bytes)?;
    let visit = state
        .intake
        .record(&state.store, &input, &format!("api:{caller}"), state.now())
        .await
        .map_err(|e| match e {
            IntakeError::Invalid(problems) => ApiError::invalid(problems),
            IntakeError::Store(e) => ApiError::store(e),
            IntakeError::Random(m) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", m),
        })?;
    tracing::info!(visit = visit.id, token = %caller, "visit recorded from the API");
    let location = format!("/api/v1/visits/{}", visit.id);
    Ok((StatusCode::CREATED, [(LOCATION, location)], Json(visit_json(&visit))).into_response())
}

/// A visit's fields from a request body (pure: bytes in): a JSON object of the fields of
/// [`FIELDS`], strings or null. Anything else is a 400 saying what is wrong.
pub fn visit_from_json(bytes: &[u8]) -> Result<VisitInput, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    let Value::Object(object) = value else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "the body must be a JSON object of the visit's fields",
        ));
    };
    visit_input(&object).map_err(ApiError::invalid)
}

/// The fields of a JSON object, each a string (or null); unknown ones are refused by name so
/// a misspelt note is never silently dropped.
fn visit_input(object: &Map<String, Value>) -> Result<VisitInput, Vec<Problem>> {
    let mut problems = Vec::new();
    for key in object.keys() {
        if !FIELDS.contains(&key.as_str()) {
            problems.push(Problem::new(
                key,
                format!("unknown field: the fields are {}", FIELDS.join(", ")),
            ));
        }
    }
    let mut get = |field: &str| match object.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.push(Problem::new(field, "must be a string"));
            None
        }
    };
    let input = VisitInput {
        pupil: get("pupil"),
        occurred_at: get("occurred_at"),
        staff: get("staff"),
        kind: get("type"),
        pupil_views: get("pupil_views"),
        progress: get("progress"),
        behaviour: get("behaviour"),
        welfare: get("welfare"),
        actions: get("actions"),
        follow_up: get("follow_up"),
    };
    if problems.is_empty() { Ok(input) } else { Err(problems) }
}

/// One visit with its delivery state.
pub async fn get_visit(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("there is no visit `{id}`"));
    let number: i64 = id.parse().map_err(|_| not_found())?;
    let visit = state
        .store
        .visit(number)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(not_found)?;
    Ok(Json(visit_json(&visit)))
}
