//! Text as the store writes it into text columns. PostgreSQL refuses a NUL character in text
//! (`invalid byte sequence for encoding "UTF8": 0x00`), so one NUL in one cell of a provider's
//! file would refuse the whole document, and the connector would stop at it for ever. Every text
//! the store takes from a file or a transport (cells of a row, identifiers, file names, metadata,
//! reasons, comments) goes through [`clean`] before it is bound: NUL and the other control
//! characters become U+FFFD (so a person sees something was there), line breaks a space, and tab
//! stays. The file's own bytes are kept untouched in the ledger (a blob), so nothing is lost.

use std::borrow::Cow;

/// What a control character is shown as.
const REPLACEMENT: char = '\u{FFFD}';

fn needs_cleaning(c: char) -> bool {
    c.is_control() && c != '\t'
}

/// `text` with NUL and other control characters but tab replaced (line breaks by a space);
/// borrowed when there is nothing to replace, which is almost always.
pub(crate) fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_cleaning) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match c {
                '\r' | '\n' => ' ',
                c if needs_cleaning(c) => REPLACEMENT,
                c => c,
            })
            .collect(),
    )
}

/// [`clean`] for an optional text, owned (for binding).
pub(crate) fn clean_opt(text: Option<&str>) -> Option<String> {
    text.map(|t| clean(t).into_owned())
}

/// A row's cells as the JSON array stored for it, each cell [`clean`]ed.
pub(crate) fn cells_json(cells: &[String]) -> String {
    let json = if cells.iter().any(|c| c.chars().any(needs_cleaning)) {
        serde_json::to_string(&cells.iter().map(|c| clean(c)).collect::<Vec<_>>())
    } else {
        serde_json::to_string(cells)
    };
    json.unwrap_or_else(|_| "[]".to_string())
}

/// JSON metadata as stored, every string in it (keys too) [`clean`]ed.
pub(crate) fn json_text(value: &serde_json::Value) -> String {
    fn walk(v: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::String(s) => Value::String(clean(s).into_owned()),
            Value::Array(a) => Value::Array(a.iter().map(walk).collect()),
            Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (clean(k).into_owned(), walk(v))).collect()),
            other => other.clone(),
        }
    }
    walk(value).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_control_characters_are_replaced_and_tab_kept() {
        assert!(matches!(clean("plain\ttext é"), Cow::Borrowed("plain\ttext é")));
        assert_eq!(
            clean("a\0b\u{1b}c\u{7f}d\u{85}"),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}d\u{FFFD}"
        );
        assert_eq!(clean("late\r\nbus"), "late  bus");
        assert_eq!(clean_opt(Some("x\0")), Some("x\u{FFFD}".to_string()));
        assert_eq!(cells_json(&["a\0".into(), "b".into()]), "[\"a\u{FFFD}\",\"b\"]");
        assert_eq!(cells_json(&["a".into()]), "[\"a\"]");
        let meta = serde_json::json!({"from\0": ["x\0y", 1, {"z": "\u{0}"}]});
        assert_eq!(
            json_text(&meta),
            "{\"from\u{FFFD}\":[\"x\u{FFFD}y\",1,{\"z\":\"\u{FFFD}\"}]}"
        );
    }
}
