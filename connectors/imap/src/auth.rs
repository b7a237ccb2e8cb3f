//! Whether an email really comes from the provider it names.
//!
//! A `From:` header is text anyone can write, so an allowed address proves nothing by itself.
//! A message counts only when one of these says it is genuine:
//! - the school's own receiving system, in the topmost `Authentication-Results` header (RFC 8601)
//!   that carries one of the school's trusted authserv-ids: `dmarc=pass`, or `dkim=pass` with a
//!   signing domain (`header.d`) aligned with the sender's domain ([`judge_verdict`]);
//! - a DKIM signature verified here, with the signer's key from DNS ([`crate::dkim`]).
//!
//! Everything here is pure: headers in, a [`Judgement`] out.

use apsync_connector_core::{ErrorCode, printable};
use serde::{Deserialize, Serialize};

/// How a connector decides that a message is genuine: `[connector.imap] authentication`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Authentication {
    /// The receiving system's `Authentication-Results` verdict, from a trusted authserv-id.
    #[default]
    Verdict,
    /// A DKIM signature verified by apsync itself.
    Dkim,
    /// No proof: the school accepts such mail knowingly, and every row goes to review.
    Review,
}

impl Authentication {
    /// As written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Authentication::Verdict => "verdict",
            Authentication::Dkim => "dkim",
            Authentication::Review => "review",
        }
    }
}

/// One `method=result` of an `Authentication-Results` header, with its properties
/// (`header.d=example.org` as `("header.d", "example.org")`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    /// `dmarc`, `dkim`, `spf`, ... lower case.
    pub method: String,
    /// `pass`, `fail`, `none`, ... lower case.
    pub result: String,
    /// The properties, names lower case, values as written (quotes removed).
    pub properties: Vec<(String, String)>,
}

impl MethodResult {
    fn property(&self, name: &str) -> Option<&str> {
        self.properties.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// One parsed `Authentication-Results` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultsHeader {
    /// Who wrote it, as it names itself; `None` when the header starts straight with a result
    /// (some systems write it so), which can never be trusted.
    pub authserv_id: Option<String>,
    /// Its results, in order.
    pub results: Vec<MethodResult>,
}

/// Removes RFC 5322 comments (`(sender IP is 1.2.3.4)`), which may nest and hold `;` or `=`.
fn strip_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut depth = 0u32;
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    v.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v)
        .replace("\\\"", "\"")
}

/// Parses one `Authentication-Results` header value. Unparseable pieces are skipped: a
/// result that cannot be read is never a pass.
pub fn parse_results(value: &str) -> ResultsHeader {
    let clean = strip_comments(value);
    let mut segments = clean.split(';');
    let first = segments.next().unwrap_or("").trim();
    let mut results = Vec::new();
    let authserv_id = if first.contains('=') {
        // No authserv-id: the first segment is already a result.
        results.extend(parse_result(first));
        None
    } else {
        // `authserv-id [version]`.
        first.split_whitespace().next().map(str::to_ascii_lowercase)
    };
    results.extend(segments.filter_map(parse_result));
    ResultsHeader { authserv_id, results }
}

fn parse_result(segment: &str) -> Option<MethodResult> {
    let mut words = segment.split_whitespace();
    let (method, result) = words.next()?.split_once('=')?;
    // `dkim/1=pass`: a method version.
    let method = method.split('/').next().unwrap_or(method).trim().to_ascii_lowercase();
    let mut properties = Vec::new();
    for word in words {
        if let Some((name, value)) = word.split_once('=')
            && name.contains('.')
        {
            properties.push((name.to_ascii_lowercase(), unquote(value)));
        }
    }
    (!method.is_empty()).then(|| MethodResult {
        method,
        result: result.trim().to_ascii_lowercase(),
        properties,
    })
}

/// What was decided about a message's authenticity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// Genuine: how it was shown (`dmarc=pass by mx.school.example`).
    Authenticated(String),
    /// Not shown genuine: why, in words for IT, and the verdict seen (if any), escaped.
    Refused {
        /// A stable code: `IMAP-UNAUTHENTICATED`, `IMAP-UNTRUSTED-VERDICT`, `IMAP-NO-VERDICT`.
        code: ErrorCode,
        /// What happened and what to do.
        reason: String,
        /// The verdict header that decided it, if one did.
        verdict: Option<String>,
    },
}

/// Whether `signer` (a DKIM `d=`) is aligned with `domain` (the `From:` address's domain) in
/// DMARC's relaxed sense: the same domain, or one a parent of the other. A bare top-level
/// domain is never a signer of anything.
pub fn aligned(signer: &str, domain: &str) -> bool {
    let signer = signer.trim().trim_end_matches('.').to_ascii_lowercase();
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    if signer.is_empty() || domain.is_empty() || !signer.contains('.') || !domain.contains('.') {
        return false;
    }
    signer == domain || domain.ends_with(&format!(".{signer}")) || signer.ends_with(&format!(".{domain}"))
}

/// Judges a message by its `Authentication-Results` headers, given topmost first as they
/// appear in the message (each receiving hop adds its own on top). Only the topmost header
/// whose authserv-id is trusted counts: anyone can write such a header further down, or one
/// naming some other system.
pub fn judge_verdict(headers: &[String], trusted: &[String], from_domain: &str) -> Judgement {
    let trusted: Vec<String> = trusted.iter().map(|t| t.trim().to_ascii_lowercase()).collect();
    let parsed: Vec<ResultsHeader> = headers.iter().map(|h| parse_results(h)).collect();
    let Some((index, header)) = parsed
        .iter()
        .enumerate()
        .find(|(_, h)| h.authserv_id.as_ref().is_some_and(|id| trusted.contains(id)))
    else {
        return refuse_without_trusted(&parsed, headers, &trusted);
    };
    let verdict = Some(printable(&headers[index], 400));
    let by = header.authserv_id.clone().unwrap_or_default();
    let dmarc = header.results.iter().find(|r| r.method == "dmarc");
    if let Some(d) = dmarc
        && d.result == "pass"
        && d.property("header.from")
            .is_none_or(|f| f.eq_ignore_ascii_case(from_domain))
    {
        return Judgement::Authenticated(format!("dmarc=pass by {by}"));
    }
    let dkim = header.results.iter().find(|r| {
        r.method == "dkim"
            && r.result == "pass"
            && r.property("header.d")
                .or_else(|| r.property("header.i").map(|i| i.rsplit('@').next().unwrap_or(i)))
                .is_some_and(|d| aligned(d, from_domain))
    });
    if let Some(d) = dkim {
        let signer = d.property("header.d").unwrap_or_default();
        return Judgement::Authenticated(format!("dkim=pass header.d={signer} by {by}"));
    }
    let summary: Vec<String> = header
        .results
        .iter()
        .filter(|r| matches!(r.method.as_str(), "dmarc" | "dkim" | "spf"))
        .map(|r| format!("{}={}", r.method, r.result))
        .collect();
    Judgement::Refused {
        code: ErrorCode::ImapUnauthenticated,
        reason: format!(
            "{by} did not authenticate the sender ({}): it needs dmarc=pass, or dkim=pass signed by the sender's domain {}",
            if summary.is_empty() {
                "no dmarc or dkim result".to_string()
            } else {
                summary.join(", ")
            },
            printable(from_domain, 100),
        ),
        verdict,
    }
}

fn refuse_without_trusted(parsed: &[ResultsHeader], headers: &[String], trusted: &[String]) -> Judgement {
    let others: Vec<String> = parsed
        .iter()
        .map(|h| h.authserv_id.clone().unwrap_or_else(|| "(no authserv-id)".into()))
        .collect();
    if others.is_empty() {
        return Judgement::Refused {
            code: ErrorCode::ImapNoVerdict,
            reason: format!(
                "the message has no Authentication-Results header from {}: the school's mail system did not vouch for the sender",
                trusted.join(" or ")
            ),
            verdict: None,
        };
    }
    Judgement::Refused {
        code: ErrorCode::ImapUntrustedVerdict,
        reason: format!(
            "its Authentication-Results come only from {}, not from trusted_authserv_ids ({}); anyone can write such a header, so it proves nothing. If that is the school's own mail system, add its id to trusted_authserv_ids",
            printable(&others.join(", "), 200),
            trusted.join(", ")
        ),
        verdict: headers.first().map(|h| printable(h, 400)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted() -> Vec<String> {
        vec!["mx.school.example".into()]
    }

    fn judge(headers: &[&str]) -> Judgement {
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        judge_verdict(&headers, &trusted(), "oakfarm.example")
    }

    #[test]
    fn the_spoof_in_the_issue_is_refused_with_the_verdict_seen() {
        let j = judge(&[
            "mx.school.example; spf=fail smtp.mailfrom=evil.example; dkim=none; dmarc=fail header.from=oakfarm.example",
        ]);
        let Judgement::Refused { code, reason, verdict } = j else {
            panic!("{j:?}")
        };
        assert_eq!(code, ErrorCode::ImapUnauthenticated);
        assert!(reason.contains("dmarc=fail"), "{reason}");
        assert!(verdict.is_some_and(|v| v.contains("spf=fail")));
    }

    #[test]
    fn dmarc_pass_or_aligned_dkim_pass_from_a_trusted_id_authenticates() {
        assert!(matches!(
            judge(&["mx.school.example; dmarc=pass (p=reject) header.from=oakfarm.example"]),
            Judgement::Authenticated(_)
        ));
        assert!(matches!(
            judge(&[
                "Mx.School.Example 1; dkim=pass (2048-bit key) header.d=mail.oakfarm.example header.s=s1; dmarc=none"
            ]),
            Judgement::Authenticated(_)
        ));
        // Signed, but by someone else's domain: not aligned.
        assert!(matches!(
            judge(&["mx.school.example; dkim=pass header.d=bulkmailer.example; dmarc=none"]),
            Judgement::Refused {
                code: ErrorCode::ImapUnauthenticated,
                ..
            }
        ));
        // A dmarc pass for another From domain does not count.
        assert!(matches!(
            judge(&["mx.school.example; dmarc=pass header.from=evil.example"]),
            Judgement::Refused { .. }
        ));
    }

    #[test]
    fn only_the_topmost_trusted_header_counts() {
        // The school's system (topmost) says fail; a forged pass further down is ignored.
        assert!(matches!(
            judge(&[
                "mx.school.example; dmarc=fail header.from=oakfarm.example",
                "mx.school.example; dmarc=pass header.from=oakfarm.example",
            ]),
            Judgement::Refused { .. }
        ));
        // An untrusted pass above the trusted fail changes nothing.
        assert!(matches!(
            judge(&[
                "mx.evil.example; dmarc=pass header.from=oakfarm.example",
                "mx.school.example; dmarc=fail",
            ]),
            Judgement::Refused {
                code: ErrorCode::ImapUnauthenticated,
                ..
            }
        ));
    }

    #[test]
    fn untrusted_or_missing_verdicts_are_refused_and_say_so() {
        assert!(matches!(
            judge(&["mx.evil.example; dmarc=pass header.from=oakfarm.example"]),
            Judgement::Refused {
                code: ErrorCode::ImapUntrustedVerdict,
                ..
            }
        ));
        // No authserv-id at all: the first word is already a result.
        assert!(matches!(
            judge(&["dmarc=pass action=none header.from=oakfarm.example"]),
            Judgement::Refused {
                code: ErrorCode::ImapUntrustedVerdict,
                ..
            }
        ));
        assert!(matches!(
            judge(&[]),
            Judgement::Refused {
                code: ErrorCode::ImapNoVerdict,
                ..
            }
        ));
    }

    #[test]
    fn comments_quotes_and_versions_are_read() {
        let h = parse_results(
            "mx.school.example 1; spf=pass (sender IP is 1.2.3.4; see=x) smtp.mailfrom=oakfarm.example;\r\n dkim/1=pass header.d=\"oakfarm.example\" header.b=abc",
        );
        assert_eq!(h.authserv_id.as_deref(), Some("mx.school.example"));
        assert_eq!(h.results.len(), 2);
        assert_eq!(h.results[1].method, "dkim");
        assert_eq!(h.results[1].property("header.d"), Some("oakfarm.example"));
    }

    #[test]
    fn alignment_is_relaxed_but_never_by_a_bare_tld() {
        assert!(aligned("oakfarm.example", "oakfarm.example"));
        assert!(aligned("oakfarm.example", "mail.oakfarm.example"));
        assert!(aligned("mail.oakfarm.example", "oakfarm.example"));
        assert!(!aligned("example", "oakfarm.example"));
        assert!(!aligned("evil-oakfarm.example", "oakfarm.example"));
        assert!(!aligned("", "oakfarm.example"));
    }
}
