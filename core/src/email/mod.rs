//! Email: rendering alerts and the digest with templates (built in, overridable by IT from a
//! folder), batching what one evaluation says to each person into one message, and building the
//! MIME message that goes into the outbox. What leaves is decided by the rules' [`Detail`]s, which
//! never carry a UPN, a date of birth, an absence reason or safeguarding text.

mod chart;
pub mod digest;

use std::collections::BTreeMap;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::rules::{Change, Detail, RuleSettings};
use crate::settings::{Role, Roles};

pub use chart::{ChartSeries, weekly_chart};

/// The templates built in; a file of the same name in `[alerts] templates_folder` replaces one.
const BUILT_IN: [(&str, &str); 4] = [
    ("alert.txt", include_str!("templates/alert.txt")),
    ("alert.html", include_str!("templates/alert.html")),
    ("digest.txt", include_str!("templates/digest.txt")),
    ("digest.html", include_str!("templates/digest.html")),
];

/// Rendering or building a message failed.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// A template is broken or uses a name the context does not have.
    #[error(
        "email template {name}: {message}. Fix the file in [alerts] templates_folder or remove it to use the built-in one"
    )]
    Template {
        /// The template.
        name: String,
        /// What minijinja said.
        message: String,
    },
    /// An override could not be read.
    #[error("cannot read the email template {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// An address or the message could not be built.
    #[error("cannot build the email: {0}")]
    Build(String),
}

/// What rendering emails reads: the From address, each role's addresses, and what the rules read
/// (the school's name, the dashboard's address, the calendar for the digest).
#[derive(Debug, Clone, Copy)]
pub struct EmailSettings<'a> {
    /// `[email] from`.
    pub from: &'a str,
    /// `[roles]`.
    pub roles: &'a Roles,
    /// The school, the calendar, the thresholds and the providers.
    pub rules: RuleSettings<'a>,
}

/// One message to one person, ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// Stable across evaluations and restarts: the same key is the same message.
    pub idempotency_key: String,
    /// The subject, for listings.
    pub subject: String,
    /// The From address.
    pub from: String,
    /// The one recipient.
    pub to: String,
    /// The whole MIME message.
    pub message: String,
}

impl Email {
    /// The body the SMTP sink sends.
    pub fn payload(&self) -> serde_json::Value {
        json!({ "from": self.from, "to": [self.to], "message": self.message })
    }
}

/// The loaded templates.
#[derive(Debug, Clone)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// The built-in templates' names, each of which IT may replace with a file of that name.
    pub const NAMES: [&'static str; 4] = [BUILT_IN[0].0, BUILT_IN[1].0, BUILT_IN[2].0, BUILT_IN[3].0];

    /// The built-in templates, each replaced by what `override_for` gives for its name (the
    /// runtime reads `[alerts] templates_folder`; `None` keeps the built-in one). Every template
    /// is parsed here, once, so a broken one is reported before any email is rendered.
    pub fn new(
        mut override_for: impl FnMut(&str) -> Result<Option<String>, EmailError>,
    ) -> Result<Templates, EmailError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, text) in BUILT_IN {
            let source = override_for(name)?.unwrap_or_else(|| text.to_string());
            env.add_template_owned(name, source).map_err(|e| EmailError::Template {
                name: name.to_string(),
                message: e.to_string(),
            })?;
        }
        Ok(Templates { env })
    }

    /// The built-in templates alone.
    pub fn built_in() -> Result<Templates, EmailError> {
        Templates::new(|_| Ok(None))
    }

    /// Renders one template.
    pub fn render(&self, name: &str, ctx: impl Serialize) -> Result<String, EmailError> {
        let fail = |e: minijinja::Error| EmailError::Template {
            name: name.to_string(),
            message: format!("{e:#}"),
        };
        self.env
            .get_template(name)
            .map_err(fail)?
            .render(minijinja::value::Serde(&ctx))
            .map_err(fail)
    }
}

/// One item of an alert email.
#[derive(Debug, Clone, Serialize)]
struct Item {
    transition: &'static str,
    #[serde(flatten)]
    detail: Detail,
    resolution: String,
    /// Stable across evaluations: rule, key, transition and the occurrence's first sighting.
    #[serde(skip)]
    key: String,
}

fn roles_text(roles: &[Role]) -> String {
    let names: Vec<&str> = roles
        .iter()
        .map(|r| match r {
            Role::AttendanceAdministrator => "attendance administrator",
            Role::ApCoordinator => "AP coordinator",
            Role::Dsl => "designated safeguarding lead",
            Role::HeadTeacher => "head teacher",
            Role::It => "IT",
        })
        .collect();
    names.join(", ")
}

/// A short stable hash, for idempotency keys and Message-IDs (so no UPN ever leaves in a header).
pub fn short_hash(text: &str) -> String {
    crate::sha256::hex(&Sha256::digest(text.as_bytes())[..16])
}

/// The emails that say `changes`: one message per person, holding every item for them.
pub fn alert_emails(
    changes: &[Change],
    settings: &EmailSettings<'_>,
    templates: &Templates,
    now: DateTime<Utc>,
) -> Result<Vec<Email>, EmailError> {
    let mut per_address: BTreeMap<String, (Vec<Item>, Vec<Role>)> = BTreeMap::new();
    for change in changes {
        let (transition, detail, roles, key) = match change {
            Change::Raise(c) => (
                "raised",
                &c.detail,
                &c.roles,
                format!("{}:{}:raised:{}", c.rule.as_str(), c.key, now.to_rfc3339()),
            ),
            Change::Escalate(a, c) => (
                "escalated",
                &c.detail,
                &c.roles,
                format!(
                    "{}:{}:level{}:{}",
                    c.rule.as_str(),
                    c.key,
                    c.level,
                    a.first_seen.to_rfc3339()
                ),
            ),
            Change::Resolve(a) => (
                "resolved",
                &a.detail,
                &a.roles,
                format!("{}:{}:resolved:{}", a.rule.as_str(), a.key, a.first_seen.to_rfc3339()),
            ),
            Change::Update(..) | Change::Lapse(_) => continue,
        };
        let resolution = match change {
            Change::Resolve(a) => match a.rule {
                crate::rules::Rule::Absence => "a later return records the pupil present for this session.",
                crate::rules::Rule::MissingReturn => "the provider's return for this session has arrived.",
                crate::rules::Rule::StaleN => "the N has been replaced by a code with a reason.",
                crate::rules::Rule::VisitOverdue => "a visit to the pupil has been logged.",
                _ => "the condition no longer holds.",
            },
            _ => "",
        };
        for role in roles {
            for address in settings.roles.addresses(*role) {
                let entry = per_address.entry(address.clone()).or_default();
                if !entry.0.iter().any(|i| i.key == key) {
                    entry.0.push(Item {
                        transition,
                        detail: detail.clone(),
                        resolution: resolution.to_string(),
                        key: key.clone(),
                    });
                }
                if !entry.1.contains(role) {
                    entry.1.push(*role);
                }
            }
        }
    }
    let mut out = Vec::new();
    for (address, (items, roles)) in per_address {
        let first = items.first().map(subject_of).unwrap_or_default();
        let subject = match items.len() {
            1 => format!("[apsync] {first}"),
            n => format!("[apsync] {n} alerts: {first} and {} more", n - 1),
        };
        let mut keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
        keys.sort_unstable();
        let idempotency_key = format!("alerts:{}", short_hash(&format!("{address}\n{}", keys.join("\n"))));
        let ctx = json!({
            "subject": subject,
            "items": items,
            "school": settings.rules.school.name,
            "roles": roles_text(&roles),
            "dashboard_url": settings.rules.alerts.dashboard_url,
        });
        let text = templates.render("alert.txt", &ctx)?;
        let html = templates.render("alert.html", &ctx)?;
        out.push(build(
            settings.from,
            &address,
            &subject,
            &idempotency_key,
            text,
            html,
            None,
            now,
        )?);
    }
    Ok(out)
}

fn subject_of(item: &Item) -> String {
    match item.transition {
        "resolved" => format!("Resolved: {}", item.detail.title),
        _ => item.detail.title.clone(),
    }
}

/// Builds the message. The Message-ID derives from the idempotency key, so a
/// message sent again after a crash is recognisably the same message.
#[allow(clippy::too_many_arguments)]
pub fn build(
    from: &str,
    to: &str,
    subject: &str,
    idempotency_key: &str,
    text: String,
    html: String,
    inline_png: Option<(&str, Vec<u8>)>,
    now: DateTime<Utc>,
) -> Result<Email, EmailError> {
    let bad = |e: &dyn std::fmt::Display| EmailError::Build(e.to_string());
    let from_box: Mailbox = from.parse().map_err(|e| bad(&e))?;
    let to_box: Mailbox = to.parse().map_err(|e| bad(&e))?;
    let domain = from_box.email.domain().to_string();
    let html_part = match inline_png {
        None => MultiPart::alternative_plain_html(text, html),
        Some((cid, png)) => MultiPart::alternative().singlepart(SinglePart::plain(text)).multipart(
            MultiPart::related().singlepart(SinglePart::html(html)).singlepart(
                Attachment::new_inline(cid.to_string())
                    .body(png, ContentType::parse("image/png").map_err(|e| bad(&e))?),
            ),
        ),
    };
    let message = lettre::Message::builder()
        .from(from_box)
        .to(to_box)
        .subject(subject)
        .message_id(Some(format!("<{}@{domain}>", short_hash(idempotency_key))))
        .date(SystemTime::from(now))
        .multipart(html_part)
        .map_err(|e| bad(&e))?;
    let raw = String::from_utf8(message.formatted()).map_err(|e| bad(&e))?;
    Ok(Email {
        idempotency_key: idempotency_key.to_string(),
        subject: subject.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        message: raw,
    })
}
