//! A guard on the bytes from the IMAP server: a response nested deeper than [`MAX_NESTING`]
//! parentheses is refused before the parser sees it. imap-proto (under async-imap) parses nested
//! lists by recursion without a limit, so a `BODYSTRUCTURE` a few hundred levels deep (the
//! server's description of a message anyone can send) would overflow the stack and kill the
//! daemon. Quoted strings and literals (`{N}` then N raw bytes: headers, bodies) are skipped, so
//! parentheses in mail never count; depth restarts at each response line.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The deepest nesting let through. Legitimate structures stay far below: Dovecot caps MIME
/// nesting at 100, and imap-proto survives several hundred levels on a 2 MiB stack.
pub(crate) const MAX_NESTING: usize = 128;

/// Where the scanner is in the server's grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between tokens, `depth` parentheses open on this line.
    Normal,
    /// In a quoted string; `escaped` after a backslash.
    Quoted { escaped: bool },
    /// After `{`, reading a literal's length.
    Length(u64),
    /// After a literal's `}`, waiting for its CRLF.
    Announced(u64),
    /// Inside a literal, this many bytes left.
    Literal(u64),
}

/// The scanner: the state, the current depth and the deepest allowed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scanner {
    state: State,
    depth: usize,
    max: usize,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner::new(MAX_NESTING)
    }
}

/// The error a [`NestingGuard`] reads as: the depth reached. It travels inside the
/// `std::io::Error` async-imap passes on, so the source can tell it from a broken connection
/// ([`too_deep`]) and set the one message aside instead of failing the run.
#[derive(Debug)]
pub(crate) struct TooDeep {
    pub depth: usize,
    pub max: usize,
}

impl std::fmt::Display for TooDeep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the server sent a response nested {} levels deep (over {}): most likely a message built to crash mail readers",
            self.depth, self.max
        )
    }
}

impl std::error::Error for TooDeep {}

/// The depth, when this IMAP error is a [`NestingGuard`]'s refusal.
pub(crate) fn too_deep(e: &async_imap::error::Error) -> Option<usize> {
    match e {
        async_imap::error::Error::Io(io) => io.get_ref()?.downcast_ref::<TooDeep>().map(|t| t.depth),
        _ => None,
    }
}

impl Scanner {
    /// A scanner letting through at most `max` levels.
    pub(crate) fn new(max: usize) -> Self {
        Scanner {
            state: State::Normal,
            depth: 0,
            max,
        }
    }

    /// Scans `bytes`; Err once the nesting passes the scanner's maximum.
    pub(crate) fn scan(&mut self, bytes: &[u8]) -> Result<(), usize> {
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            self.state = match self.state {
                State::Literal(left) => {
                    // Skip the literal's bytes in one step.
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len() - i);
                    i += take;
                    let left = left - take as u64;
                    self.state = if left == 0 { State::Normal } else { State::Literal(left) };
                    continue;
                }
                State::Quoted { escaped: true } => State::Quoted { escaped: false },
                State::Quoted { escaped: false } => match b {
                    b'\\' => State::Quoted { escaped: true },
                    b'"' => State::Normal,
                    _ => State::Quoted { escaped: false },
                },
                State::Length(n) => match b {
                    b'0'..=b'9' => State::Length(n.saturating_mul(10).saturating_add(u64::from(b - b'0'))),
                    b'+' | b'-' => State::Length(n),
                    b'}' => State::Announced(n),
                    _ => State::Normal,
                },
                State::Announced(n) => match b {
                    b'\r' => State::Announced(n),
                    b'\n' if n == 0 => State::Normal,
                    b'\n' => State::Literal(n),
                    _ => State::Normal,
                },
                State::Normal => {
                    match b {
                        b'(' => {
                            self.depth += 1;
                            if self.depth > self.max {
                                return Err(self.depth);
                            }
                        }
                        b')' => self.depth = self.depth.saturating_sub(1),
                        b'\n' => self.depth = 0,
                        _ => {}
                    }
                    match b {
                        b'"' => State::Quoted { escaped: false },
                        b'{' => State::Length(0),
                        _ => State::Normal,
                    }
                }
            };
            i += 1;
        }
        Ok(())
    }
}

/// A stream whose incoming bytes pass through a [`Scanner`]; writes go through untouched.
#[derive(Debug)]
pub(crate) struct NestingGuard<S> {
    inner: S,
    scanner: Scanner,
}

impl<S> NestingGuard<S> {
    /// `inner` guarded at `max` levels.
    pub(crate) fn new(inner: S, max: usize) -> Self {
        NestingGuard {
            inner,
            scanner: Scanner::new(max),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for NestingGuard<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let fresh = buf.filled()[before..].to_vec();
            if let Err(depth) = self.scanner.scan(&fresh) {
                // The bytes are withheld: the parser never sees the deep structure.
                buf.set_filled(before);
                let max = self.scanner.max;
                return Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    TooDeep { depth, max },
                )));
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for NestingGuard<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(parts: &[&[u8]]) -> Result<(), usize> {
        let mut s = Scanner::default();
        parts.iter().try_for_each(|p| s.scan(p))
    }

    #[test]
    fn ordinary_responses_pass_and_a_deep_one_is_stopped_even_across_reads() {
        let ok = b"* 1 FETCH (UID 7 BODYSTRUCTURE ((\"text\" \"plain\" NIL NIL NIL \"7bit\" 5 1)(\"text\" \"csv\" (\"name\" \"a.csv\") NIL NIL \"base64\" 100 2) \"mixed\"))\r\n";
        assert_eq!(scan(&[ok]), Ok(()));
        let deep = format!("* 1 FETCH (BODYSTRUCTURE {}", "(".repeat(2000));
        let (a, b) = deep.as_bytes().split_at(70);
        assert_eq!(scan(&[a, b]), Err(MAX_NESTING + 1));
        // Exactly the limit is allowed; each line starts again.
        let limit = format!("{}{}\r\n", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert_eq!(scan(&[limit.as_bytes(), limit.as_bytes()]), Ok(()));
        let unclosed = format!("* OK {}\r\n", "(".repeat(MAX_NESTING));
        assert_eq!(
            scan(&[unclosed.as_bytes(), unclosed.as_bytes()]),
            Ok(()),
            "a new line, a new count"
        );
    }

    #[test]
    fn parentheses_in_quoted_strings_and_literals_do_not_count() {
        let parens = "(".repeat(1000);
        let quoted = format!("* 1 FETCH (ENVELOPE (\"{parens} \\\" {parens}\" NIL))\r\n");
        assert_eq!(scan(&[quoted.as_bytes()]), Ok(()));
        let literal = format!("* 1 FETCH (BODY[HEADER] {{{}}}\r\n{parens})\r\n", parens.len());
        let (a, b) = literal.as_bytes().split_at(30);
        assert_eq!(scan(&[a, b]), Ok(()), "a literal split across reads");
        let plus = format!("* 1 FETCH (BODY[1] {{{}+}}\r\n{parens})\r\n", parens.len());
        assert_eq!(scan(&[plus.as_bytes()]), Ok(()));
        // After the literal, counting goes on.
        let after = format!("* 1 FETCH (BODY[1] {{3}}\r\n(((){}\r\n", "(".repeat(MAX_NESTING + 5));
        assert!(scan(&[after.as_bytes()]).is_err());
    }
}
