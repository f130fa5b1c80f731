//! The time-sequence graph (Stevens, tcptrace): for one direction of a
//! connection, each data segment as a vertical bar from its first to its last
//! sequence number at the time it was sent, the receiver's cumulative ACK and the
//! right edge of its window as step lines, its SACK blocks as bars, and
//! retransmissions and urgent data marked.

use std::net::SocketAddrV4;

use super::capture::{Connection, Segment};

/// A vertical mark: at time `t` (seconds), sequence offsets `lo..hi`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bar {
    /// Seconds since the capture began.
    pub t: f64,
    /// First sequence offset.
    pub lo: i64,
    /// One past the last.
    pub hi: i64,
}

/// A step of a line: at time `t`, the value becomes `y`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    /// Seconds since the capture began.
    pub t: f64,
    /// Sequence offset.
    pub y: i64,
}

/// What a time-sequence graph shows, sequence numbers as offsets from the
/// sender's initial sequence number.
#[derive(Clone, Debug, Default)]
pub struct TimeSequence {
    /// The sending end.
    pub sender: Option<SocketAddrV4>,
    /// The receiving end.
    pub receiver: Option<SocketAddrV4>,
    /// Data segments sent for the first time.
    pub data: Vec<Bar>,
    /// Data segments that repeat sequence space already sent.
    pub retransmissions: Vec<Bar>,
    /// SYN and FIN (one sequence number each).
    pub syn_fin: Vec<Bar>,
    /// The receiver's cumulative acknowledgment.
    pub acks: Vec<Step>,
    /// The right edge of the receiver's window (ACK + scaled window).
    pub window: Vec<Step>,
    /// The receiver's SACK blocks.
    pub sacks: Vec<Bar>,
    /// Urgent data: the sequence offset of the urgent byte (the pointer, by the
    /// BSD reading Linux uses, points one past it).
    pub urgent: Vec<Step>,
}

impl TimeSequence {
    /// A title naming the direction.
    pub fn title(&self) -> String {
        match (self.sender, self.receiver) {
            (Some(s), Some(r)) => format!("{s} \u{2192} {r}"),
            _ => "time-sequence".to_string(),
        }
    }
}

/// Sequence numbers as 64-bit offsets from a base, following wrap-around.
struct Unwrap {
    base: u32,
    last: i64,
}

impl Unwrap {
    fn at(&mut self, x: u32) -> i64 {
        let prev = self.base.wrapping_add(self.last as u32);
        self.last += i64::from(x.wrapping_sub(prev) as i32);
        self.last
    }

    /// Offset of `x` without moving the reference (for values that may be far
    /// off, such as a SACK block of another era).
    fn peek(&self, x: u32) -> i64 {
        let prev = self.base.wrapping_add(self.last as u32);
        self.last + i64::from(x.wrapping_sub(prev) as i32)
    }
}

/// The graphs of a connection: one per direction that carried data, or the
/// client's direction when neither did.
pub fn of_connection(c: &Connection) -> Vec<TimeSequence> {
    let sends = |from: SocketAddrV4| c.segments.iter().any(|s| s.from == from && s.len > 0);
    let mut out = Vec::new();
    for (from, to) in [(c.client, c.server), (c.server, c.client)] {
        if sends(from) {
            out.push(direction(&c.segments, from, to));
        }
    }
    if out.is_empty() {
        out.push(direction(&c.segments, c.client, c.server));
    }
    out
}

/// The graph of the data `from` sends to `to`.
pub fn direction(segments: &[Segment], from: SocketAddrV4, to: SocketAddrV4) -> TimeSequence {
    let sent = |s: &&Segment| s.from == from && s.to == to;
    let received = |s: &&Segment| s.from == to && s.to == from;
    let isn = segments
        .iter()
        .filter(sent)
        .find(|s| s.flags.syn)
        .or_else(|| segments.iter().find(sent))
        .map(|s| s.seq)
        .or_else(|| segments.iter().filter(received).find_map(|s| s.ack))
        .unwrap_or(0);
    // The receiver's windows are scaled when both SYNs offered a scale.
    let offered = |who: SocketAddrV4| {
        segments
            .iter()
            .find(|s| s.from == who && s.flags.syn)
            .and_then(|s| s.wscale)
    };
    let shift = match (offered(from), offered(to)) {
        (Some(_), Some(r)) => u32::from(r.min(14)),
        _ => 0,
    };
    let mut g = TimeSequence {
        sender: Some(from),
        receiver: Some(to),
        ..TimeSequence::default()
    };
    let mut seq = Unwrap { base: isn, last: 0 };
    let mut highest: Option<i64> = None;
    for s in segments {
        let t = s.micros as f64 / 1e6;
        if sent(&s) {
            let lo = seq.at(s.seq);
            if s.flags.syn {
                g.syn_fin.push(Bar { t, lo, hi: lo + 1 });
            }
            let data_lo = lo + i64::from(s.flags.syn);
            let data_hi = data_lo + i64::from(s.len);
            if s.len > 0 {
                let bar = Bar {
                    t,
                    lo: data_lo,
                    hi: data_hi,
                };
                if highest.is_some_and(|h| data_lo < h) {
                    g.retransmissions.push(bar);
                } else {
                    g.data.push(bar);
                }
            }
            if s.flags.fin {
                g.syn_fin.push(Bar {
                    t,
                    lo: data_hi,
                    hi: data_hi + 1,
                });
            }
            let end = lo + i64::from(s.seq_len());
            highest = Some(highest.map_or(end, |h| h.max(end)));
            if let Some(ptr) = s.urgent.filter(|&p| p > 0) {
                g.urgent.push(Step {
                    t,
                    y: lo + i64::from(ptr) - 1,
                });
            }
        } else if received(&s) {
            let Some(ack) = s.ack else { continue };
            let a = seq.at(ack);
            let win = if s.flags.syn {
                u64::from(s.window)
            } else {
                u64::from(s.window) << shift
            };
            g.acks.push(Step { t, y: a });
            g.window.push(Step {
                t,
                y: a + win as i64,
            });
            for &(l, r) in &s.sacks {
                let (lo, hi) = (seq.peek(l), seq.peek(r));
                if lo < hi {
                    g.sacks.push(Bar { t, lo, hi });
                }
            }
        }
    }
    g
}
