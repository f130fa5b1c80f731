//! `netstack bench`: bulk TCP throughput of our stack next to smoltcp 0.14, measured in
//! one run on the same link.
//!
//! Two settings:
//!
//! - **TAP, Linux kernel as the peer** ([`ours`], [`smol`], [`linux`]). Each stack in
//!   turn opens the same TAP, serves TCP *discard* (port 9: read and drop) and *byte
//!   source* (port 19: write bytes until told to stop), and a kernel socket in this
//!   process (we run inside a private network namespace, so the kernel owns the other
//!   end of the TAP) connects to it, reads or writes N bytes, and closes. Both stacks
//!   get the same socket buffer sizes, the same MTU, the same address and MAC, and the
//!   same application work (one copy of every byte into or out of a user buffer).
//! - **In memory, no device** ([`memory`]): two of our engines exchanging frames in one
//!   thread with nothing in between, next to smoltcp's loopback benchmark (two sockets
//!   on one `Loopback` interface), and two of our runtimes on a `MemoryLink`.
//!
//! The floor ([`floor`]): no stack on the TAP, only the per-frame work every stack
//! must do (checksums, one copy of the payload, ACKs), the device's own limit.
//!
//! Latency (`--rr`, [`rr`]): request/response transactions with our stack,
//! smoltcp and Linux over a veth pair as clients of an echo server.
//!
//! Throughput is always measured where the bytes arrive: from the first byte received
//! to the N-th. It is a benchmark, not a test: nothing asserts on a time.

pub mod floor;
pub mod linux;
pub mod lossy;
pub mod memory;
pub mod ours;
pub mod report;
pub mod rr;
pub mod smol;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// TCP port of the discard service (RFC 863): the stack reads and drops.
pub const DISCARD_PORT: u16 = 9;
/// TCP port of the byte source (chargen's port, RFC 864): the stack writes.
pub const SOURCE_PORT: u16 = 19;
/// Size of the application's user buffer for every `send`/`recv` call, on every side.
pub const APP_CHUNK: usize = 256 * 1024;

/// Which way the bytes flow, seen from the stack under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// The stack sends (byte source), the kernel reads.
    Send,
    /// The stack receives (discard), the kernel writes.
    Recv,
}

impl Dir {
    /// Both directions, sending first.
    pub const ALL: [Dir; 2] = [Dir::Send, Dir::Recv];

    /// The service port the stack listens on for this direction.
    pub fn port(self) -> u16 {
        match self {
            Dir::Send => SOURCE_PORT,
            Dir::Recv => DISCARD_PORT,
        }
    }

    /// Human name for tables.
    pub fn label(self) -> &'static str {
        match self {
            Dir::Send => "stack sends",
            Dir::Recv => "stack receives",
        }
    }
}

/// One measured transfer: `bytes` arrived in `elapsed` (first byte to last).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transfer {
    /// Bytes that arrived.
    pub bytes: u64,
    /// Time from the first byte's arrival to the last one's.
    pub elapsed: Duration,
}

impl Transfer {
    /// Throughput in Gbit/s (10^9 bits per second).
    pub fn gbps(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        self.bytes as f64 * 8.0 / secs / 1e9
    }
}

/// Counts arriving bytes and times them from the first to the last.
#[derive(Clone, Copy, Debug, Default)]
pub struct Meter {
    first: Option<std::time::Instant>,
    last: Option<std::time::Instant>,
    /// Bytes seen so far.
    pub bytes: u64,
}

impl Meter {
    /// Records `n` bytes arriving now (`n` = 0 is ignored).
    pub fn arrived(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        let now = std::time::Instant::now();
        self.first.get_or_insert(now);
        self.last = Some(now);
        self.bytes += n as u64;
    }
    /// In a busy loop (checked every 1024 turns, so the clock costs nothing):
    /// the error of a transfer of `bytes` that passed its `deadline`.
    pub fn overdue(
        &self,
        spins: u32,
        deadline: std::time::Instant,
        bytes: u64,
    ) -> Result<(), String> {
        if spins.is_multiple_of(1024) && std::time::Instant::now() >= deadline {
            return Err(format!("timed out after {} of {bytes} bytes", self.bytes));
        }
        Ok(())
    }

    /// The transfer so far.
    pub fn transfer(&self) -> Transfer {
        let elapsed = match (self.first, self.last) {
            (Some(a), Some(b)) => b.duration_since(a),
            _ => Duration::ZERO,
        };
        Transfer {
            bytes: self.bytes,
            elapsed,
        }
    }
}

/// Everything one TAP measurement needs to know.
#[derive(Clone, Debug)]
pub struct TapRun {
    /// TAP interface name (inside this network namespace).
    pub tap: String,
    /// The stack's address and prefix length.
    pub addr: (Ipv4Addr, u8),
    /// The stack's MAC address.
    pub mac: [u8; 6],
    /// IP MTU.
    pub mtu: usize,
    /// Socket buffer size (send and receive) of the stack's sockets.
    pub buffer: usize,
    /// Bytes to transfer.
    pub bytes: u64,
    /// Direction.
    pub dir: Dir,
    /// Give up after this long.
    pub timeout: Duration,
    /// Open the TAP with the virtio-net header and checksum/TSO offloads (ours only:
    /// smoltcp has no use for them).
    pub offload: bool,
    /// Probability that the stack's device drops a frame it receives: loss after
    /// the kernel's transmission succeeded. (nftables on the kernel's output hook
    /// is a local drop to the kernel's TCP, which keeps the segment and sends it
    /// again without a retransmission; a receiver under loss needs this.)
    pub inbound_loss: f64,
}

impl TapRun {
    /// The address the kernel connects to.
    pub fn service(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.addr.0, self.dir.port())
    }
}

/// A byte pattern to send (chargen-like printable text), `len` bytes long.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| b' ' + (i % 95) as u8).collect()
}

/// Parses a byte count: `1000`, `64K`/`64KiB`, `1M`/`1MiB`, `1G`/`1GiB` (binary
/// multiples), or `1KB`/`1MB`/`1GB` (decimal).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(digits_end);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("bad size '{s}' (expected e.g. 1000, 64KiB, 1MiB, 1GiB)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        u => {
            return Err(format!(
                "bad size unit '{u}' in '{s}' (use KiB, MiB, GiB, KB, MB, GB)"
            ))
        }
    };
    let bytes = value * mult as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 / 2.0 {
        return Err(format!("size '{s}' out of range"));
    }
    Ok(bytes as u64)
}

/// Formats a byte count with a binary unit when it is a whole multiple (`64 KiB`).
pub fn format_size(n: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if n >= 1 << shift && n.is_multiple_of(1 << shift) {
            return format!("{} {unit}", n >> shift);
        }
    }
    if n >= 1 << 20 {
        return format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64);
    }
    format!("{n} B")
}

/// Runs `f` and turns a panic inside it into an error (smoltcp's TAP device panics on
/// I/O errors; the benchmark reports them instead).
pub fn catch<T>(what: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(format!("{what} panicked: {msg}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("1 GiB"), Ok(1 << 30));
        assert_eq!(parse_size("0.5GiB"), Ok(1 << 29));
        assert_eq!(parse_size("2MB"), Ok(2_000_000));
        assert!(parse_size("x").is_err());
        assert!(parse_size("1XB").is_err());
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn sizes_format_in_binary_units() {
        assert_eq!(format_size(65536), "64 KiB");
        assert_eq!(format_size(1 << 20), "1 MiB");
        assert_eq!(format_size(1 << 30), "1 GiB");
        assert_eq!(format_size(100), "100 B");
    }

    #[test]
    fn throughput_is_bits_per_second() {
        let t = Transfer {
            bytes: 125_000_000,
            elapsed: Duration::from_secs(1),
        };
        assert!((t.gbps() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_pattern_is_printable() {
        assert!(pattern(1000).iter().all(|b| (b' '..=b'~').contains(b)));
    }
}
