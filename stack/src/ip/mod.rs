//! IPv4: input validation and demultiplexing, output with routing and fragmentation
//! (RFC 791, RFC 1122 3.2.1 and 3.3).
//!
//! Input: the header is checked (version, lengths, checksum), the destination must be
//! ours or a broadcast, fragments go to the [`reassembly`] table, and whole datagrams
//! are handed to ICMP, UDP or TCP. Output: the next hop is the destination when it is
//! on-link, else the gateway; datagrams larger than the MTU are fragmented (RFC 791
//! 3.2) unless DF is set.

pub mod icmp;
pub mod reassembly;

use std::borrow::Cow;
use std::collections::VecDeque;
use std::hash::Hasher;
use std::net::Ipv4Addr;

use siphasher::sip::SipHasher24;

use crate::config::StackConfig;
use crate::counters::{DropReason, Stat};
use crate::cx::{Cx, Datagram};
use crate::device::offload::TxMeta;
use crate::error::NetError;
use crate::link::Link;
use crate::time::Instant;
use crate::wire::{ETHERNET_HEADER_LEN, HEADROOM, IPV4_HEADER_LEN};

use crate::time::TokenBucket;
use reassembly::{Fragment, FragmentKey, Reassembler};

pub use crate::wire::ipv4::Ipv4Repr;

/// What an outgoing datagram needs besides its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpSend {
    /// Source address (ours).
    pub src: Ipv4Addr,
    /// Destination.
    pub dst: Ipv4Addr,
    /// Protocol number.
    pub protocol: u8,
    /// Time to live (zero means the configured default).
    pub ttl: u8,
    /// Type of service byte.
    pub tos: u8,
    /// Set DF: refuse to fragment.
    pub dont_frag: bool,
}

/// Writes a 20-byte IPv4 header (no options) for `send` into `buf[..20]`, with its
/// checksum.
pub fn write_header(
    buf: &mut [u8],
    send: &IpSend,
    ident: u16,
    total_len: usize,
    frag_offset: usize,
    more_frags: bool,
) {
    Ipv4Repr {
        src: send.src,
        dst: send.dst,
        protocol: send.protocol,
        ttl: send.ttl,
        tos: send.tos,
        ident,
        dont_frag: send.dont_frag,
        more_frags,
        frag_offset,
        header_len: IPV4_HEADER_LEN,
        total_len,
    }
    .emit(buf);
}

/// How a destination is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Through the link to this next hop (the destination itself or the gateway).
    NextHop(Ipv4Addr),
    /// Link-layer broadcast (limited or directed broadcast address).
    Broadcast,
    /// Back into our own input (our address or 127.0.0.0/8).
    Loopback,
}

/// Where `dst` goes, for a stack configured with `c`.
pub fn route(c: &StackConfig, dst: Ipv4Addr) -> Result<Route, NetError> {
    if dst == c.addr || dst.is_loopback() {
        return Ok(Route::Loopback);
    }
    if is_broadcast(c, dst) {
        return Ok(Route::Broadcast);
    }
    if dst.is_unspecified() || dst.is_multicast() {
        return Err(NetError::NetUnreachable);
    }
    if c.is_on_link(dst) {
        return Ok(Route::NextHop(dst));
    }
    match c.gateway {
        Some(gw) => Ok(Route::NextHop(gw)),
        None => Err(NetError::NetUnreachable),
    }
}

/// [`route`] for a socket: with `SO_DONTROUTE` (`dont_route`), a destination that
/// would need the gateway is unreachable.
pub fn route_for(c: &StackConfig, dst: Ipv4Addr, dont_route: bool) -> Result<Route, NetError> {
    match route(c, dst)? {
        Route::NextHop(hop) if dont_route && hop != dst => Err(NetError::NetUnreachable),
        r => Ok(r),
    }
}

/// True when `dst` is an address a stack configured with `c` accepts datagrams
/// for.
pub(crate) fn accepts_destination(c: &StackConfig, dst: Ipv4Addr) -> bool {
    dst == c.addr || is_broadcast(c, dst) || dst.is_loopback()
}

/// True for broadcast destinations (limited, or directed to `c`'s network).
pub(crate) fn is_broadcast(c: &StackConfig, dst: Ipv4Addr) -> bool {
    dst.is_broadcast() || (dst == c.broadcast() && c.prefix_len < 31)
}

/// Identification counters per bucket of destinations (RFC 7739 5.3): a
/// keyed hash of (source, destination, protocol) picks one of them and an offset
/// for this triple, so one host cannot learn from the IDs it sees how much we send
/// to others (the idle-scan side channel of a global counter), while a
/// destination still sees IDs increase. (The RFC's two keyed functions are the two
/// halves of one SipHash.)
#[derive(Debug)]
struct IdBuckets {
    key: [u8; 16],
    counters: Vec<u16>,
    /// The last triple and its hash: a connection's datagrams hash once.
    last: Option<((Ipv4Addr, Ipv4Addr, u8), u64)>,
}

/// Buckets of identification counters.
const ID_BUCKETS: usize = 4096;

impl IdBuckets {
    /// Counters keyed by `key`, all at zero (the keyed offsets make the first
    /// identification of each triple unpredictable).
    fn new(key: [u8; 16]) -> IdBuckets {
        IdBuckets {
            key,
            counters: vec![0; ID_BUCKETS],
            last: None,
        }
    }

    /// The identification of the next datagram from `src` to `dst` of
    /// `protocol`; `count` identifications are used (a TSO segment takes one per
    /// piece the device cuts).
    fn next(&mut self, src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, count: usize) -> u16 {
        let triple = (src, dst, protocol);
        let hash = match self.last {
            Some((t, hash)) if t == triple => hash,
            _ => {
                let mut h = SipHasher24::new_with_key(&self.key);
                h.write(&src.octets());
                h.write(&dst.octets());
                h.write_u8(protocol);
                let hash = h.finish();
                self.last = Some((triple, hash));
                hash
            }
        };
        let offset = (hash >> 48) as u16;
        let c = &mut self.counters[(hash % ID_BUCKETS as u64) as usize];
        let id = offset.wrapping_add(c.wrapping_add(1));
        *c = c.wrapping_add(count.max(1) as u16);
        id
    }
}

/// The IP layer's state: fragments being reassembled, the identification
/// counters, the ICMP error rate limit, and datagrams sent to ourselves.
#[derive(Debug)]
pub(crate) struct Ip {
    reassembler: Reassembler,
    ids: IdBuckets,
    icmp_tokens: TokenBucket,
    loopback: VecDeque<Vec<u8>>,
}

impl Ip {
    /// An IP layer for `config`, with its identification counters keyed by
    /// `id_key` (a secret).
    pub(crate) fn new(config: &StackConfig, id_key: [u8; 16]) -> Ip {
        Ip {
            reassembler: Reassembler::new(
                config.ip.reassembly_timeout,
                config.ip.reassembly_memory,
                config.ip.max_reassemblies,
            ),
            ids: IdBuckets::new(id_key),
            icmp_tokens: TokenBucket::new(config.icmp.errors_per_sec, config.icmp.error_burst),
            loopback: VecDeque::new(),
        }
    }

    /// Validates an IPv4 datagram from a frame (or from the loopback queue) and
    /// hands it up whole: fragments wait in the reassembly table.
    pub(crate) fn input<'d>(&mut self, cx: &mut Cx<'_>, data: &'d [u8]) -> Option<Datagram<'d>> {
        let repr = match Ipv4Repr::parse(data) {
            Ok(r) => r,
            Err(reason) => {
                cx.counters.drop(reason);
                return None;
            }
        };
        let c = cx.config;
        if !accepts_destination(c, repr.dst) {
            cx.counters.drop(DropReason::Ipv4NotForUs);
            return None;
        }
        if repr.src.is_broadcast() || repr.src.is_multicast() || is_broadcast(c, repr.src) {
            cx.counters.drop(DropReason::Ipv4BadSource);
            return None;
        }
        if cx.rx.from_wire {
            // RFC 1122 3.2.1.3: 127/8 "MUST NOT appear outside a host", and 0/8 is
            // only "this host" (Linux accepts 0.0.0.0 only towards 255.255.255.255,
            // for DHCP). A frame from the wire claiming one of our own addresses is
            // spoofed, and answering it would loop inside the stack (LAND).
            let zero_net = repr.src.octets()[0] == 0;
            if repr.src == c.addr
                || repr.src.is_loopback()
                || (zero_net && !(repr.src.is_unspecified() && repr.dst.is_broadcast()))
            {
                cx.counters.drop(DropReason::Ipv4MartianSource);
                return None;
            }
            if repr.dst.is_loopback() {
                cx.counters.drop(DropReason::Ipv4MartianDestination);
                return None;
            }
        }
        // RFC 1122 3.2.1.7: "A host MUST NOT discard a datagram just because it was
        // received with TTL less than 2." We are not a router: TTL is not checked.
        let header = &data[..repr.header_len];
        let payload = &data[repr.header_len..repr.total_len];
        if !repr.is_fragment() {
            return Some(Datagram {
                repr,
                header: Cow::Borrowed(header),
                payload: Cow::Borrowed(payload),
            });
        }
        cx.counters.inc(Stat::FragsReceived);
        let frag = Fragment {
            key: FragmentKey {
                src: repr.src,
                dst: repr.dst,
                protocol: repr.protocol,
                ident: repr.ident,
            },
            offset: repr.frag_offset,
            more: repr.more_frags,
            header,
            payload,
        };
        let result = self.reassembler.add(cx.now, frag);
        match result {
            Ok(Some(whole)) => {
                cx.counters.inc(Stat::Reassembled);
                Some(Datagram {
                    repr,
                    header: Cow::Owned(whole.header),
                    payload: Cow::Owned(whole.payload),
                })
            }
            Ok(None) => None,
            Err(reason) => {
                cx.counters.drop(reason);
                None
            }
        }
    }

    /// Sends the datagram whose payload is `frame[HEADROOM..]`: routes it, writes
    /// the IPv4 header, fragments it if needed and hands it to the link layer (or
    /// to our own input, for our address and 127/8). `meta` says what the device
    /// finishes (a partial TCP checksum, a TSO segment larger than the MTU).
    pub(crate) fn output(
        &mut self,
        cx: &mut Cx<'_>,
        link: &mut Link,
        mut send: IpSend,
        mut frame: Vec<u8>,
        meta: TxMeta,
    ) -> Result<(), NetError> {
        let payload_len = frame.len().saturating_sub(HEADROOM);
        if payload_len > reassembly::MAX_PAYLOAD {
            return Err(NetError::MessageTooLong);
        }
        if send.ttl == 0 {
            send.ttl = cx.config.ip.default_ttl;
        }
        let route = match route(cx.config, send.dst) {
            Ok(r) => r,
            Err(e) => {
                cx.counters.drop(DropReason::Ipv4NoRoute);
                return Err(e);
            }
        };
        // A TSO segment: the device cuts it into pieces, each with the next
        // identification.
        let segments = if meta.gso_size > 0 {
            payload_len.div_ceil(meta.gso_size as usize).max(1)
        } else {
            1
        };
        let ident = self.ids.next(send.src, send.dst, send.protocol, segments);
        cx.counters.inc(Stat::Ipv4Sent);
        let mtu = cx.config.mtu;
        if route == Route::Loopback || IPV4_HEADER_LEN + payload_len <= mtu || meta.gso_size > 0 {
            write_header(
                &mut frame[ETHERNET_HEADER_LEN..],
                &send,
                ident,
                IPV4_HEADER_LEN + payload_len,
                0,
                false,
            );
            if route == Route::Loopback {
                cx.counters.inc(Stat::Loopback);
                self.loop_back(cx, frame, meta);
            } else {
                // A broadcast reaches this host's own sockets too (Linux loops a
                // copy back: the rwho server hears its own status).
                if route == Route::Broadcast {
                    cx.counters.inc(Stat::Loopback);
                    self.loop_back(cx, frame.clone(), meta);
                }
                link.output(cx, route, frame, meta);
            }
            return Ok(());
        }
        if send.dont_frag {
            cx.counters.drop(DropReason::Ipv4FragNeeded);
            return Err(NetError::MessageTooLong);
        }
        // RFC 791 3.2: every fragment but the last carries a multiple of 8 bytes.
        let per_fragment = (mtu - IPV4_HEADER_LEN) & !7;
        let mut offset = 0;
        while offset < payload_len {
            let len = per_fragment.min(payload_len - offset);
            let more = offset + len < payload_len;
            let mut f = cx.pool.alloc(len);
            f.extend_from_slice(&frame[HEADROOM + offset..HEADROOM + offset + len]);
            write_header(
                &mut f[ETHERNET_HEADER_LEN..],
                &send,
                ident,
                IPV4_HEADER_LEN + len,
                offset,
                more,
            );
            cx.counters.inc(Stat::FragsSent);
            link.output(cx, route, f, TxMeta::default());
            offset += len;
        }
        cx.pool.recycle(frame);
        Ok(())
    }

    /// Queues a datagram for our own input; our input verifies checksums, so a
    /// frame the device would finish is finished in software first.
    fn loop_back(&mut self, cx: &mut Cx<'_>, mut frame: Vec<u8>, meta: TxMeta) {
        if meta.is_plain() {
            frame.drain(..ETHERNET_HEADER_LEN);
            self.loopback.push_back(frame);
        } else {
            let pieces = crate::device::offload::finish_owned(&frame, meta, ETHERNET_HEADER_LEN);
            self.loopback.extend(pieces);
            cx.pool.recycle(frame);
        }
    }

    /// The next datagram we sent to ourselves.
    pub(crate) fn pop_loopback(&mut self) -> Option<Vec<u8>> {
        self.loopback.pop_front()
    }

    /// Datagrams we sent to ourselves are waiting.
    pub(crate) fn loopback_pending(&self) -> bool {
        !self.loopback.is_empty()
    }

    /// Reassembly timeouts: each expired datagram is counted, and answered with
    /// time exceeded (code 1) if its first fragment arrived (RFC 792).
    pub(crate) fn poll(&mut self, cx: &mut Cx<'_>, link: &mut Link) {
        for expired in self.reassembler.expire(cx.now) {
            cx.counters.drop(DropReason::FragTimeout);
            if let Some(first) = expired.first_fragment {
                let hlen =
                    ((first.first().copied().unwrap_or(0x45) & 0x0f) as usize * 4).min(first.len());
                let (h, p) = first.split_at(hlen);
                self.send_icmp_error(
                    cx,
                    link,
                    icmp::TIME_EXCEEDED,
                    icmp::REASSEMBLY_TIME_EXCEEDED,
                    0,
                    h,
                    p,
                );
            }
        }
    }

    /// When [`Ip::poll`] has work.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        self.reassembler.next_deadline()
    }

    /// Re-keys the identification counters.
    pub(crate) fn set_id_key(&mut self, key: [u8; 16]) {
        self.ids = IdBuckets::new(key);
    }
}
