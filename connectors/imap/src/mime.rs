//! Reading one email: who sent it, and its attachments (nested MIME parts, RFC 2231 and RFC 2047
//! encoded file names, any charset), with their original bytes.

use apsync_connector_core::glob_matches;
use mailparse::{MailHeaderMap, MailParseError, ParsedMail};

/// An attachment found in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name, decoded.
    pub file_name: String,
    /// The part's media type, lower case.
    pub media_type: String,
    /// The bytes, transfer encoding undone.
    pub bytes: Vec<u8>,
}

/// What matters in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The sender's address (the first `From` address), lower case.
    pub sender: Option<String>,
    /// `Subject`, decoded.
    pub subject: String,
    /// `Message-ID`.
    pub message_id: Option<String>,
    /// The attachments that match the glob and the media types, in the order they appear.
    pub attachments: Vec<Attachment>,
}

/// Media types accepted when the configuration names none: CSV and spreadsheets, plus the
/// generic types mail programs often give them.
pub const DEFAULT_MEDIA_TYPES: [&str; 6] = [
    "text/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel",
    "text/plain",
    "application/octet-stream",
    "application/csv",
];

/// Whether `sender` is allowed by `allowed` (addresses, or domains written `example.org` or
/// `@example.org`), case-insensitively.
pub fn sender_allowed(allowed: &[String], sender: &str) -> bool {
    let sender = sender.trim().to_lowercase();
    let domain = sender.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    allowed.iter().any(|a| {
        let a = a.trim().to_lowercase();
        match a.strip_prefix('@') {
            Some(d) => d == domain,
            None if a.contains('@') => a == sender,
            None => a == domain,
        }
    })
}

/// Parses a raw message and picks the attachments named by `glob` with one of `media_types`.
pub fn parse(raw: &[u8], glob: &str, media_types: &[String]) -> Result<Message, MailParseError> {
    let mail = mailparse::parse_mail(raw)?;
    let headers = mail.get_headers();
    let sender = headers
        .get_first_header("From")
        .and_then(|h| mailparse::addrparse_header(h).ok())
        .and_then(|list| {
            list.iter().find_map(|a| match a {
                mailparse::MailAddr::Single(s) => Some(s.addr.to_lowercase()),
                mailparse::MailAddr::Group(g) => g.addrs.first().map(|s| s.addr.to_lowercase()),
            })
        });
    let mut attachments = Vec::new();
    collect(&mail, glob, media_types, &mut attachments)?;
    Ok(Message {
        sender,
        subject: headers.get_first_value("Subject").unwrap_or_default(),
        message_id: headers.get_first_value("Message-ID"),
        attachments,
    })
}

/// A leaf part's file name and media type, when it is an attachment the glob and media types
/// want.
fn wanted_part(part: &ParsedMail<'_>, glob: &str, media_types: &[String]) -> Option<(String, String)> {
    let disposition = part.get_content_disposition();
    let name = disposition
        .params
        .get("filename")
        .or_else(|| part.ctype.params.get("name"))
        .map(|n| n.trim().to_string());
    let file_name = name.filter(|n| !n.is_empty())?;
    let media_type = part.ctype.mimetype.to_lowercase();
    (glob_matches(glob, &file_name) && media_types.iter().any(|m| m.eq_ignore_ascii_case(&media_type)))
        .then_some((file_name, media_type))
}

/// The file name and media type of a part described by `header` alone (a part's own MIME
/// header, or one rebuilt from the message's structure), when it is a wanted attachment.
pub fn wanted(header: &[u8], glob: &str, media_types: &[String]) -> Option<(String, String)> {
    let part = mailparse::parse_mail(header).ok()?;
    wanted_part(&part, glob, media_types)
}

/// A part's bytes with its transfer encoding undone, from its MIME `header` and its `body` as
/// downloaded.
pub fn decode_part(header: &[u8], body: &[u8]) -> Result<Vec<u8>, MailParseError> {
    let whole = [header, body].concat();
    mailparse::parse_mail(&whole)?.get_body_raw()
}

fn collect(
    part: &ParsedMail<'_>,
    glob: &str,
    media_types: &[String],
    out: &mut Vec<Attachment>,
) -> Result<(), MailParseError> {
    if !part.subparts.is_empty() {
        for sub in &part.subparts {
            collect(sub, glob, media_types, out)?;
        }
        return Ok(());
    }
    let Some((file_name, media_type)) = wanted_part(part, glob, media_types) else {
        return Ok(());
    };
    out.push(Attachment {
        file_name,
        media_type,
        bytes: part.get_body_raw()?,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types() -> Vec<String> {
        DEFAULT_MEDIA_TYPES.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn nested_parts_and_an_rfc2231_windows_1252_name_are_found_with_their_bytes() {
        let raw = b"From: Returns <Returns@Riverside-Farm.test>\r\nSubject: =?utf-8?q?Register_=E2=9C=93?=\r\n\
Message-ID: <1@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n\
--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n--inner\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
--inner\r\nContent-Type: multipart/mixed; boundary=deep\r\n\r\n--deep\r\n\
Content-Type: text/csv\r\nContent-Disposition: attachment; filename*=windows-1252''r%E9gister%20w%2Fc.csv\r\n\
Content-Transfer-Encoding: base64\r\n\r\nYSxiDQox\r\n--deep--\r\n--inner--\r\n\
--outer\r\nContent-Type: image/png; name=logo.png\r\nContent-Disposition: inline; filename=logo.png\r\n\r\nPNG\r\n--outer--\r\n";
        let m = parse(raw, "*", &types()).unwrap();
        assert_eq!(m.sender.as_deref(), Some("returns@riverside-farm.test"));
        assert_eq!(m.subject, "Register ✓");
        assert_eq!(
            m.attachments,
            [Attachment {
                file_name: "régister w/c.csv".into(),
                media_type: "text/csv".into(),
                bytes: b"a,b\r\n1".to_vec(),
            }]
        );
    }

    #[test]
    fn the_glob_and_media_types_filter_attachments() {
        let raw = b"From: a@b.test\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Type: application/pdf; name=\"x.csv\"\r\n\r\n%PDF\r\n--b\r\nContent-Type: text/csv; name=\"notes.txt\"\r\n\r\nx\r\n--b--\r\n";
        assert!(parse(raw, "*.csv", &types()).unwrap().attachments.is_empty());
    }

    #[test]
    fn senders_match_by_address_or_domain() {
        let allowed = vec![
            "office@provider.test".to_string(),
            "@farm.test".into(),
            "hub.test".into(),
        ];
        assert!(sender_allowed(&allowed, "Office@Provider.test"));
        assert!(sender_allowed(&allowed, "anyone@farm.test"));
        assert!(sender_allowed(&allowed, "x@hub.test"));
        assert!(!sender_allowed(&allowed, "x@evil-farm.test"));
        assert!(!sender_allowed(&allowed, "other@provider.test"));
    }
}
