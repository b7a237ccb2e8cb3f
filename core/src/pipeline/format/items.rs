//! Sessions carried as a list inside a JSON record: a path with `[]` (`sessions[].code`) reads
//! that field of each item of the list, and each item is one observation. Reading an item by
//! its place in the list (`sessions.0.code`) is allowed but warned about: a record that lists
//! only the afternoon would have its mark read as the morning's.

use super::marks::normalise_key;
use super::validate::Issues;
use super::{FileKind, Format, FormatIssue};

/// What a path writes for "each item of this list".
pub const EACH: &str = "[]";

/// The list a path reads each item of, and the field within the item (empty for an item that
/// is itself the value): `sessions[].code` is `("sessions", "code")`.
pub fn item_path(path: &str) -> Option<(&str, &str)> {
    let (list, rest) = path.split_once(EACH)?;
    Some((list.trim(), rest.strip_prefix('.').unwrap_or(rest).trim()))
}

impl Format {
    /// JSON: the list inside each record whose items are one observation each, when the format
    /// reads one (`sessions` for `mark = "sessions[].code"`).
    pub fn item_list(&self) -> Option<&str> {
        if self.kind != FileKind::Json {
            return None;
        }
        self.named_columns()
            .into_iter()
            .find_map(|(column, _)| item_path(column).map(|(list, _)| list))
    }

    /// What `apsync check` should say about a format that is valid but risky, each with its key:
    /// a session's mark read by its place in a list.
    pub fn warnings(&self) -> Vec<FormatIssue> {
        if self.kind != FileKind::Json {
            return Vec::new();
        }
        self.layout
            .keyed_columns()
            .into_iter()
            .filter(|(key, _)| *key != "date" && *key != "comment")
            .filter_map(|(key, path)| {
                let segments: Vec<&str> = path.split('.').map(str::trim).collect();
                let at = segments
                    .iter()
                    .position(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))?;
                let (list, position) = (segments[..at].join("."), segments[at]);
                Some(FormatIssue {
                    key: format!("format.layout.{key}"),
                    message: format!(
                        "`{path}` reads a session by its place in the list `{list}` (item {position}); a record that lists \
                         only some sessions (a changes feed listing only the afternoon) would have the wrong session's \
                         mark read here, a wrong mark that no one reviews. Read each item with its own session instead: \
                         mark = \"{list}[].<its mark field>\" and session = \"{list}[].<its session field>\" (docs/formats.md, \
                         \"Sessions as a list inside a record\")"
                    ),
                })
            })
            .collect()
    }
}

/// Checks the paths that read each item of a list.
pub(super) fn validate(f: &Format, issues: &mut Issues) {
    if f.kind != FileKind::Json {
        return;
    }
    let named = f
        .identity
        .keyed_columns()
        .into_iter()
        .map(|(k, c)| (format!("identity.{k}"), c))
        .chain(
            f.layout
                .keyed_columns()
                .into_iter()
                .map(|(k, c)| (format!("layout.{k}"), c)),
        );
    let mut lists: Vec<(String, &str)> = Vec::new();
    for (key, column) in named {
        let Some((list, _)) = item_path(column) else { continue };
        if column.matches(EACH).count() > 1 {
            issues.add(
                &key,
                format!("`{column}` reads a list inside a list item; only one `[]` is read"),
            );
        }
        if list.is_empty() {
            issues.add(
                &key,
                format!("`{column}`: `[]` follows the list's path, such as `sessions[].code`"),
            );
        }
        let after = column.split_once(EACH).map_or("", |(_, rest)| rest);
        if !after.is_empty() && !after.starts_with('.') {
            issues.add(
                &key,
                format!("`{column}`: write a dot after `[]`, such as `sessions[].code`"),
            );
        }
        let per_record = key.starts_with("identity.")
            || ["layout.am", "layout.pm", "layout.am_reason", "layout.pm_reason"].contains(&key.as_str());
        if per_record {
            issues.add(
                &key,
                "is read once per record, not from each item of a list: `[]` is for `mark`, `session`, `time` or `datetime`, `reason`, `comment` and `date`",
            );
        }
        if lists.iter().all(|(l, _)| normalise_key(l) != normalise_key(list)) {
            lists.push((list.to_string(), column));
        }
    }
    if lists.is_empty() {
        return;
    }
    if lists.len() > 1 {
        let shown: Vec<String> = lists.iter().map(|(l, _)| format!("`{l}[]`")).collect();
        issues.add(
            "layout",
            format!(
                "reads items of more than one list ({}): each item of one list is one session",
                shown.join(", ")
            ),
        );
    }
    let l = &f.layout;
    let from_items = |o: &Option<String>| o.as_deref().is_some_and(|c| item_path(c).is_some());
    if !from_items(&l.mark) {
        issues.add(
            "layout.mark",
            format!(
                "each item of `{}` is one session: read its mark from the item, such as `mark = \"{}[].code\"`",
                lists[0].0, lists[0].0
            ),
        );
    }
    if !(from_items(&l.session) || from_items(&l.time) || from_items(&l.datetime)) {
        issues.add(
            "layout.session",
            format!(
                "each item of `{}` must say which session it is: name the item's field, such as `session = \"{}[].period\"` (or `time`/`datetime` for a start time)",
                lists[0].0, lists[0].0
            ),
        );
    }
}
