//! Line numbers for records read from a stream: a person finds a row by its line.

use std::collections::VecDeque;
use std::io::Read;

/// Passes text through, noting where each line break is, so that a record's starting offset
/// becomes its line number. Breaks are `\n`, `\r\n` and a lone `\r`; only those not yet passed
/// are kept, so memory stays bounded by the reader's buffer.
pub struct LineTracking<R> {
    inner: R,
    /// Offset of the next byte read from `inner`.
    offset: u64,
    /// Breaks not yet counted: (start, length).
    breaks: VecDeque<(u64, u64)>,
    /// A `\r` at the end of the last read, which may start a `\r\n`.
    pending_cr: Option<u64>,
    /// Breaks counted so far.
    counted: usize,
}

impl<R: Read> LineTracking<R> {
    /// Tracks the lines of `inner`.
    pub fn new(inner: R) -> Self {
        LineTracking {
            inner,
            offset: 0,
            breaks: VecDeque::new(),
            pending_cr: None,
            counted: 0,
        }
    }

    /// The line (from 1) that a record starting at `offset` is on. The csv crate may report a
    /// record's start at the line break before it, so breaks at the offset are stepped over (a
    /// record never starts with one: blank lines are not records). Offsets must not go back.
    pub fn line_at(&mut self, mut offset: u64) -> usize {
        while let Some(&(start, len)) = self.breaks.front() {
            if start > offset {
                break;
            }
            offset = offset.max(start + len);
            self.counted += 1;
            self.breaks.pop_front();
        }
        if self.pending_cr == Some(offset) {
            self.counted += 1;
            self.pending_cr = None;
        }
        self.counted + 1
    }

    fn note(&mut self, bytes: &[u8]) {
        let base = self.offset;
        self.offset += bytes.len() as u64;
        let mut from = 0;
        if let Some(cr) = self.pending_cr.take() {
            if bytes.first() == Some(&b'\n') {
                self.breaks.push_back((cr, 2));
                from = 1;
            } else {
                self.breaks.push_back((cr, 1));
            }
        }
        let mut skip_lf = None;
        for i in memchr::memchr2_iter(b'\r', b'\n', &bytes[from..]).map(|i| i + from) {
            if skip_lf == Some(i) {
                continue;
            }
            let at = base + i as u64;
            if bytes[i] == b'\n' {
                self.breaks.push_back((at, 1));
                continue;
            }
            match bytes.get(i + 1) {
                Some(b'\n') => {
                    self.breaks.push_back((at, 2));
                    skip_lf = Some(i + 1);
                }
                Some(_) => self.breaks.push_back((at, 1)),
                None => self.pending_cr = Some(at),
            }
        }
    }
}

impl<R: Read> Read for LineTracking<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            if let Some(cr) = self.pending_cr.take() {
                self.breaks.push_back((cr, 1));
            }
        } else {
            self.note(&buf[..n]);
        }
        Ok(n)
    }
}
