//! `POST /api/v1/visits` and `GET /api/v1/visits/{id}`.

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::AppState;
use super::auth::{Caller, Scope};
use super::error::ApiError;
use crate::intake::{IntakeError, Recorded};
use crate::sha256::sha256_hex;
use crate::store::{Origin, StoredVisit, VisitFilter};
use crate::visits::VisitNotes;
use crate::visits::{FIELDS, Problem, VisitInput, control_characters};

/// A visit as the API shows it: the record, its overall state and each endpoint's delivery.
pub fn visit_json(v: &StoredVisit) -> Value {
    // The id a client sees is the random external id: a number would let any token guess others.
    let mut out =
        json!({ "id": v.document.external_id, "state": v.state(), "source": v.source, "created_at": v.created_at });
    if let (Value::Object(out), Ok(Value::Object(doc))) = (&mut out, serde_json::to_value(&v.document)) {
        out.extend(doc);
        out.insert("deliveries".into(), json!(v.deliveries));
    }
    out
}

/// The longest `Idempotency-Key` or `client_ref` accepted.
const MAX_KEY_CHARS: usize = 200;

/// Records a visit sent as a JSON object with the fields of [`FIELDS`] (strings or null), and
/// optionally `client_ref`, the client's own id for it. A request repeating an
/// `Idempotency-Key` (or a `client_ref`) this token sent before gets the first visit back
/// (200, `Idempotent-Replayed: true`) and records nothing.
pub async fn post_visit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if !caller.may(Scope::Intake) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "this token may not record visits: create one with `apsync token create NAME --scope intake`",
        ));
    }
    let bytes = json_body(&state, &headers, body).await?;
    let BodyVisit { input, client_ref } = visit_from_json(&bytes)?;
    let header_key = match headers.get(IDEMPOTENCY_KEY) {
        None => None,
        Some(v) => Some(one_line_key(
            IDEMPOTENCY_KEY,
            v.to_str()
                .map_err(|_| bad_field(IDEMPOTENCY_KEY, "must be printable ASCII"))?
                .to_string(),
        )?),
    };
    // Keys are the token's own: two clients choosing the same key never meet.
    let source_ref = match (&header_key, &client_ref) {
        (Some(key), _) => Some(format!("api:{}:key:{key}", caller.id)),
        (None, Some(r)) => Some(format!("api:{}:ref:{r}", caller.id)),
        (None, None) => None,
    };
    let request = serde_json::to_vec(&input)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    let origin = Origin {
        source: format!("api:{}", caller.name),
        request_sha256: source_ref.as_ref().map(|_| sha256_hex(&request)),
        source_ref,
        token_id: Some(caller.id),
    };
    let intake = state.intake.borrow().clone();
    let recorded = intake
        .record(&state.store, &input, origin, state.now())
        .await
        .map_err(|e| match e {
            IntakeError::Invalid(problems) => ApiError::invalid(problems),
            IntakeError::Store(e) => ApiError::store(e),
            IntakeError::Random(m) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", m),
        })?;
    match recorded {
        Recorded::New(visit) => {
            tracing::info!(visit = visit.id, token = %caller.name, "visit recorded from the API");
            let location = format!("/api/v1/visits/{}", visit.document.external_id);
            Ok((StatusCode::CREATED, [(LOCATION, location)], Json(visit_json(&visit))).into_response())
        }
        Recorded::Repeat(visit) => {
            tracing::info!(visit = visit.id, token = %caller.name, "a repeated visit request got the first visit back");
            let location = format!("/api/v1/visits/{}", visit.document.external_id);
            Ok((
                StatusCode::OK,
                [
                    (LOCATION, location),
                    (HeaderName::from_static(REPLAYED), "true".to_string()),
                ],
                Json(visit_json(&visit)),
            )
                .into_response())
        }
        Recorded::KeyReused => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key (or client_ref) was sent before with a different visit: use a new key for a new visit",
        )),
    }
}

/// The header a client names a request with, so a retry of it records nothing new.
const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The header marking an answer given again for a repeated request.
const REPLAYED: &str = "idempotent-replayed";

/// A 400 naming `field`.
fn bad_field(field: &str, message: &str) -> ApiError {
    ApiError {
        code: "invalid_request",
        ..ApiError::invalid(vec![Problem::new(field, message)]).with_status(StatusCode::BAD_REQUEST)
    }
}

/// A key as sent: 1 to [`MAX_KEY_CHARS`] printable characters, no control characters.
fn one_line_key(field: &str, key: String) -> Result<String, ApiError> {
    let key = key.trim().to_string();
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS || key.chars().any(char::is_control) {
        return Err(bad_field(
            field,
            "must be 1 to 200 printable characters on one line (a UUID is a good key)",
        ));
    }
    Ok(key)
}

/// The body's bytes, within the body limit and sent as JSON.
async fn json_body(state: &AppState, headers: &HeaderMap, body: Body) -> Result<axum::body::Bytes, ApiError> {
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
    axum::body::to_bytes(body, state.body_limit)
        .await
        .map_err(|_| too_large())
}

/// A visit as a request body gives it: its fields, and the client's own reference if sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyVisit {
    /// The visit's fields, not yet checked against the clock or the roster.
    pub input: VisitInput,
    /// `client_ref`: the client's id for it, recognising a repeat.
    pub client_ref: Option<String>,
}

/// A visit from a request body (pure: bytes in): a JSON object of the fields of [`FIELDS`]
/// (strings or null) and `client_ref`. Anything else, or a control character in a one-line
/// field, is a 400 or 422 naming what is wrong.
pub fn visit_from_json(bytes: &[u8]) -> Result<BodyVisit, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    let Value::Object(mut object) = value else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "the body must be a JSON object of the visit's fields",
        ));
    };
    let client_ref = match object.remove("client_ref") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(one_line_key("client_ref", s)?),
        Some(_) => return Err(bad_field("client_ref", "must be a string")),
    };
    let input = visit_input(&object).map_err(ApiError::invalid)?;
    let control = control_characters(&input);
    if !control.is_empty() {
        return Err(ApiError {
            code: "control_characters",
            ..ApiError::invalid(control).with_status(StatusCode::BAD_REQUEST)
        });
    }
    Ok(BodyVisit { input, client_ref })
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
        notes: VisitNotes {
            pupil_views: get("pupil_views"),
            progress: get("progress"),
            behaviour: get("behaviour"),
            welfare: get("welfare"),
            actions: get("actions"),
        },
        follow_up: get("follow_up"),
    };
    if problems.is_empty() { Ok(input) } else { Err(problems) }
}

/// One visit with its delivery state, by the id the API gave it. A token reads only the visits
/// it posted, unless it has the read scope; any other id is "no such visit", whether or not it
/// exists.
pub async fn get_visit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("there is no visit `{id}` for this token"),
        )
    };
    let filter = VisitFilter {
        external_id: Some(id.as_str()),
        token_id: (!caller.may(Scope::Read)).then_some(caller.id),
        ..VisitFilter::default()
    };
    let visit = state
        .store
        .visit_where(filter)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(not_found)?;
    Ok(Json(visit_json(&visit)))
}
