//! Entry points for fuzzing (`fuzz/` at the workspace root, and the corpus replay in the daemon's
//! tests): what the connector does with the bytes a mail server hands it, with no server. Not an
//! API: hidden from the docs, and nothing but the fuzz harness calls it.
//!
//! Each function takes arbitrary bytes and must return without panicking; the assertions in them
//! are properties the connector relies on, so a failing one is a bug.

use async_imap::imap_proto::{AttributeValue, Response};
use mailparse::MailHeaderMap;

use crate::auth::Authentication;
use crate::mime::{self, DEFAULT_MEDIA_TYPES};
use crate::parts::leaves;
use crate::screen::{HEADER_LIMIT, Policy, screen};

/// The globs a connector is commonly configured with.
const GLOBS: [&str; 2] = ["*", "*.csv"];

/// One raw message, as the connector reads it: its header (the first [`HEADER_LIMIT`] bytes, as
/// `BODY.PEEK[HEADER]<0.N>` gives it) screened under each kind of authentication; the whole
/// message parsed for its attachments; and each leaf part read the way a part downloaded alone
/// is (its own header says whether it is wanted, then its transfer encoding is undone).
pub fn message(raw: &[u8]) {
    let header = &raw[..header_end(raw).min(HEADER_LIMIT)];
    let senders = ["returns@provider.test".to_string(), "@farm.test".to_string()];
    let trusted = ["mx.school.test".to_string()];
    for authentication in [Authentication::Verdict, Authentication::Dkim, Authentication::Review] {
        let policy = Policy {
            senders: &senders,
            authentication,
            trusted: &trusted,
            max_message_bytes: 10 * 1024 * 1024,
        };
        let _ = screen(header, raw.len() as u64, &policy);
    }
    let media_types: Vec<String> = DEFAULT_MEDIA_TYPES.iter().map(|m| (*m).to_string()).collect();
    for glob in GLOBS {
        let _ = mime::parse(raw, glob, &media_types);
    }
    if let Ok(mail) = mailparse::parse_mail(raw) {
        each_leaf(&mail, &mut |part| {
            let (head, body) = part.split_at(header_end(part));
            for glob in GLOBS {
                let _ = mime::wanted(head, glob, &media_types);
            }
            let _ = mime::decode_part(head, body);
        });
    }
}

/// One `FETCH` response as a server sends it: each `BODYSTRUCTURE` in it read into the message's
/// parts, each part's rebuilt MIME header read back as the connector reads it. Whatever the
/// server's values hold, the rebuilt header has only the lines the connector writes: a value
/// never starts a header line of the server's choosing.
///
/// A response is first passed through the connector's own nesting guard
/// ([`crate::nesting`]), as the connector's stream does: imap-proto (0.17.0, the latest) parses
/// nested lists by recursion with no limit and overflows the stack on a `BODYSTRUCTURE` nested
/// about 2,000 deep (`fuzz/corpus/imap_fetch/stack-overflow-nesting.bin`). What the guard lets
/// through must never overflow the parser: fuzzing the two together checks the guard.
pub fn fetch_response(response: &[u8]) {
    if crate::nesting::Scanner::default().scan(response).is_err() {
        return;
    }
    let Ok((_, Response::Fetch(_, attributes))) = Response::parse(response) else {
        return;
    };
    let media_types: Vec<String> = DEFAULT_MEDIA_TYPES.iter().map(|m| (*m).to_string()).collect();
    for attribute in &attributes {
        let AttributeValue::BodyStructure(structure) = attribute else {
            continue;
        };
        for part in leaves(structure) {
            assert!(!part.section.is_empty(), "a part without a section: {part:?}");
            if let Ok((headers, _)) = mailparse::parse_headers(&part.header) {
                for header in &headers {
                    let key = header.get_key_ref();
                    assert!(
                        ["Content-Type", "Content-Disposition", "Content-Transfer-Encoding"].contains(&key.as_ref()),
                        "a header line the connector does not write: {key:?} in {:?}",
                        String::from_utf8_lossy(&part.header)
                    );
                }
                assert!(headers.get_all_headers("Content-Type").len() == 1);
                assert!(headers.get_all_headers("Content-Transfer-Encoding").len() == 1);
            }
            for glob in GLOBS {
                let _ = mime::wanted(&part.header, glob, &media_types);
            }
            let _ = mime::decode_part(&part.header, b"YSxiDQoxLDINCg==\r\n");
        }
    }
}

/// Where the header block ends (after its blank line), or the whole length when it has none.
fn header_end(raw: &[u8]) -> usize {
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(raw.len()),
    }
}

fn each_leaf<'a>(mail: &mailparse::ParsedMail<'a>, f: &mut impl FnMut(&'a [u8])) {
    if mail.subparts.is_empty() {
        f(mail.raw_bytes);
    }
    for sub in &mail.subparts {
        each_leaf(sub, f);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn a_message_and_a_fetch_response_go_through() {
        message(b"From: returns@provider.test\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/csv; name=a.csv\r\nContent-Transfer-Encoding: base64\r\n\r\nYSxi\r\n--b--\r\n");
        fetch_response(b"* 15 FETCH (BODYSTRUCTURE (\"TEXT\" \"CSV\" (\"NAME\" \"a.csv\") NIL NIL \"BASE64\" 1315 42 NIL (\"attachment\" (\"filename\" \"a.csv\")) NIL NIL))\r\n");
        message(b"");
        fetch_response(b"");
    }

    /// The seeds of `fuzz/corpus/imap_fetch` are responses the parser reads, each with a
    /// structure of at least one part, so fuzzing starts from inside the structure.
    #[test]
    fn the_fetch_seeds_parse_into_parts() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/imap_fetch");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if !path.file_name().unwrap().to_string_lossy().ends_with(".txt") {
                continue; // crashes found are kept as they were found (`.bin`)
            }
            let bytes = std::fs::read(&path).unwrap();
            let Ok((_, Response::Fetch(_, attributes))) = Response::parse(&bytes) else {
                panic!("{} is not a FETCH response", path.display());
            };
            let parts: usize = attributes
                .iter()
                .map(|a| match a {
                    AttributeValue::BodyStructure(s) => leaves(s).len(),
                    _ => 0,
                })
                .sum();
            assert!(parts > 0, "{} has no parts", path.display());
            seen += 1;
        }
        assert!(seen > 0);
    }
}
