//! Wonde's API (`https://api.wonde.com/v1.0/`, or a school's regional domain): the shapes used
//! and their sources are in `docs/mis.md`. Requests carry the token as a bearer credential,
//! lists are followed through `meta.pagination.next` (on the same server only), and nothing is
//! retried here: the caller (a command, the outbox) decides.

use std::time::Duration;

use apsync_connector_core::web;
use chrono::{NaiveDate, Utc};
use serde_json::{Value, json};

use super::{MarkToWrite, MisCode, MisError, MisLink, MisMark, MisSchool, MisStudent};
use crate::config::{MisConfig, Secret};
use apsync_core::domain::Session;

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Pages followed at most for one list (a loop in `next` links stops here).
const MAX_PAGES: usize = 1000;
/// Records asked for per page.
const PER_PAGE: usize = 200;
/// What a student list includes: the UPN, admission number, date of birth and year group.
const STUDENT_INCLUDES: &str = "extended_details,education_details,year";

/// A client for one school at Wonde.
pub struct Wonde {
    base: url::Url,
    school: String,
    token: Secret,
    client: reqwest::Client,
}

impl Wonde {
    /// A client for the school `[mis]` names, with its token (read by the caller).
    pub fn new(config: &MisConfig, token: Secret) -> Result<Wonde, MisError> {
        let mut base = config.url.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let client = web::client_for(&base, TIMEOUT).map_err(|e| MisError::Connect {
            url: web::redact_url(base.as_str()),
            reason: e.to_string(),
        })?;
        Ok(Wonde {
            base,
            school: config.school_id.clone(),
            token,
            client,
        })
    }

    fn url(&self, path: &str) -> Result<url::Url, MisError> {
        self.base
            .join(&format!("schools/{}/{path}", self.school))
            .map_err(|e| MisError::Json {
                what: path.to_string(),
                reason: e.to_string(),
            })
    }

    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> Result<Value, MisError> {
        let resp = req
            .bearer_auth(self.token.expose())
            .send()
            .await
            .map_err(|e| MisError::Connect {
                url: web::redact_url(self.base.as_str()),
                reason: e.without_url().to_string(),
            })?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| crate::outbox::push::parse_retry_after(v, Utc::now()));
        let body = resp.bytes().await.map_err(|e| MisError::Connect {
            url: web::redact_url(self.base.as_str()),
            reason: e.without_url().to_string(),
        })?;
        match status {
            200..=299 => serde_json::from_slice(&body).map_err(|e| MisError::Json {
                what: what.to_string(),
                reason: e.to_string(),
            }),
            401 => Err(MisError::Unauthorised),
            403 => Err(MisError::Forbidden {
                school: self.school.clone(),
            }),
            404 => Err(MisError::NotFound { what: what.to_string() }),
            429 => Err(MisError::RateLimited { retry_after }),
            422 => Err(MisError::Validation(validation_errors(&body))),
            s => Err(MisError::Status {
                status: s,
                transient: s >= 500 || s == 408,
            }),
        }
    }

    /// Every record of a paged list, following `meta.pagination.next` on the same server.
    async fn list(&self, mut url: url::Url, what: &str) -> Result<Vec<Value>, MisError> {
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self.send(self.client.get(url.clone()), what).await?;
            match page.get("data") {
                Some(Value::Array(items)) => out.extend(items.iter().cloned()),
                _ => {
                    return Err(MisError::Json {
                        what: what.to_string(),
                        reason: "no `data` list".into(),
                    });
                }
            }
            let next = page.pointer("/meta/pagination/next").and_then(Value::as_str);
            let Some(next) = next.filter(|n| !n.is_empty()) else {
                return Ok(out);
            };
            let next = url::Url::parse(next).map_err(|e| MisError::Json {
                what: what.to_string(),
                reason: format!("`meta.pagination.next` is not a URL: {e}"),
            })?;
            if !web::same_origin(&next, &self.base) {
                return Err(MisError::Json {
                    what: what.to_string(),
                    reason: "`meta.pagination.next` points at another server; the token is never sent there".into(),
                });
            }
            url = next;
        }
        Err(MisError::Json {
            what: what.to_string(),
            reason: format!("more than {MAX_PAGES} pages"),
        })
    }
}

/// The validation errors of a 422 answer, as one line (the field names and messages; Wonde's
/// body is `{"errors": ...}` or the object itself).
fn validation_errors(body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => {
            let errors = v.get("errors").or_else(|| v.get("error")).unwrap_or(&v);
            let text = errors.to_string();
            text.chars().take(500).collect()
        }
        Err(_) => "no readable reason given".into(),
    }
}

/// A string field, or the `date` of Wonde's date objects (`{"date": "2011-04-02 00:00:00.000000"}`).
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => text(o.get("date")),
        _ => None,
    }
}

/// The first of several places a field may be in a student record.
fn first(s: &Value, pointers: &[&str]) -> Option<String> {
    pointers
        .iter()
        .find_map(|p| text(s.pointer(p)))
        .filter(|t| !t.trim().is_empty())
}

/// One student record, as [`MisStudent`].
pub fn student(s: &Value) -> MisStudent {
    MisStudent {
        id: text(s.get("id")).unwrap_or_default(),
        upn: first(
            s,
            &["/education_details/data/upn", "/extended_details/data/upn", "/upn"],
        ),
        admission_number: first(
            s,
            &[
                "/education_details/data/admission_number",
                "/extended_details/data/admission_number",
            ],
        ),
        legal_surname: first(s, &["/legal_surname", "/surname"]),
        legal_forename: first(s, &["/legal_forename", "/forename"]),
        preferred_forename: first(s, &["/forename"]),
        date_of_birth: first(s, &["/date_of_birth"]),
        year_group: first(
            s,
            &[
                "/education_details/data/current_nc_year",
                "/year/data/code",
                "/year/data/name",
            ],
        ),
    }
}

impl MisLink for Wonde {
    async fn school(&self) -> Result<MisSchool, MisError> {
        let url = self
            .base
            .join(&format!("schools/{}", self.school))
            .map_err(|e| MisError::Json {
                what: "the school".into(),
                reason: e.to_string(),
            })?;
        let v = self.send(self.client.get(url), "the school").await?;
        Ok(MisSchool {
            id: text(v.pointer("/data/id")).unwrap_or_default(),
            name: text(v.pointer("/data/name")).unwrap_or_default(),
        })
    }

    async fn students(&self) -> Result<Vec<MisStudent>, MisError> {
        let mut url = self.url("students")?;
        url.query_pairs_mut()
            .append_pair("include", STUDENT_INCLUDES)
            .append_pair("per_page", &PER_PAGE.to_string());
        Ok(self.list(url, "the students").await?.iter().map(student).collect())
    }

    async fn codes(&self) -> Result<Vec<MisCode>, MisError> {
        let items = self.list(self.url("attendance-codes")?, "the attendance codes").await?;
        Ok(items
            .iter()
            .filter_map(|c| {
                Some(MisCode {
                    id: text(c.get("id"))?,
                    code: text(c.get("code"))?,
                })
            })
            .collect())
    }

    async fn session_marks(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<MisMark>, MisError> {
        let mut url = self.url("attendance/session")?;
        url.query_pairs_mut()
            .append_pair("session_date_after", &from.pred_opt().unwrap_or(from).to_string())
            .append_pair("session_date_before", &to.succ_opt().unwrap_or(to).to_string())
            .append_pair("per_page", &PER_PAGE.to_string());
        let items = self.list(url, "the session attendance").await?;
        let mut out = Vec::new();
        for m in &items {
            let session = match text(m.get("session")).as_deref() {
                Some("AM") => Session::Am,
                Some("PM") => Session::Pm,
                _ => continue,
            };
            let date =
                text(m.get("date")).and_then(|d| NaiveDate::parse_from_str(d.get(..10).unwrap_or(&d), "%Y-%m-%d").ok());
            let (Some(student_id), Some(date), Some(code_id)) = (
                text(m.get("student")).or_else(|| text(m.get("student_id"))),
                date,
                text(m.get("attendance_code")).or_else(|| text(m.get("attendance_code_id"))),
            ) else {
                continue;
            };
            if date >= from && date <= to {
                out.push(MisMark {
                    student_id,
                    date,
                    session,
                    code_id,
                });
            }
        }
        Ok(out)
    }

    async fn write_sessions(&self, marks: &[MarkToWrite]) -> Result<String, MisError> {
        let attendance: Vec<Value> = marks
            .iter()
            .map(|m| {
                let mut o = json!({
                    "student_id": m.student_id,
                    "date": m.date.to_string(),
                    "session": m.session.as_str(),
                    "attendance_code_id": m.code_id,
                });
                if let (Some(c), Some(obj)) = (&m.comment, o.as_object_mut()) {
                    obj.insert("comment".into(), json!(c));
                }
                o
            })
            .collect();
        let body = json!({ "attendance": attendance });
        let v = self
            .send(
                self.client.post(self.url("attendance/session")?).json(&body),
                "the write-back",
            )
            .await?;
        text(v.get("writeback_id")).ok_or_else(|| MisError::Json {
            what: "the write-back".into(),
            reason: "no `writeback_id` in the answer".into(),
        })
    }
}
