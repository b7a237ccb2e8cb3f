//! Errors as the API answers them: a status and `{"error": {"code", "message", "field"?,
//! "problems"?}}`, naming the field when one is at fault.

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;
use crate::visits::Problem;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// The status.
    pub status: StatusCode,
    /// A stable code for programs: `missing_token`, `invalid_visit`, ...
    pub code: &'static str,
    /// What is wrong and what to do.
    pub message: String,
    /// Each field at fault.
    pub problems: Vec<Problem>,
    /// Seconds to send as `Retry-After`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with no field.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            problems: Vec::new(),
            retry_after: None,
        }
    }

    /// 401, asking for a bearer token.
    pub fn unauthorised(code: &'static str, message: &str) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 429 for an address that failed authentication too often; `left` is sent as `Retry-After`.
    pub fn too_many_failures(left: std::time::Duration) -> Self {
        ApiError {
            retry_after: Some(left.as_secs().max(1)),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_failures",
                "too many requests from this address failed authentication: wait, then try again with a valid token",
            )
        }
    }

    /// 422 naming every field at fault.
    pub fn invalid(problems: Vec<Problem>) -> Self {
        let message = match problems.as_slice() {
            [one] => format!("the visit was not recorded: {one}"),
            many => format!(
                "the visit was not recorded: {} problems, listed in `problems`",
                many.len()
            ),
        };
        ApiError {
            problems,
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_visit", message)
        }
    }

    /// The same error with another status.
    pub fn with_status(self, status: StatusCode) -> Self {
        ApiError { status, ..self }
    }

    /// 500 for a database failure (logged; the caller is told only to try again).
    pub fn store(e: StoreError) -> Self {
        tracing::error!("HTTP request failed on the database: {e}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "apsync could not reach its database; nothing was recorded: try again later",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(first) = self.problems.first() {
            error["field"] = json!(first.field);
            error["problems"] = json!(self.problems);
        }
        let mut resp = (self.status, Json(json!({ "error": error }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED
            && let Ok(v) = "Bearer realm=\"apsync\"".parse()
        {
            resp.headers_mut().insert(WWW_AUTHENTICATE, v);
        }
        if let Some(secs) = self.retry_after
            && let Ok(v) = secs.to_string().parse()
        {
            resp.headers_mut().insert(RETRY_AFTER, v);
        }
        resp
    }
}
