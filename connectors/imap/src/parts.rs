//! A message's BODYSTRUCTURE read into its parts, each with its IMAP section number and the
//! MIME header that describes it, so only the wanted attachments are downloaded.

use async_imap::imap_proto::{BodyContentCommon, BodyContentSinglePart, BodyParams, BodyStructure, ContentEncoding};

/// One leaf part of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    /// Its section, as in `BODY[1.2]`.
    pub section: Vec<u32>,
    /// A MIME header rebuilt from the structure (type, disposition, transfer encoding), which
    /// [`crate::mime`] reads the same way as a downloaded part's.
    pub header: Vec<u8>,
    /// Its size as sent (transfer-encoded).
    pub octets: u64,
}

/// The leaf parts of a message, in order; a forwarded email inside it is not a return and is
/// left out.
pub(crate) fn leaves(structure: &BodyStructure<'_>) -> Vec<Part> {
    let mut out = Vec::new();
    walk(structure, &[], &mut out);
    out
}

fn walk(structure: &BodyStructure<'_>, path: &[u32], out: &mut Vec<Part>) {
    match structure {
        BodyStructure::Multipart { bodies, .. } => {
            for (i, body) in bodies.iter().enumerate() {
                let mut child = path.to_vec();
                child.push(u32::try_from(i + 1).unwrap_or(u32::MAX));
                walk(body, &child, out);
            }
        }
        BodyStructure::Basic { common, other, .. } | BodyStructure::Text { common, other, .. } => {
            // A message that is not multipart has one part, numbered 1.
            let section = if path.is_empty() { vec![1] } else { path.to_vec() };
            out.push(Part {
                section,
                header: header(common, other),
                octets: u64::from(other.octets),
            });
        }
        BodyStructure::Message { .. } => {}
    }
}

/// `Content-Type`, `Content-Disposition` and `Content-Transfer-Encoding` as the part's own
/// header would say them.
fn header(common: &BodyContentCommon<'_>, other: &BodyContentSinglePart<'_>) -> Vec<u8> {
    let mut h = format!(
        "Content-Type: {}/{}{}\r\n",
        one_line(&common.ty.ty),
        one_line(&common.ty.subtype),
        params(&common.ty.params)
    );
    if let Some(d) = &common.disposition {
        h.push_str(&format!(
            "Content-Disposition: {}{}\r\n",
            one_line(&d.ty),
            params(&d.params)
        ));
    }
    let encoding = match &other.transfer_encoding {
        ContentEncoding::SevenBit => "7bit".into(),
        ContentEncoding::EightBit => "8bit".into(),
        ContentEncoding::Binary => "binary".into(),
        ContentEncoding::Base64 => "base64".into(),
        ContentEncoding::QuotedPrintable => "quoted-printable".into(),
        ContentEncoding::Other(o) => one_line(o),
    };
    h.push_str(&format!("Content-Transfer-Encoding: {encoding}\r\n\r\n"));
    h.into_bytes()
}

/// A value from the server without control characters: a line break inside it would start a
/// header line of the server's choosing.
fn one_line(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).collect()
}

/// `; name="value"` for each parameter; an RFC 2231 extended value (`filename*=utf-8''...`) as
/// it was, unquoted.
fn params(params: &BodyParams<'_>) -> String {
    let mut out = String::new();
    for (name, value) in params.iter().flatten() {
        let value = one_line(value);
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_graphic() && *c != ';' && *c != '=')
            .collect();
        if name.ends_with('*') {
            out.push_str(&format!("; {name}={value}"));
        } else {
            out.push_str(&format!(
                "; {name}=\"{}\"",
                value.replace('\\', "\\\\").replace('"', "\\\"")
            ));
        }
    }
    out
}
