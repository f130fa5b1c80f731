//! TIME-WAIT as a compact record (Linux's `inet_timewait_sock`).
//!
//! A connection its user has closed enters TIME-WAIT (RFC 9293 3.10.7.4) as a
//! record of about fifty bytes instead of a whole connection with its buffers:
//! the sequence numbers to acknowledge with, the timestamp state and when it
//! expires. The records live in their own table, bounded by
//! `TcpConfig::max_time_wait` (Linux's `tcp_max_tw_buckets`); past the bound a
//! connection closes without TIME-WAIT, counted.
//!
//! A segment for a record is handled as Linux's `tcp_timewait_state_process`
//! handles it:
//! - a RST at RCV.NXT ends the record (Linux's default, `tcp_rfc1337` = 0);
//! - a bare ACK at RCV.NXT restarts the 2 MSL wait;
//! - a SYN whose sequence number is above RCV.NXT, or whose timestamp is newer
//!   than the last one (RFC 6191), ends the record and goes to the listener as a
//!   new connection, with an ISN above the old connection's sequence space;
//! - anything else (a retransmitted FIN, an old duplicate, a segment failing
//!   PAWS) is answered with an ACK, at most one per `invalid_ack_interval`, and
//!   restarts the wait.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{Ipv4Addr, SocketAddrV4};

use crate::counters::{DropReason, Stat};
use crate::ip::IpSend;
use crate::ports::overlaps;
use crate::tcp::conn::Out;
use crate::tcp::options::{TcpOptions, Timestamps};
use crate::tcp::segment::{Flags, TcpRepr};
use crate::tcp::seq::SeqNumber;
use crate::time::{Duration, Instant};

/// A connection's (local, remote) addresses.
pub(crate) type FourTuple = (SocketAddrV4, SocketAddrV4);

/// What is kept of a connection in TIME-WAIT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TimeWait {
    /// Our next sequence number (after our FIN).
    pub snd_nxt: SeqNumber,
    /// The next sequence number expected (after the peer's FIN).
    pub rcv_nxt: SeqNumber,
    /// The newest timestamp taken from the peer, echoed in our ACKs.
    pub ts_recent: u32,
    /// Our timestamp clock's offset.
    pub ts_offset: u32,
    /// When the record ends.
    pub expires: Instant,
    /// When we last answered an unacceptable segment.
    pub last_ack: Option<Instant>,
    /// The window field our ACKs carry.
    pub window: u16,
    /// The connection uses timestamps.
    pub ts_enabled: bool,
    /// IP TTL and TOS of our ACKs.
    pub ttl: u8,
    /// IP type of service.
    pub tos: u8,
}

/// What the engine does with a segment after its record saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The record took it (and maybe answered it).
    Done,
    /// A new connection's SYN: the record is gone, the SYN goes to the listener
    /// with this ISN.
    Reopen(SeqNumber),
}

/// The records of connections in TIME-WAIT.
#[derive(Debug, Default)]
pub(crate) struct TimeWaitTable {
    records: HashMap<FourTuple, TimeWait>,
    /// One entry per record; an entry earlier than its record's `expires` (the
    /// wait restarted) is pushed again when it comes up.
    expiry: BinaryHeap<Reverse<(Instant, FourTuple)>>,
    /// Records per local port and address: what binding rules consult.
    ports: HashMap<u16, Vec<(Ipv4Addr, u32)>>,
}

impl TimeWaitTable {
    /// Records held.
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// The connections held, in no particular order.
    pub(crate) fn keys(&self) -> Vec<FourTuple> {
        self.records.keys().copied().collect()
    }

    /// Whether the connection `key` is in TIME-WAIT.
    pub(crate) fn contains(&self, key: &FourTuple) -> bool {
        self.records.contains_key(key)
    }

    /// Adds a record unless `limit` records are held; `false` if it was not added.
    pub(crate) fn insert(&mut self, key: FourTuple, record: TimeWait, limit: usize) -> bool {
        if self.records.len() >= limit || self.records.contains_key(&key) {
            return false;
        }
        self.expiry.push(Reverse((record.expires, key)));
        self.records.insert(key, record);
        let addrs = self.ports.entry(key.0.port()).or_default();
        match addrs.iter_mut().find(|(a, _)| *a == *key.0.ip()) {
            Some((_, n)) => *n += 1,
            None => addrs.push((*key.0.ip(), 1)),
        }
        true
    }

    fn remove(&mut self, key: &FourTuple) {
        if self.records.remove(key).is_none() {
            return;
        }
        let port = key.0.port();
        if let Some(addrs) = self.ports.get_mut(&port) {
            if let Some(i) = addrs.iter().position(|(a, _)| *a == *key.0.ip()) {
                addrs[i].1 -= 1;
                if addrs[i].1 == 0 {
                    addrs.swap_remove(i);
                }
            }
            if addrs.is_empty() {
                self.ports.remove(&port);
            }
        }
    }

    /// Whether a record holds `port` on an address overlapping `addr` (the
    /// wildcard overlaps all).
    pub(crate) fn holds(&self, port: u16, addr: Ipv4Addr) -> bool {
        self.ports
            .get(&port)
            .is_some_and(|v| v.iter().any(|(a, _)| overlaps(*a, addr)))
    }

    /// The earliest expiry (possibly of a record restarted since: waking then
    /// is harmless).
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        self.expiry.peek().map(|Reverse((at, _))| *at)
    }

    /// Ends the records whose wait is over at `now`.
    pub(crate) fn expire(&mut self, now: Instant) {
        while let Some(&Reverse((at, key))) = self.expiry.peek() {
            if at > now {
                break;
            }
            self.expiry.pop();
            match self.records.get(&key).map(|r| r.expires) {
                Some(e) if e <= now => self.remove(&key),
                Some(e) => self.expiry.push(Reverse((e, key))),
                None => {}
            }
        }
    }

    /// A segment for the record `key` (which must exist), at `now`. Queues an
    /// ACK in `out` when one is owed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn input(
        &mut self,
        now: Instant,
        key: FourTuple,
        seg: &TcpRepr,
        data_len: usize,
        wait: Duration,
        ack_interval: Duration,
        out: &mut Out<'_>,
    ) -> Verdict {
        let Some(r) = self.records.get_mut(&key) else {
            return Verdict::Done;
        };
        let seg_end = seg.seq + seg.seq_len(data_len);
        let ts = seg.options.timestamps.filter(|_| r.ts_enabled);
        // RFC 7323 5.3 (PAWS): older than the newest timestamp taken.
        let paws_reject = ts.is_some_and(|ts| (ts.value.wrapping_sub(r.ts_recent) as i32) < 0);
        if !paws_reject && seg.seq == r.rcv_nxt && (seg_end == seg.seq || seg.flags.rst) {
            // In the window: a reset, or a bare ACK.
            if seg.flags.rst {
                self.remove(&key);
                out.counters.inc(Stat::TcpTimeWaitKilled);
                return Verdict::Done;
            }
            r.expires = now + wait;
            if let Some(ts) = ts {
                r.ts_recent = ts.value;
            }
            return Verdict::Done;
        }
        let newer_ts = ts.is_some_and(|ts| (r.ts_recent.wrapping_sub(ts.value) as i32) < 0);
        if seg.flags.syn
            && !seg.flags.rst
            && !seg.flags.ack
            && !paws_reject
            && (seg.seq.gt(r.rcv_nxt) || newer_ts)
        {
            // RFC 6191: a new incarnation, numbered past the old one (Linux's
            // tw_snd_nxt + 65535 + 2).
            let iss = r.snd_nxt + 65537u32;
            self.remove(&key);
            out.counters.inc(Stat::TcpTimeWaitReopened);
            return Verdict::Reopen(iss);
        }
        if paws_reject {
            out.counters.drop(DropReason::TcpPaws);
        } else {
            out.counters.drop(DropReason::TcpOutOfWindow);
        }
        if seg.flags.rst {
            return Verdict::Done;
        }
        if paws_reject || seg.flags.ack {
            r.expires = now + wait;
        }
        if r.last_ack.is_some_and(|at| now < at + ack_interval) {
            out.counters.inc(Stat::TcpAcksRateLimited);
            return Verdict::Done;
        }
        r.last_ack = Some(now);
        let r = r.clone();
        let (send, frame) = ack(key, &r, now, out);
        out.frames
            .push((send, frame, crate::device::offload::TxMeta::default()));
        Verdict::Done
    }
}

/// The ACK a record sends.
fn ack(key: FourTuple, r: &TimeWait, now: Instant, out: &mut Out<'_>) -> (IpSend, Vec<u8>) {
    let (local, remote) = key;
    let mut options = TcpOptions::default();
    if r.ts_enabled {
        options.timestamps = Some(Timestamps {
            value: (now.total_millis() as u32).wrapping_add(r.ts_offset),
            echo_reply: r.ts_recent,
        });
    }
    let repr = TcpRepr {
        src_port: local.port(),
        dst_port: remote.port(),
        seq: r.snd_nxt,
        ack: r.rcv_nxt,
        flags: Flags {
            ack: true,
            ..Flags::default()
        },
        window: r.window,
        urgent: 0,
        options,
    };
    out.bare_segment(local, remote, &repr, r.ttl, r.tos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(port: u16) -> FourTuple {
        (
            SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 80),
            SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), port),
        )
    }

    fn record(expires: Instant) -> TimeWait {
        TimeWait {
            snd_nxt: SeqNumber(1000),
            rcv_nxt: SeqNumber(5000),
            ts_recent: 100,
            ts_offset: 0,
            expires,
            last_ack: None,
            window: 502,
            ts_enabled: true,
            ttl: 64,
            tos: 0,
        }
    }

    #[test]
    fn records_expire_in_order_and_release_their_port() {
        let mut t = TimeWaitTable::default();
        assert!(t.insert(key(1), record(Instant::from_secs(60)), 10));
        assert!(t.insert(key(2), record(Instant::from_secs(61)), 10));
        assert!(t.holds(80, Ipv4Addr::UNSPECIFIED));
        assert!(!t.holds(81, Ipv4Addr::UNSPECIFIED));
        t.expire(Instant::from_secs(60));
        assert!(!t.contains(&key(1)) && t.contains(&key(2)));
        t.expire(Instant::from_secs(61));
        assert_eq!(t.len(), 0);
        assert!(!t.holds(80, Ipv4Addr::UNSPECIFIED));
        assert_eq!(t.poll_at(), None);
    }

    #[test]
    fn the_table_is_bounded() {
        let mut t = TimeWaitTable::default();
        assert!(t.insert(key(1), record(Instant::from_secs(60)), 2));
        assert!(t.insert(key(2), record(Instant::from_secs(60)), 2));
        assert!(!t.insert(key(3), record(Instant::from_secs(60)), 2));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn a_restarted_wait_is_honoured() {
        let mut t = TimeWaitTable::default();
        assert!(t.insert(key(1), record(Instant::from_secs(60)), 2));
        if let Some(r) = t.records.get_mut(&key(1)) {
            r.expires = Instant::from_secs(90);
        }
        t.expire(Instant::from_secs(60));
        assert!(t.contains(&key(1)));
        t.expire(Instant::from_secs(90));
        assert!(!t.contains(&key(1)));
    }
}
