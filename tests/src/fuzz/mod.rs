//! Fuzz harnesses. Each takes a fuzzer's bytes and drives one part of netstack
//! with them:
//!
//! - [`frames`]: frames from the wire, built from the bytes with our MAC address and
//!   correct checksums (so they pass the link and IP checks and reach the transports),
//!   against an engine holding a listener, two established connections and a UDP
//!   socket, interleaved with socket calls and the passing of time;
//! - [`calls`]: sequences of socket calls, with any arguments, on two engines joined by
//!   a simulated wire;
//! - [`script`]: the packet-script parser, and printing what it parsed back to text.
//!
//! The cargo-fuzz targets in `fuzz/` call these functions, and the test
//! `fuzz_corpus` replays every input kept under `fuzz/corpus/` and
//! `fuzz/regressions/` through them, so a crash once found stays found. A harness
//! panics only when the code under test panics or breaks an invariant it checks.

pub mod calls;
pub mod frames;
pub mod script;

/// The fuzzer's bytes, read front to back; past the end every read gives zero.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Input<'a> {
    /// Reads `data` from the start.
    pub fn new(data: &'a [u8]) -> Input<'a> {
        Input { data, at: 0 }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.at >= self.data.len()
    }

    /// The next byte.
    pub fn u8(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    /// The next two bytes, big-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// The next four bytes, big-endian.
    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// A signed 16-bit offset.
    pub fn i16(&mut self) -> i16 {
        self.u16() as i16
    }

    /// A boolean from the next byte's low bit.
    pub fn bit(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// One of `choices`, picked by the next byte.
    pub fn pick<T: Copy>(&mut self, choices: &[T]) -> T {
        choices[usize::from(self.u8()) % choices.len()]
    }

    /// Up to `n` of the remaining bytes.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let start = self.at.min(self.data.len());
        let end = start.saturating_add(n).min(self.data.len());
        self.at = self.at.saturating_add(n);
        &self.data[start..end]
    }
}
