//! Header and file name patterns such as `{weekday} {session}` or `{any}w-c {date}.csv`.
//!
//! Fixed text matches ignoring case and spaces; placeholders capture text that the caller
//! accepts or rejects, so `{date}{session}` can split `02/03/2026AM` at the one place where both
//! halves make sense.

/// A placeholder in a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `{date}`: a date in one of the format's patterns.
    Date,
    /// `{weekday}`: a weekday name (`Mon`, `Tuesday`).
    Weekday,
    /// `{session}`: a session word.
    Session,
    /// `{any}`: any text, possibly none.
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// Fixed text, lower-cased with spaces removed.
    Text(Vec<char>),
    Slot(Placeholder),
}

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    tokens: Vec<Token>,
}

/// What the placeholders captured, trimmed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captures {
    /// The `{date}` text.
    pub date: Option<String>,
    /// The `{weekday}` text.
    pub weekday: Option<String>,
    /// The `{session}` text.
    pub session: Option<String>,
}

/// Longer texts are not headers or file names worth matching, and would make matching slow.
const MAX_TEXT: usize = 256;

/// The longest text a placeholder other than `{any}` may capture; no date or word is longer,
/// and the bound keeps matching fast on hostile headers.
const MAX_CAPTURE: usize = 64;

/// Why a header or file-name pattern cannot be read; the text says how to write it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `{` with no `}` after it.
    #[error("`{0}` has a `{{` without its `}}`")]
    Unclosed(String),
    /// A `}` with no `{` before it.
    #[error("`{0}` has a `}}` without its `{{`")]
    Unopened(String),
    /// A name that is not a placeholder.
    #[error("`{{{0}}}` is not a placeholder: use {{date}}, {{weekday}}, {{session}} or {{any}}")]
    Unknown(String),
    /// The same placeholder twice (other than `{any}`).
    #[error("`{pattern}` uses `{{{placeholder}}}` twice")]
    Twice {
        /// The pattern.
        pattern: String,
        /// The placeholder, as written.
        placeholder: String,
    },
    /// Nothing but spaces.
    #[error("the pattern is empty")]
    Empty,
}

impl Template {
    /// Parses a pattern, explaining any mistake.
    pub fn parse(pattern: &str) -> Result<Template, TemplateError> {
        let mut tokens = Vec::new();
        let mut rest = pattern;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(open) => {
                    push_text(&mut tokens, &rest[..open]);
                    let after = &rest[open + 1..];
                    let close = after
                        .find('}')
                        .ok_or_else(|| TemplateError::Unclosed(pattern.to_string()))?;
                    let slot = match after[..close].trim().to_lowercase().as_str() {
                        "date" => Placeholder::Date,
                        "weekday" => Placeholder::Weekday,
                        "session" => Placeholder::Session,
                        "any" => Placeholder::Any,
                        other => return Err(TemplateError::Unknown(other.to_string())),
                    };
                    if slot != Placeholder::Any && tokens.contains(&Token::Slot(slot)) {
                        return Err(TemplateError::Twice {
                            pattern: pattern.to_string(),
                            placeholder: after[..close].trim().to_string(),
                        });
                    }
                    tokens.push(Token::Slot(slot));
                    rest = &after[close + 1..];
                }
                None => {
                    if rest.contains('}') {
                        return Err(TemplateError::Unopened(pattern.to_string()));
                    }
                    push_text(&mut tokens, rest);
                    rest = "";
                }
            }
        }
        if tokens.is_empty() {
            return Err(TemplateError::Empty);
        }
        Ok(Template { tokens })
    }

    /// Whether the pattern uses a placeholder.
    pub fn has(&self, slot: Placeholder) -> bool {
        self.count(slot) > 0
    }

    /// How many times the pattern uses a placeholder.
    pub fn count(&self, slot: Placeholder) -> usize {
        self.tokens.iter().filter(|t| **t == Token::Slot(slot)).count()
    }

    /// How many placeholders the pattern has.
    pub fn placeholder_count(&self) -> usize {
        self.tokens.iter().filter(|t| matches!(t, Token::Slot(_))).count()
    }

    /// How many parts (fixed texts and placeholders) the pattern has.
    pub fn part_count(&self) -> usize {
        self.tokens.len()
    }

    /// Matches the whole text, with `accept` deciding whether a placeholder may take a capture
    /// (never called for `{any}`). The first split that every placeholder accepts wins.
    pub fn matches(&self, text: &str, accept: &dyn Fn(Placeholder, &str) -> bool) -> Option<Captures> {
        let chars: Vec<char> = text.chars().collect();
        if chars.len() > MAX_TEXT {
            return None;
        }
        let mut captures = Captures::default();
        self.step(0, 0, &chars, accept, &mut captures).then_some(captures)
    }

    fn step(
        &self,
        token: usize,
        pos: usize,
        text: &[char],
        accept: &dyn Fn(Placeholder, &str) -> bool,
        captures: &mut Captures,
    ) -> bool {
        let Some(current) = self.tokens.get(token) else {
            return text[pos..].iter().all(|c| c.is_whitespace());
        };
        match current {
            Token::Text(fixed) => match match_text(fixed, text, pos) {
                Some(end) => self.step(token + 1, end, text, accept, captures),
                None => false,
            },
            Token::Slot(slot) => {
                let last = token + 1 == self.tokens.len();
                let first_end = if *slot == Placeholder::Any { pos } else { pos + 1 };
                for end in first_end..=text.len() {
                    if *slot != Placeholder::Any && end - pos > MAX_CAPTURE {
                        break;
                    }
                    if last && end != text.len() {
                        continue;
                    }
                    let captured: String = text[pos..end].iter().collect();
                    let captured = captured.trim();
                    if *slot != Placeholder::Any && (captured.is_empty() || !accept(*slot, captured)) {
                        continue;
                    }
                    let saved = captures.clone();
                    match slot {
                        Placeholder::Date => captures.date = Some(captured.to_string()),
                        Placeholder::Weekday => captures.weekday = Some(captured.to_string()),
                        Placeholder::Session => captures.session = Some(captured.to_string()),
                        Placeholder::Any => {}
                    }
                    if self.step(token + 1, end, text, accept, captures) {
                        return true;
                    }
                    *captures = saved;
                }
                false
            }
        }
    }
}

fn push_text(tokens: &mut Vec<Token>, text: &str) {
    let fixed: Vec<char> = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if !fixed.is_empty() {
        tokens.push(Token::Text(fixed));
    }
}

/// Matches fixed text at `pos`, skipping spaces on both sides and ignoring case.
fn match_text(fixed: &[char], text: &[char], mut pos: usize) -> Option<usize> {
    for want in fixed {
        while text.get(pos).is_some_and(|c| c.is_whitespace()) {
            pos += 1;
        }
        let got = text.get(pos)?;
        if !got.to_lowercase().eq(std::iter::once(*want)) {
            return None;
        }
        pos += 1;
    }
    Some(pos)
}

/// The rest of `text` after a leading `label`, matched ignoring case and spaces; a colon
/// after the label is optional on either side (`Week commencing` matches `Week commencing: 2/3`).
pub fn strip_label<'t>(text: &'t str, label: &str) -> Option<&'t str> {
    let fixed: Vec<char> = label
        .trim()
        .trim_end_matches(':')
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if fixed.is_empty() {
        return None;
    }
    let mut chars = text.char_indices().peekable();
    for want in fixed {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let (_, got) = chars.next()?;
        if !got.to_lowercase().eq(std::iter::once(want)) {
            return None;
        }
    }
    let rest = chars.peek().map_or("", |(at, _)| &text[*at..]);
    Some(rest.trim_start().trim_start_matches(':').trim())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn any(_: Placeholder, _: &str) -> bool {
        true
    }

    #[test]
    fn splits_where_both_halves_are_accepted() {
        let t = Template::parse("{date}{session}").unwrap();
        let accept = |p: Placeholder, s: &str| p != Placeholder::Session || s == "AM";
        let c = t.matches("02/03/2026AM", &accept).unwrap();
        assert_eq!(c.date.as_deref(), Some("02/03/2026"));
        assert_eq!(c.session.as_deref(), Some("AM"));
    }

    #[test]
    fn fixed_text_ignores_case_and_spaces() {
        let t = Template::parse("{any}W-C {date}.csv").unwrap();
        let c = t.matches("Skills Hub Register w-c 02-03-2026.CSV", &any).unwrap();
        assert_eq!(c.date.as_deref(), Some("02-03-2026"));
        assert!(t.matches("register.csv", &any).is_none());
        let t = Template::parse("{session} ({date})").unwrap();
        assert_eq!(
            t.matches("AM(2026-03-02)", &any).unwrap().date.as_deref(),
            Some("2026-03-02")
        );
    }

    #[test]
    fn labels() {
        assert_eq!(
            strip_label("Week commencing: 02/03/2026", "week commencing:"),
            Some("02/03/2026")
        );
        assert_eq!(strip_label("WEEK COMMENCING", "Week commencing:"), Some(""));
        assert_eq!(strip_label("Week ending 6/3/26", "Week commencing"), None);
    }

    #[test]
    fn explains_mistakes() {
        let err = |p: &str| Template::parse(p).unwrap_err();
        assert_eq!(
            err("{day} {session}").to_string(),
            "`{day}` is not a placeholder: use {date}, {weekday}, {session} or {any}"
        );
        assert_eq!(err("{date").to_string(), "`{date` has a `{` without its `}`");
        assert_eq!(err("{date}}"), TemplateError::Unopened("{date}}".into()));
        assert_eq!(err("{date} {date}").to_string(), "`{date} {date}` uses `{date}` twice");
        assert_eq!(err("  "), TemplateError::Empty);
    }
}
