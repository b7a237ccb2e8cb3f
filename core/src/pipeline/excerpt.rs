//! Bounded excerpts of a file's text for the review queue, so that no review row (and no mark's
//! copy of its raw row) is ever huge, whatever a provider pasted into a cell.

use std::borrow::Cow;

/// The most characters of one cell kept in a raw row, a mark or an identifier shown for review.
pub const CELL_CHARS: usize = 200;

/// The most bytes a raw row takes written as JSON (as the store keeps it), about 4 KiB.
pub const RAW_ROW_JSON_BYTES: usize = 4000;

/// What ends a text that was cut.
const CUT: &str = "…";

/// `text` cut to at most `max_chars` characters, ending in `…` when it was cut.
pub fn cut(text: &str, max_chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!("{}{CUT}", &text[..end])),
    }
}

/// A row's cells as text for review: each cell cut to [`CELL_CHARS`] characters, and the cells
/// that would take the row past [`RAW_ROW_JSON_BYTES`] as JSON replaced by a note saying how
/// many were left out.
pub fn raw_row<'c>(cells: impl ExactSizeIterator<Item = Cow<'c, str>>) -> Vec<String> {
    let total = cells.len();
    // Room for the brackets and for the note about the cells left out.
    let budget = RAW_ROW_JSON_BYTES - 2 - 40;
    let mut used = 0;
    let mut out = Vec::new();
    for (i, text) in cells.enumerate() {
        let text = cut(&text, CELL_CHARS).into_owned();
        let size = json_len(&text) + 1;
        if used + size > budget {
            out.push(format!("{CUT} {} more cells left out", total - i));
            break;
        }
        used += size;
        out.push(text);
    }
    out
}

/// The bytes `text` takes as a JSON string, quotes included.
fn json_len(text: &str) -> usize {
    2 + text
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if c.is_control() && (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_cell_is_cut_at_a_character_boundary() {
        assert_eq!(cut("Zoë", 3), "Zoë");
        assert_eq!(cut("Zoë O'Brien", 3), "Zoë…");
        assert_eq!(cut(&"é".repeat(500), CELL_CHARS).chars().count(), CELL_CHARS + 1);
    }

    #[test]
    fn a_raw_row_stays_under_its_budget_as_json() {
        let huge = "\"x\"\n".repeat(5_000_000 / 4);
        let cells: Vec<Cow<'_, str>> = (0..1000).map(|_| Cow::Borrowed(huge.as_str())).collect();
        let row = raw_row(cells.into_iter());
        let json = serde_json::to_string(&row).unwrap();
        assert!(json.len() <= RAW_ROW_JSON_BYTES, "{}", json.len());
        assert!(row[0].ends_with('…'), "{}", row[0]);
        assert!(row.last().unwrap().ends_with("more cells left out"), "{row:?}");

        let short = ["BF-104", "", "Clarke"].map(Cow::Borrowed);
        assert_eq!(raw_row(short.into_iter()), ["BF-104", "", "Clarke"]);
    }

    #[test]
    fn json_lengths_match_serde() {
        for text in ["", "plain", "q\"uote\\", "tab\tline\n", "\u{1}ctl", "Zoë £5 —"] {
            assert_eq!(json_len(text), serde_json::to_string(text).unwrap().len(), "{text:?}");
        }
    }
}
