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

use std::net::Ipv4Addr;

use crate::counters::{DropReason, Stat};
use crate::engine::Engine;
use crate::error::NetError;
use crate::time::Instant;
use crate::wire::offload::TxMeta;
use crate::wire::{checksum, ETHERNET_HEADER_LEN, HEADROOM, IPV4_HEADER_LEN};

use reassembly::{Fragment, FragmentKey};

/// A validated IPv4 header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Repr {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol number.
    pub protocol: u8,
    /// Time to live.
    pub ttl: u8,
    /// Type of service / DSCP+ECN byte.
    pub tos: u8,
    /// Identification.
    pub ident: u16,
    /// Don't-fragment flag.
    pub dont_frag: bool,
    /// More-fragments flag.
    pub more_frags: bool,
    /// Fragment offset in bytes.
    pub frag_offset: usize,
    /// Header length in bytes (options included).
    pub header_len: usize,
    /// Total length from the header (header plus payload).
    pub total_len: usize,
}

impl Ipv4Repr {
    /// Parses and validates an IPv4 header at the start of `data` (link padding after
    /// `total_len` is allowed). The checksum is verified.
    pub fn parse(data: &[u8]) -> Result<Ipv4Repr, DropReason> {
        let slice =
            etherparse::Ipv4HeaderSlice::from_slice(data).map_err(|_| DropReason::Ipv4Malformed)?;
        let header_len = slice.slice().len();
        let total_len = slice.total_len() as usize;
        if total_len < header_len || total_len > data.len() {
            return Err(DropReason::Ipv4Malformed);
        }
        if checksum::checksum(slice.slice()) != 0 {
            return Err(DropReason::Ipv4BadChecksum);
        }
        Ok(Ipv4Repr {
            src: slice.source_addr(),
            dst: slice.destination_addr(),
            protocol: slice.protocol().0,
            ttl: slice.ttl(),
            tos: data[1],
            ident: slice.identification(),
            dont_frag: slice.dont_fragment(),
            more_frags: slice.more_fragments(),
            frag_offset: slice.fragments_offset().byte_offset() as usize,
            header_len,
            total_len,
        })
    }

    /// True when this header belongs to a fragment.
    pub fn is_fragment(&self) -> bool {
        self.more_frags || self.frag_offset != 0
    }
}

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

/// Writes a 20-byte IPv4 header (no options) into `buf[..20]` and its checksum.
#[allow(clippy::too_many_arguments)]
pub fn write_header(
    buf: &mut [u8],
    send: &IpSend,
    ident: u16,
    total_len: usize,
    frag_offset: usize,
    more_frags: bool,
) {
    debug_assert!(buf.len() >= IPV4_HEADER_LEN);
    buf[0] = 0x45;
    buf[1] = send.tos;
    buf[2..4].copy_from_slice(&(total_len as u16).to_be_bytes());
    buf[4..6].copy_from_slice(&ident.to_be_bytes());
    let mut flags = (frag_offset / 8) as u16 & 0x1fff;
    if send.dont_frag {
        flags |= 0x4000;
    }
    if more_frags {
        flags |= 0x2000;
    }
    buf[6..8].copy_from_slice(&flags.to_be_bytes());
    buf[8] = send.ttl;
    buf[9] = send.protocol;
    buf[10..12].copy_from_slice(&[0, 0]);
    buf[12..16].copy_from_slice(&send.src.octets());
    buf[16..20].copy_from_slice(&send.dst.octets());
    let c = checksum::checksum(&buf[..IPV4_HEADER_LEN]);
    buf[10..12].copy_from_slice(&c.to_be_bytes());
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

impl Engine {
    /// Where `dst` goes.
    pub fn route(&self, dst: Ipv4Addr) -> Result<Route, NetError> {
        let c = &self.config;
        if dst == c.addr || dst.is_loopback() {
            return Ok(Route::Loopback);
        }
        if dst.is_broadcast() || dst == c.broadcast() && c.prefix_len < 31 {
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

    /// True when `dst` is an address this stack accepts datagrams for.
    pub(crate) fn accepts_destination(&self, dst: Ipv4Addr) -> bool {
        let c = &self.config;
        dst == c.addr
            || dst.is_broadcast()
            || (dst == c.broadcast() && c.prefix_len < 31)
            || dst.is_loopback()
    }

    /// True for broadcast destinations (limited or directed).
    pub(crate) fn is_broadcast_addr(&self, dst: Ipv4Addr) -> bool {
        dst.is_broadcast() || (dst == self.config.broadcast() && self.config.prefix_len < 31)
    }

    /// Handles an IPv4 datagram from a frame (or from the loopback queue).
    pub(crate) fn ip_input(&mut self, now: Instant, data: &[u8]) {
        let repr = match Ipv4Repr::parse(data) {
            Ok(r) => r,
            Err(reason) => return self.counters.drop(reason),
        };
        if !self.accepts_destination(repr.dst) {
            return self.counters.drop(DropReason::Ipv4NotForUs);
        }
        if repr.src.is_broadcast()
            || repr.src.is_multicast()
            || repr.src == self.config.broadcast() && self.config.prefix_len < 31
        {
            return self.counters.drop(DropReason::Ipv4BadSource);
        }
        // RFC 1122 3.2.1.7: "A host MUST NOT discard a datagram just because it was
        // received with TTL less than 2." We are not a router: TTL is not checked.
        let header = &data[..repr.header_len];
        let payload = &data[repr.header_len..repr.total_len];
        if repr.is_fragment() {
            self.counters.inc(Stat::FragsReceived);
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
            let mut evicted = Vec::new();
            let result = self.reassembler.add(now, frag, &mut evicted);
            for reason in evicted {
                self.counters.drop(reason);
            }
            match result {
                Ok(Some(whole)) => {
                    self.counters.inc(Stat::Reassembled);
                    self.deliver(now, &repr, &whole.header, &whole.payload);
                }
                Ok(None) => {}
                Err(reason) => self.counters.drop(reason),
            }
            return;
        }
        self.deliver(now, &repr, header, payload);
    }

    /// Hands a whole datagram to its transport.
    fn deliver(&mut self, now: Instant, repr: &Ipv4Repr, header: &[u8], payload: &[u8]) {
        match repr.protocol {
            crate::wire::PROTO_ICMP => {
                self.counters.inc(Stat::Ipv4Delivered);
                self.icmp_input(now, repr, header, payload)
            }
            crate::wire::PROTO_UDP => {
                self.counters.inc(Stat::Ipv4Delivered);
                self.udp_input(now, repr, header, payload)
            }
            crate::wire::PROTO_TCP => {
                self.counters.inc(Stat::Ipv4Delivered);
                self.tcp_input(now, repr, header, payload)
            }
            _ => {
                self.counters.drop(DropReason::Ipv4UnknownProtocol);
                // RFC 1122 3.2.2.1: a host SHOULD generate Protocol Unreachable.
                if !self.is_broadcast_addr(repr.dst) {
                    self.send_icmp_error(
                        now,
                        icmp::DEST_UNREACHABLE,
                        icmp::PROTO_UNREACHABLE,
                        0,
                        header,
                        payload,
                    );
                }
            }
        }
    }

    /// A frame buffer with room for the Ethernet and IPv4 headers; the transport
    /// writes from [`HEADROOM`] on.
    pub(crate) fn alloc_frame(&mut self, payload_capacity: usize) -> Vec<u8> {
        let mut buf = self.spare_frames.pop().unwrap_or_default();
        buf.clear();
        buf.reserve(HEADROOM + payload_capacity);
        buf.resize(HEADROOM, 0);
        buf
    }

    /// Sends the datagram whose payload is `frame[HEADROOM..]`: routes it, writes the
    /// IPv4 header, fragments it if needed and hands it to the link layer.
    pub(crate) fn ip_send(
        &mut self,
        now: Instant,
        send: IpSend,
        frame: Vec<u8>,
    ) -> Result<(), NetError> {
        self.ip_send_meta(now, send, frame, TxMeta::default())
    }

    /// [`Engine::ip_send`] for a frame that may need finishing by the device (a
    /// partial TCP checksum, a TSO segment larger than the MTU: see [`TxMeta`]).
    pub(crate) fn ip_send_meta(
        &mut self,
        now: Instant,
        mut send: IpSend,
        mut frame: Vec<u8>,
        meta: TxMeta,
    ) -> Result<(), NetError> {
        let payload_len = frame.len().saturating_sub(HEADROOM);
        if payload_len > reassembly::MAX_PAYLOAD {
            return Err(NetError::MessageTooLong);
        }
        if send.ttl == 0 {
            send.ttl = self.config.ip.default_ttl;
        }
        let route = self.route(send.dst);
        let route = match route {
            Ok(r) => r,
            Err(e) => {
                self.counters.drop(DropReason::Ipv4NoRoute);
                return Err(e);
            }
        };
        let ident = self.next_ip_ident();
        self.counters.inc(Stat::Ipv4Sent);
        if meta.gso_size > 0 {
            // The device cuts it into segments, each with the next identification.
            let segments = payload_len.div_ceil(meta.gso_size as usize).max(1);
            self.ip_ident = self.ip_ident.wrapping_add((segments - 1) as u16);
        }
        let mtu = self.config.mtu;
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
                self.counters.inc(Stat::Loopback);
            }
            self.link_send_meta(now, route, frame, meta);
            return Ok(());
        }
        if send.dont_frag {
            self.counters.drop(DropReason::Ipv4FragNeeded);
            return Err(NetError::MessageTooLong);
        }
        // RFC 791 3.2: every fragment but the last carries a multiple of 8 bytes.
        let per_fragment = (mtu - IPV4_HEADER_LEN) & !7;
        let mut offset = 0;
        while offset < payload_len {
            let len = per_fragment.min(payload_len - offset);
            let more = offset + len < payload_len;
            let mut f = self.alloc_frame(len);
            f.extend_from_slice(&frame[HEADROOM + offset..HEADROOM + offset + len]);
            write_header(
                &mut f[ETHERNET_HEADER_LEN..],
                &send,
                ident,
                IPV4_HEADER_LEN + len,
                offset,
                more,
            );
            self.counters.inc(Stat::FragsSent);
            self.link_send(now, route, f);
            offset += len;
        }
        self.recycle(frame);
        Ok(())
    }

    /// The next IP identification: a counter started at a seeded random value.
    fn next_ip_ident(&mut self) -> u16 {
        self.ip_ident = self.ip_ident.wrapping_add(1);
        self.ip_ident
    }
}
