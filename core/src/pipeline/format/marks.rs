//! The provider's marks vocabulary: data for the normaliser, with the lookups it needs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The statutory register codes in force from 19 August 2024, as a mark table may name them.
///
/// Kept here as text so the format can be validated without the register's code type; the
/// normaliser turns the text into `crate::domain::codes::Code`.
pub const STATUTORY_CODES: &[&str] = &[
    "/", "\\", "L", "K", "V", "P", "W", "B", "D", "C1", "M", "J1", "S", "X", "C2", "C", "T", "R", "I", "E", "Q", "Y1",
    "Y2", "Y3", "Y4", "Y5", "Y6", "Y7", "G", "N", "O", "U", "Z", "#",
];

/// The provider's vocabulary of marks and reasons, matched ignoring case and spaces.
///
/// A mark is looked up in `map` first; failing that, with `codes = "dfe"`, a statutory code
/// stands for itself (`/` and `\` for present). Anything else goes to the review queue.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct Marks {
    /// `"dfe"` when the provider already writes statutory codes: every current code is taken
    /// as it is, and `/` and `\` mean present. Obsolete codes (such as `J`) still go to review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codes: Option<MarkCodes>,

    /// The provider's marks: each to a statutory code (`S = "I"`), to `"present"` (the
    /// provider's present code from its record: B, K or D), to `"reason"` (look the row's reason
    /// up in `reasons_for.<mark>` or else `reasons`), or to `"none"` (not a mark: as if blank).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub map: BTreeMap<String, String>,

    /// Reasons, for marks that defer to the reason: each to a code, `"present"` or `"none"`.
    /// The key `""` is a blank or missing reason (`"" = "N"`: absent, no reason yet).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reasons: BTreeMap<String, String>,

    /// A reason table for one mark, used instead of `reasons` for that mark, such as
    /// `[marks.reasons_for.late]` with `before_close = "present"` and `after_close = "U"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reasons_for: BTreeMap<String, BTreeMap<String, String>>,
}

/// Vocabularies a provider can declare instead of listing every mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum MarkCodes {
    /// The statutory (DfE) register codes.
    #[serde(rename = "dfe", alias = "DfE", alias = "DFE")]
    Dfe,
}

/// What a mark (or a reason) in the vocabulary stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkRule {
    /// A statutory code, upper case as the register writes it.
    Code(String),
    /// The provider's present code (B, K or D, from the provider's record).
    Present,
    /// Defer to the row's reason.
    Reason,
    /// Not a mark: the session is left as if blank.
    NoMark,
}

impl MarkRule {
    /// Reads a table value: a statutory code (any case), `present`, `none`, or (for marks, not
    /// reasons) `reason`.
    pub fn parse(value: &str, allow_reason: bool) -> Result<MarkRule, MarkRuleError> {
        let v = value.trim();
        match v.to_lowercase().as_str() {
            "present" => return Ok(MarkRule::Present),
            "none" => return Ok(MarkRule::NoMark),
            "reason" if allow_reason => return Ok(MarkRule::Reason),
            "reason" => return Err(MarkRuleError::ReasonForReason),
            _ => {}
        }
        let code = v.to_uppercase();
        if STATUTORY_CODES.contains(&code.as_str()) {
            Ok(MarkRule::Code(code))
        } else {
            Err(MarkRuleError::NotACode {
                value: v.to_string(),
                allow_reason,
            })
        }
    }
}

/// Why a vocabulary entry cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarkRuleError {
    /// `reason` given as what a reason means.
    #[error("a reason cannot defer to another reason; write a code, `present` or `none`")]
    ReasonForReason,
    /// Not a statutory code or a word the vocabulary knows.
    #[error(
        "`{value}` is not a current statutory code; write one of {codes}, or `present`, {reason}`none`",
        codes = STATUTORY_CODES.join(" "),
        reason = if *allow_reason { "`reason` or " } else { "" }
    )]
    NotACode {
        /// As written.
        value: String,
        /// Whether `reason` would have been allowed here.
        allow_reason: bool,
    },
}

/// The outcome of applying the vocabulary to one mark and its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// A statutory code.
    Code(String),
    /// The provider's present code.
    Present,
    /// Not a mark: nothing to record.
    NoMark,
    /// The vocabulary does not say: the row goes to review with this explanation.
    Unmapped(String),
}

/// Normalises a mark, reason, column name or session word for comparison: case folded, and
/// every space (including non-breaking spaces and a stray byte order mark) removed.
pub fn normalise_key(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{feff}')
        .flat_map(char::to_lowercase)
        .collect()
}

fn lookup<'a>(table: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    let key = normalise_key(key);
    table
        .iter()
        .find(|(k, _)| normalise_key(k) == key)
        .map(|(_, v)| v.as_str())
}

impl Marks {
    /// What a provider mark stands for, or `None` when the vocabulary does not know it.
    pub fn rule(&self, mark: &str) -> Option<MarkRule> {
        if let Some(value) = lookup(&self.map, mark) {
            return MarkRule::parse(value, true).ok();
        }
        match self.codes {
            Some(MarkCodes::Dfe) => {
                let code = mark.trim().to_uppercase();
                match code.as_str() {
                    "/" | "\\" => Some(MarkRule::Present),
                    c if STATUTORY_CODES.contains(&c) => Some(MarkRule::Code(code)),
                    _ => None,
                }
            }
            None => None,
        }
    }

    /// The reason table that applies to `mark`: its own in `reasons_for`, or else `reasons`.
    pub fn reasons_table(&self, mark: &str) -> &BTreeMap<String, String> {
        let key = normalise_key(mark);
        self.reasons_for
            .iter()
            .find(|(k, _)| normalise_key(k) == key)
            .map(|(_, t)| t)
            .unwrap_or(&self.reasons)
    }

    /// Applies the vocabulary to a mark and the row's reason (blank or `None` both mean "no
    /// reason"). Blank marks are never passed here: they are not marks.
    pub fn resolve(&self, mark: &str, reason: Option<&str>) -> Resolution {
        let Some(rule) = self.rule(mark) else {
            return Resolution::Unmapped(format!(
                "the mark `{}` is not in this provider's vocabulary",
                shown(mark)
            ));
        };
        match rule {
            MarkRule::Code(code) => Resolution::Code(code),
            MarkRule::Present => Resolution::Present,
            MarkRule::NoMark => Resolution::NoMark,
            MarkRule::Reason => {
                let reason = reason.map(str::trim).unwrap_or("");
                let table = self.reasons_table(mark);
                match lookup(table, reason).map(|v| MarkRule::parse(v, false)) {
                    Some(Ok(MarkRule::Code(code))) => Resolution::Code(code),
                    Some(Ok(MarkRule::Present)) => Resolution::Present,
                    Some(Ok(MarkRule::NoMark)) => Resolution::NoMark,
                    Some(Ok(MarkRule::Reason)) | Some(Err(_)) | None if reason.is_empty() => {
                        Resolution::Unmapped(format!("the mark `{}` needs a reason and none was given", shown(mark)))
                    }
                    _ => Resolution::Unmapped(format!(
                        "the reason `{}` for the mark `{}` is not in this provider's vocabulary",
                        shown(reason),
                        shown(mark)
                    )),
                }
            }
        }
    }
}

/// A provider's mark or reason as quoted in a review reason: trimmed, and cut short if long.
fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    crate::pipeline::excerpt::cut(text.trim(), crate::pipeline::excerpt::CELL_CHARS)
}
