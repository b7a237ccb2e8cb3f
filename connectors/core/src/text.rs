//! Text from outside (an email's subject, a sender's name, a file name) made safe to show.

/// `text` with every control character escaped (`\r`, `\n`, `\t`, `\u{1b}`), so a stranger's
/// subject can never start a new log line or email header, cut to `max_chars` characters
/// (with `…` when cut).
pub fn printable(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars.saturating_mul(2)));
    for (count, c) in text.chars().enumerate() {
        if count >= max_chars {
            out.push('…');
            break;
        }
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}'
                ) =>
            {
                out.push_str(&c.escape_unicode().to_string());
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_long_text_cut() {
        assert_eq!(
            printable("Returns\r\nlevel=ERROR forged\u{1b}[31m", 100),
            "Returns\\r\\nlevel=ERROR forged\\u{1b}[31m"
        );
        assert_eq!(printable("abcdef", 3), "abc…");
        assert_eq!(printable("Ünïcödé ✓", 100), "Ünïcödé ✓");
        assert_eq!(printable("bidi\u{202e}txt", 100), "bidi\\u{202e}txt");
    }
}
