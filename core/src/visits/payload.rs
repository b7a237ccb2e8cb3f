//! The JSON an endpoint receives for a visit, built from its configured template.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use serde_json::{Map, Value};

use super::VisitDocument;

/// The payload's fields, by apsync's name; each endpoint may rename any of them (`fields` in its
/// `[endpoint.payload]`), including to a dotted path (`student.upn`) for a nested object.
pub const PAYLOAD_FIELDS: &[&str] = &[
    "upn",
    "admission_number",
    "occurred_at",
    "category",
    "title",
    "body",
    "staff",
    "type",
    "actions",
    "follow_up",
    "external_id",
];

/// The placeholders a title template may use.
pub const TITLE_PLACEHOLDERS: &[&str] = &["type", "staff", "date", "provider", "admission_number"];

/// Which pupil identifier(s) an endpoint is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PupilIdentifier {
    /// The unique pupil number.
    Upn,
    /// The school's admission number.
    AdmissionNumber,
}

/// How one endpoint wants a visit written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadTemplate {
    /// The identifiers sent (at least one).
    pub identifiers: Vec<PupilIdentifier>,
    /// The category the record is filed under.
    pub category: String,
    /// The title, with `{type}`, `{staff}`, `{date}`, `{provider}`, `{admission_number}`.
    pub title: String,
    /// Renamed fields: apsync's name to the endpoint's.
    pub fields: BTreeMap<String, String>,
}

impl Default for PayloadTemplate {
    fn default() -> Self {
        PayloadTemplate {
            identifiers: vec![PupilIdentifier::Upn, PupilIdentifier::AdmissionNumber],
            category: "Alternative provision visit".into(),
            title: "AP visit ({type}) by {staff} on {date}".into(),
            fields: BTreeMap::new(),
        }
    }
}

/// Why a title template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TitleError {
    /// A `{` with no `}`.
    #[error("a `{{` is not closed: write placeholders as {{staff}}")]
    Unclosed,
    /// A name that is not one of [`TITLE_PLACEHOLDERS`].
    #[error("`{{{name}}}` is not a placeholder: use {list}", name = .0, list = placeholders())]
    Unknown(String),
}

fn placeholders() -> String {
    TITLE_PLACEHOLDERS
        .iter()
        .map(|p| format!("{{{p}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks a title template: every `{name}` must be a known placeholder.
pub fn check_title(title: &str) -> Result<(), TitleError> {
    let mut rest = title;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            return Err(TitleError::Unclosed);
        };
        let name = &after[..end];
        if !TITLE_PLACEHOLDERS.contains(&name) {
            return Err(TitleError::Unknown(name.to_string()));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

impl PayloadTemplate {
    /// The JSON body for `visit`. Dates and the title's `{date}` are in the school's zone;
    /// `occurred_at` is RFC 3339 with the school's offset.
    pub fn render(&self, visit: &VisitDocument, tz: Tz) -> Value {
        let local = visit.occurred_at.with_timezone(&tz);
        let date = local.date_naive().to_string();
        let title = self
            .title
            .replace("{type}", visit.kind.label())
            .replace("{staff}", &visit.staff)
            .replace("{date}", &date)
            .replace("{provider}", visit.provider.as_deref().unwrap_or("unknown provider"))
            .replace("{admission_number}", &visit.admission_number);
        let mut values: Vec<(&str, Value)> = Vec::new();
        for id in &self.identifiers {
            match id {
                PupilIdentifier::Upn => values.push(("upn", Value::from(visit.upn.clone()))),
                PupilIdentifier::AdmissionNumber => {
                    values.push(("admission_number", Value::from(visit.admission_number.clone())))
                }
            }
        }
        values.extend([
            ("occurred_at", Value::from(local.to_rfc3339())),
            ("category", Value::from(self.category.clone())),
            ("title", Value::from(title)),
            ("body", Value::from(visit.body())),
            ("staff", Value::from(visit.staff.clone())),
            ("type", Value::from(visit.kind.as_str())),
            ("actions", visit.notes.actions.clone().map_or(Value::Null, Value::from)),
            (
                "follow_up",
                visit.follow_up.map_or(Value::Null, |d| Value::from(d.to_string())),
            ),
            ("external_id", Value::from(visit.external_id.clone())),
        ]);
        let mut out = Map::new();
        for (name, value) in values {
            let target = self.fields.get(name).map_or(name, String::as_str);
            insert_path(&mut out, target, value);
        }
        Value::Object(out)
    }
}

/// Inserts at a dotted path, creating objects on the way (a non-object in the way is replaced).
fn insert_path(map: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            map.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let entry = map.entry(head.to_string()).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}
