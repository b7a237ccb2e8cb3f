//! Judging a message by its header alone, before any of its body is downloaded: one `From:`
//! with one address, an accepted sender, a size the provider's limit allows, and (with
//! `authentication = "verdict"`) the school's mail system vouching for it.

use apsync_connector_core::{ErrorCode, printable};
use mailparse::{MailAddr, MailHeaderMap};

use crate::auth::{Authentication, Judgement, judge_verdict};
use crate::mime::sender_allowed;

/// At most this much of a message's header is read; a longer header is refused.
pub(crate) const HEADER_LIMIT: usize = 64 * 1024;

/// What the screening needs from the connector's configuration.
pub(crate) struct Policy<'a> {
    pub senders: &'a [String],
    pub authentication: Authentication,
    pub trusted: &'a [String],
    /// The largest message (all parts, transfer-encoded) that can carry an allowed attachment.
    pub max_message_bytes: u64,
}

/// A message worth downloading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Envelope {
    /// The `From:` address, lower case.
    pub sender: String,
    /// Its domain.
    pub domain: String,
    /// `Subject`, decoded and made printable.
    pub subject: String,
    /// `Message-ID`, made printable.
    pub message_id: Option<String>,
    /// How it was shown genuine, if it was yet (`None`: DKIM is checked once downloaded).
    pub authenticated: Option<String>,
    /// Why its rows all go to review, with `authentication = "review"`.
    pub hold_for_review: Option<String>,
}

/// A message turned away by its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Turned {
    pub code: ErrorCode,
    pub reason: String,
    /// The claimed sender, printable, when there was one.
    pub sender: Option<String>,
    pub subject: String,
    pub verdict: Option<String>,
}

/// Screens a message by its header (at most [`HEADER_LIMIT`] bytes of it) and its size.
pub(crate) fn screen(header: &[u8], size: u64, policy: &Policy<'_>) -> Result<Envelope, Turned> {
    let turned = |code, reason: String, sender: Option<String>, subject: String| Turned {
        code,
        reason,
        sender,
        subject,
        verdict: None,
    };
    let complete = header.ends_with(b"\r\n\r\n") || header.ends_with(b"\n\n");
    if header.len() >= HEADER_LIMIT && !complete {
        let reason = format!(
            "its header is over {} KiB, which no provider's return needs",
            HEADER_LIMIT / 1024
        );
        return Err(turned(ErrorCode::ImapHeader, reason, None, String::new()));
    }
    let (headers, _) = mailparse::parse_headers(header).map_err(|e| {
        turned(
            ErrorCode::ImapMime,
            format!(
                "its header cannot be read as an email's: {}",
                printable(&e.to_string(), 200)
            ),
            None,
            String::new(),
        )
    })?;
    let subject = printable(&headers.get_first_value("Subject").unwrap_or_default(), 200);
    let froms = headers.get_all_headers("From");
    let addresses: Vec<String> = froms
        .iter()
        .filter_map(|h| mailparse::addrparse_header(h).ok())
        .flat_map(|list| {
            list.iter()
                .flat_map(|a| match a {
                    MailAddr::Single(s) => vec![s.addr.to_lowercase()],
                    MailAddr::Group(g) => g.addrs.iter().map(|s| s.addr.to_lowercase()).collect(),
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let shown = addresses.first().map(|a| printable(a, 200));
    if froms.len() != 1 || addresses.len() != 1 {
        let reason = format!(
            "it has {} From: header(s) naming {} address(es); a return must name exactly one sender, so it cannot be attributed",
            froms.len(),
            addresses.len()
        );
        return Err(turned(ErrorCode::ImapFrom, reason, shown, subject));
    }
    let sender = addresses[0].clone();
    if !sender_allowed(policy.senders, &sender) {
        let reason = "the sender is not in senders, so nothing was imported from it; if the provider really sends from there, add the address to [connector.imap] senders".to_string();
        return Err(turned(ErrorCode::ImapSender, reason, shown, subject));
    }
    if size > policy.max_message_bytes {
        let reason = format!(
            "the message is {size} bytes, more than an attachment within the provider's limit needs ({} bytes); ask the provider to send a smaller file, or raise limits.max_file_bytes in its format",
            policy.max_message_bytes
        );
        return Err(turned(ErrorCode::ImapTooBig, reason, shown, subject));
    }
    let domain = sender.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
    let mut envelope = Envelope {
        sender,
        domain,
        subject,
        message_id: headers.get_first_value("Message-ID").map(|m| printable(&m, 200)),
        authenticated: None,
        hold_for_review: None,
    };
    match policy.authentication {
        Authentication::Verdict => {
            let results = headers.get_all_values("Authentication-Results");
            match judge_verdict(&results, policy.trusted, &envelope.domain) {
                Judgement::Authenticated(how) => envelope.authenticated = Some(how),
                Judgement::Refused { code, reason, verdict } => {
                    return Err(Turned {
                        code,
                        reason,
                        sender: shown,
                        subject: envelope.subject,
                        verdict,
                    });
                }
            }
        }
        Authentication::Dkim => {}
        Authentication::Review => {
            envelope.hold_for_review = Some(
                "the email's sender was not authenticated (the connector accepts such mail with authentication = \"review\")"
                    .into(),
            );
        }
    }
    Ok(envelope)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(authentication: Authentication) -> (Vec<String>, Vec<String>, Authentication) {
        (
            vec!["@oakfarm.example".into()],
            vec!["mx.school.example".into()],
            authentication,
        )
    }

    fn run(header: &str, authentication: Authentication) -> Result<Envelope, Turned> {
        let (senders, trusted, authentication) = policy(authentication);
        screen(
            header.as_bytes(),
            1000,
            &Policy {
                senders: &senders,
                authentication,
                trusted: &trusted,
                max_message_bytes: 10_000,
            },
        )
    }

    const PASS: &str = "Authentication-Results: mx.school.example; dmarc=pass header.from=oakfarm.example\r\n";

    #[test]
    fn one_from_one_address_an_allowed_sender_and_a_trusted_pass() {
        let ok = run(
            &format!("{PASS}From: Oak Farm <Learning@OakFarm.example>\r\nSubject: week 1\r\n\r\n"),
            Authentication::Verdict,
        )
        .unwrap();
        assert_eq!(ok.sender, "learning@oakfarm.example");
        assert!(ok.authenticated.is_some_and(|a| a.contains("dmarc=pass")));
    }

    #[test]
    fn several_from_headers_or_addresses_are_refused() {
        let two = run(
            &format!("{PASS}From: a@oakfarm.example\r\nFrom: b@evil.example\r\n\r\n"),
            Authentication::Verdict,
        );
        assert_eq!(two.unwrap_err().code, ErrorCode::ImapFrom);
        let pair = run(
            &format!("{PASS}From: a@oakfarm.example, b@evil.example\r\n\r\n"),
            Authentication::Verdict,
        );
        assert_eq!(pair.unwrap_err().code, ErrorCode::ImapFrom);
    }

    #[test]
    fn a_strangers_subject_is_made_printable() {
        let t = run(
            "From: x@evil.example\r\nSubject: =?utf-8?q?hi=0D=0Alevel=3DERROR?=\r\n\r\n",
            Authentication::Verdict,
        )
        .unwrap_err();
        assert_eq!(t.code, ErrorCode::ImapSender);
        assert!(!t.subject.contains('\n') && !t.subject.contains('\r'), "{}", t.subject);
    }

    #[test]
    fn review_mode_accepts_but_holds_and_dkim_mode_waits_for_the_body() {
        let held = run("From: a@oakfarm.example\r\n\r\n", Authentication::Review).unwrap();
        assert!(held.hold_for_review.is_some() && held.authenticated.is_none());
        let dkim = run("From: a@oakfarm.example\r\n\r\n", Authentication::Dkim).unwrap();
        assert!(dkim.hold_for_review.is_none() && dkim.authenticated.is_none());
    }
}
