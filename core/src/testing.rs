//! Helpers shared by the core's tests and the fuzz targets (not part of the API).

use std::io::Read;

/// A reader that hands out at most `step` bytes per read, as a slow socket or pipe does: the
/// streaming decoders must give the same answer however the bytes arrive.
pub struct Trickle<'a> {
    /// What is left to read.
    pub bytes: &'a [u8],
    /// The most bytes one read returns (at least 1).
    pub step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.bytes.len());
        let (now, later) = self.bytes.split_at(n);
        if let Some(b) = buf.get_mut(..n) {
            b.copy_from_slice(now);
        }
        self.bytes = later;
        Ok(n)
    }
}
