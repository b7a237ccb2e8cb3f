//! Reading a run's messages: headers first and screened, then each accepted message downloaded
//! alone, within its own timeout, and split into items (attachments to spool files, or one
//! refusal).

use apsync_connector_core::{
    Body, Document, ErrorCode, ErrorKind, Fetched, ItemRef, Refusal, SourceError, digest::sha256_hex, printable,
};
use chrono::Utc;
use futures_util::TryStreamExt;
use std::sync::Arc;

use super::{HEADER_CHUNK, HELD_BYTES, ImapSource};
use crate::auth::{Authentication, Judgement};
use crate::dkim::{DkimOutcome, DkimResolver, judge_dkim};
use async_imap::imap_proto::SectionPath;

use crate::mime;
use crate::net::{fail, io_error};
use crate::screen::{Envelope, HEADER_LIMIT, Policy, Turned, screen};

impl ImapSource {
    /// Reads the headers (at most [`HEADER_LIMIT`] bytes each), sizes, dates and structures of
    /// these messages, a chunk of UIDs per command. When a chunk holds a message whose structure
    /// trips the nesting guard, its messages are read one at a time, so only that one is set
    /// aside (refused) and the others go on.
    async fn headers(&mut self, uids: &[u32]) -> Result<Vec<Head>, SourceError> {
        let mut heads = Vec::with_capacity(uids.len());
        for chunk in uids.chunks(HEADER_CHUNK) {
            match self.fetch_heads(chunk, true).await? {
                Ok(found) => heads.extend(found),
                Err(_) => {
                    for &uid in chunk {
                        heads.extend(self.head_alone(uid).await?);
                    }
                }
            }
        }
        heads.sort_by_key(|h| h.uid);
        Ok(heads)
    }

    /// One message's head; for one too deeply nested, its header and size without the
    /// structure, marked so that it is refused.
    async fn head_alone(&mut self, uid: u32) -> Result<Option<Head>, SourceError> {
        let depth = match self.fetch_heads(&[uid], true).await? {
            Ok(found) => return Ok(found.into_iter().next()),
            Err(depth) => depth,
        };
        let bare = match self.fetch_heads(&[uid], false).await? {
            Ok(found) => found.into_iter().next(),
            Err(_) => None,
        };
        let mut head = bare.unwrap_or_else(|| Head {
            uid,
            header: Vec::new(),
            size: 0,
            parts: None,
            received_at: Utc::now(),
            too_deep: None,
        });
        head.too_deep = Some(depth);
        Ok(Some(head))
    }

    /// Reads these UIDs' heads, with or without their structure (connecting again if an
    /// earlier step dropped the session); `Ok(Err(depth))` when the nesting guard stopped the
    /// answer, which ends the session.
    async fn fetch_heads(&mut self, uids: &[u32], structure: bool) -> Result<Result<Vec<Head>, usize>, SourceError> {
        let query = head_query(structure);
        if self.session.is_none() {
            self.connect().await?;
        }
        let set = uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        let at = self.at();
        let Some(session) = self.session.as_mut() else {
            return Ok(Ok(Vec::new()));
        };
        let fetched = self
            .endpoint
            .within("reading message headers", async {
                session.uid_fetch(&set, &query).await?.try_collect::<Vec<_>>().await
            })
            .await;
        if let Ok(Err(e)) = &fetched
            && let Some(depth) = crate::nesting::too_deep(e)
        {
            self.session = None;
            return Ok(Err(depth));
        }
        let fetched = fetched.and_then(|r| r.map_err(|e| io_error(&at, "read message headers", e)));
        let heads = self
            .step(fetched)
            .await?
            .iter()
            .filter_map(|f| {
                Some(Head {
                    uid: f.uid?,
                    header: f.header().map(<[u8]>::to_vec).unwrap_or_default(),
                    size: u64::from(f.size.unwrap_or(0)),
                    parts: f.bodystructure().map(crate::parts::leaves),
                    received_at: f
                        .internal_date()
                        .map(|d| d.with_timezone(&Utc))
                        .unwrap_or_else(Utc::now),
                    too_deep: None,
                })
            })
            .collect();
        Ok(Ok(heads))
    }

    /// Downloads one whole message (`section` `None`) or one part of it, within its own timeout.
    async fn download(&mut self, uid: u32, section: Option<&[u32]>) -> Result<Vec<u8>, SourceError> {
        let at = self.at();
        let numbers = section.map(|s| s.iter().map(u32::to_string).collect::<Vec<_>>().join("."));
        let query = format!("(UID BODY.PEEK[{}])", numbers.as_deref().unwrap_or(""));
        let Some(session) = self.session.as_mut() else {
            return Err(io_error(&at, "download a message", "not connected"));
        };
        let downloading = async {
            session
                .uid_fetch(uid.to_string(), &query)
                .await?
                .try_collect::<Vec<_>>()
                .await
        };
        let fetched = self
            .endpoint
            .command(
                &at,
                &format!("downloading message {uid}"),
                "download a message",
                downloading,
            )
            .await;
        let fetched = self.step(fetched).await?;
        Ok(fetched
            .iter()
            .find(|f| f.uid == Some(uid))
            .and_then(|f| match section {
                None => f.body(),
                Some(s) => f.section(&SectionPath::Part(s.to_vec(), None)),
            })
            .map(<[u8]>::to_vec)
            .unwrap_or_default())
    }

    /// Downloads only the parts the glob and media types want, each alone, their transfer
    /// encoding undone; `Ok(Err(why))` when one cannot be decoded.
    async fn download_parts(
        &mut self,
        uid: u32,
        parts: &[crate::parts::Part],
    ) -> Result<(Result<Vec<mime::Attachment>, String>, usize), SourceError> {
        let mut attachments = Vec::new();
        let mut downloaded = 0;
        for part in parts {
            let Some((file_name, media_type)) = mime::wanted(&part.header, &self.glob, &self.media_types) else {
                continue;
            };
            let body = self.download(uid, Some(&part.section)).await?;
            downloaded += body.len();
            match mime::decode_part(&part.header, &body) {
                Ok(bytes) => attachments.push(mime::Attachment {
                    file_name,
                    media_type,
                    bytes,
                }),
                Err(e) => return Ok((Err(printable(&e.to_string(), 200)), downloaded)),
            }
        }
        Ok((Ok(attachments), downloaded))
    }

    fn policy(&self) -> Policy<'_> {
        Policy {
            senders: &self.senders,
            authentication: self.authentication,
            trusted: &self.trusted,
            // An attachment at the limit, base64-encoded (4/3 and line ends), plus room for the
            // rest of the message.
            max_message_bytes: self.max_bytes.saturating_mul(14) / 10 + 256 * 1024,
        }
    }

    /// Notes one item found in this run.
    fn note(&mut self, items: &mut Vec<ItemRef>, external_id: String, display_name: String, found: Fetched) {
        self.found.insert(external_id.clone(), found);
        items.push(ItemRef {
            external_id,
            display_name,
        });
    }

    /// Notes a message refused whole, as one item.
    fn refuse(&mut self, items: &mut Vec<ItemRef>, base: &str, head: &Head, turned: Turned) {
        let sender = turned.sender.clone().unwrap_or_else(|| "(no sender)".into());
        let title = format!("message {} from {sender} ({})", head.uid, turned.subject);
        let refusal = Refusal {
            external_id: format!("{base}:refused"),
            display_name: title.clone(),
            code: turned.code,
            reason: turned.reason,
            sender: turned.sender,
            verdict: turned.verdict,
            size: Some(head.size),
            sha256: None,
            received_at: head.received_at,
            metadata: serde_json::json!({
                "subject": turned.subject, "mailbox": self.mailbox, "uid": head.uid,
            }),
        };
        self.note(items, refusal.external_id.clone(), title, Fetched::Refused(refusal));
    }

    /// Moves these items' attachments from memory to spool files: a run holds one message at a
    /// time, however many it downloads.
    async fn spool_attachments(&mut self, items: &[ItemRef]) -> Result<(), SourceError> {
        for item in items {
            if let Some(Fetched::Document(doc)) = self.found.get_mut(&item.external_id)
                && let Body::Bytes(bytes) = &doc.body
            {
                let path = self.spool.write("imap", bytes).await?;
                doc.body = Body::Spool(path);
            }
        }
        Ok(())
    }

    /// Turns a downloaded message into one item per wanted attachment (or one refusal).
    fn attachments(
        &mut self,
        items: &mut Vec<ItemRef>,
        base: &str,
        head: &Head,
        envelope: &Envelope,
        raw: Downloaded<'_>,
    ) {
        let title = format!(
            "message {} from {} ({})",
            head.uid,
            printable(&envelope.sender, 200),
            envelope.subject
        );
        let turned = |code, reason: String| Turned {
            code,
            reason,
            sender: Some(printable(&envelope.sender, 200)),
            subject: envelope.subject.clone(),
            verdict: None,
        };
        let attachments = match raw {
            Downloaded::Whole(raw) => mime::parse(raw, &self.glob, &self.media_types)
                .map(|m| m.attachments)
                .map_err(|e| printable(&e.to_string(), 200)),
            Downloaded::Parts(parts) => parts,
        };
        let attachments = match attachments {
            Ok(a) => a,
            Err(e) => {
                let reason = format!("it cannot be read as an email: {e}");
                return self.refuse(items, base, head, turned(ErrorCode::ImapMime, reason));
            }
        };
        if attachments.is_empty() {
            let reason = format!(
                "no attachment matching glob `{}` and the accepted media types; nothing to import",
                self.glob
            );
            return self.refuse(items, base, head, turned(ErrorCode::ImapNoAttachment, reason));
        }
        let n = attachments.len();
        for (i, a) in attachments.into_iter().enumerate() {
            let external_id = format!("{base}:{}/{n}", i + 1);
            let name = printable(&a.file_name, 200);
            let found = if a.bytes.len() as u64 > self.max_bytes {
                Fetched::Refused(Refusal {
                    external_id: external_id.clone(),
                    display_name: format!("{title}: {name}"),
                    code: ErrorCode::ImapTooBig,
                    reason: format!(
                        "an attachment is {} bytes, over the provider's limit of {} bytes; ask the provider for a smaller file, or raise limits.max_file_bytes in its format",
                        a.bytes.len(),
                        self.max_bytes
                    ),
                    sender: Some(printable(&envelope.sender, 200)),
                    verdict: envelope.authenticated.clone(),
                    size: Some(a.bytes.len() as u64),
                    sha256: Some(sha256_hex(&a.bytes)),
                    received_at: head.received_at,
                    metadata: serde_json::json!({ "subject": envelope.subject, "mailbox": self.mailbox, "uid": head.uid }),
                })
            } else {
                Fetched::Document(Document {
                    external_id: external_id.clone(),
                    file_name: a.file_name,
                    media_type: Some(a.media_type),
                    body: Body::Bytes(a.bytes),
                    received_at: head.received_at,
                    metadata: serde_json::json!({
                        "sender": envelope.sender, "subject": envelope.subject, "message_id": envelope.message_id,
                        "mailbox": self.mailbox, "uidvalidity": base.rsplit(':').nth(1), "uid": head.uid,
                        "authentication": envelope.authenticated.as_deref().unwrap_or("none (held for review)"),
                    }),
                    hold_for_review: envelope.hold_for_review.clone(),
                })
            };
            self.note(items, external_id, name, found);
        }
    }

    /// Screens, downloads and splits the messages with these UIDs, oldest first, until `limit`
    /// items or [`HELD_BYTES`] of downloads: the rest wait for the next run.
    pub(super) async fn read(
        &mut self,
        uidvalidity: u32,
        uids: &[u32],
        limit: usize,
    ) -> Result<Vec<ItemRef>, SourceError> {
        let heads = self.headers(uids).await?;
        let mut items = Vec::new();
        let mut held = 0usize;
        for head in heads {
            if items.len() >= limit || held >= HELD_BYTES {
                break;
            }
            let base = format!("imap:{}:{uidvalidity}:{}", self.mailbox, head.uid);
            let envelope = match screen(&head.header, head.size, &self.policy()) {
                Ok(e) => e,
                Err(turned) => {
                    self.refuse(&mut items, &base, &head, turned);
                    continue;
                }
            };
            if let Some(depth) = head.too_deep {
                let turned = Turned {
                    code: ErrorCode::ImapNested,
                    reason: format!(
                        "the server describes this message as nested {depth} levels deep (over {}), as only a message built to crash mail readers is; \
                         it was not read. If the provider really sent it, ask them to send the file as a plain attachment",
                        self.endpoint.max_nesting
                    ),
                    sender: Some(printable(&envelope.sender, 200)),
                    subject: envelope.subject.clone(),
                    verdict: None,
                };
                self.refuse(&mut items, &base, &head, turned);
                continue;
            }
            // Only the wanted parts, unless the whole message is needed (a DKIM check covers its
            // body) or the server described no structure.
            let by_parts = match &head.parts {
                Some(parts) if self.authentication != Authentication::Dkim => Some(parts.clone()),
                _ => None,
            };
            let downloaded = match &by_parts {
                Some(parts) => self.download_parts(head.uid, parts).await.map(Fetch::Parts),
                None => self.download(head.uid, None).await.map(Fetch::Whole),
            };
            let fetched = match downloaded {
                Ok(f) => f,
                // The first message fails the run as before; a later one is offered as an item
                // that fails, so the daemon counts it (and sets it aside if it keeps failing),
                // after the messages before it are imported.
                Err(e) if items.is_empty() => return Err(e),
                Err(e) => {
                    let external_id = format!("{base}:failed");
                    self.failed.insert(external_id.clone(), e);
                    items.push(ItemRef {
                        external_id,
                        display_name: format!("message {} from {}", head.uid, printable(&envelope.sender, 200)),
                    });
                    break;
                }
            };
            let mut envelope = envelope;
            let raw = match fetched {
                Fetch::Parts((parts, size)) => {
                    held += size;
                    let first_new = items.len();
                    self.attachments(&mut items, &base, &head, &envelope, Downloaded::Parts(parts));
                    self.spool_attachments(&items[first_new..]).await?;
                    continue;
                }
                Fetch::Whole(raw) => raw,
            };
            held += raw.len();
            if self.authentication == Authentication::Dkim {
                let resolver = match &self.dkim {
                    Some(r) => r.clone(),
                    None => crate::dkim::system_resolver()
                        .map_err(|e| fail(ErrorKind::Config, ErrorCode::ImapDkim, e.to_string()).with_source(e))?,
                };
                match check_dkim(resolver, &self.at(), &raw, &envelope).await {
                    Ok(Ok(how)) => envelope.authenticated = Some(how),
                    Ok(Err(turned)) => {
                        self.refuse(&mut items, &base, &head, turned);
                        continue;
                    }
                    // The key could not be read now: this message and the later ones wait.
                    Err(e) if items.is_empty() => return Err(e),
                    Err(_) => break,
                }
            }
            let first_new = items.len();
            self.attachments(&mut items, &base, &head, &envelope, Downloaded::Whole(&raw));
            drop(raw);
            self.spool_attachments(&items[first_new..]).await?;
        }
        Ok(items)
    }
}

/// Checks a downloaded message's DKIM signatures: how it was shown genuine, or why it is turned
/// away; an error when the key cannot be read just now.
async fn check_dkim(
    resolver: Arc<dyn DkimResolver>,
    at: &str,
    raw: &[u8],
    envelope: &Envelope,
) -> Result<Result<String, Turned>, SourceError> {
    match judge_dkim(resolver.as_ref(), raw, &envelope.domain).await {
        DkimOutcome::Decided(Judgement::Authenticated(how)) => Ok(Ok(how)),
        DkimOutcome::Decided(Judgement::Refused { code, reason, verdict }) => Ok(Err(Turned {
            code,
            reason,
            sender: Some(printable(&envelope.sender, 200)),
            subject: envelope.subject.clone(),
            verdict,
        })),
        DkimOutcome::TryLater(why) => Err(fail(
            ErrorKind::Transient,
            ErrorCode::ImapDkimDns,
            format!("{at}: {why}"),
        )),
    }
}

/// What was downloaded of a message.
enum Fetch {
    /// The whole message.
    Whole(Vec<u8>),
    /// Its wanted parts (or why one cannot be decoded), and the bytes downloaded.
    Parts((Result<Vec<mime::Attachment>, String>, usize)),
}

/// A downloaded message, or its wanted parts, to split into items.
enum Downloaded<'a> {
    Whole(&'a [u8]),
    Parts(Result<Vec<mime::Attachment>, String>),
}

/// A message's header, size and arrival, read before deciding whether to download it.
struct Head {
    uid: u32,
    header: Vec<u8>,
    size: u64,
    /// Its parts, from its BODYSTRUCTURE (`None` if the server gave none).
    parts: Option<Vec<crate::parts::Part>>,
    received_at: chrono::DateTime<Utc>,
    /// The depth its structure reached, when that tripped the nesting guard.
    too_deep: Option<usize>,
}

/// What is read of each message before deciding on it; without the structure (`structure`
/// false) for a message whose structure cannot be read.
fn head_query(structure: bool) -> String {
    let structure = if structure { " BODYSTRUCTURE" } else { "" };
    format!("(UID RFC822.SIZE INTERNALDATE{structure} BODY.PEEK[HEADER]<0.{HEADER_LIMIT}>)")
}
