//! ICMP (RFC 792, RFC 1122 3.2.2): echo, errors we send, errors we receive.
//!
//! We answer echo requests (also reassembled, fragmented ones), send
//! destination-unreachable and time-exceeded errors under a token bucket (Linux's
//! `icmp_msgs_per_sec`/`icmp_msgs_burst`), and parse received errors into an
//! [`IcmpError`] that the transports use (`ECONNREFUSED` for port unreachable, ...).

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::counters::{DropReason, Stat};
use crate::cx::Cx;
use crate::device::offload::TxMeta;
use crate::error::NetError;
use crate::ip::{is_broadcast, Ip, IpSend, Ipv4Repr};
use crate::link::Link;
use crate::wire::icmpv4::{self, IcmpRepr};
use crate::wire::{read_u16, read_u32, HEADROOM, ICMP_HEADER_LEN, PROTO_ICMP};

pub use crate::wire::icmpv4::{
    DEST_UNREACHABLE, ECHO_REPLY, ECHO_REQUEST, PARAMETER_PROBLEM, TIME_EXCEEDED,
};
/// Source quench (deprecated by RFC 6633; ignored).
pub const SOURCE_QUENCH: u8 = 4;

/// Destination unreachable: network.
pub const NET_UNREACHABLE: u8 = 0;
/// Destination unreachable: host.
pub const HOST_UNREACHABLE: u8 = 1;
/// Destination unreachable: protocol.
pub const PROTO_UNREACHABLE: u8 = 2;
/// Destination unreachable: port.
pub const PORT_UNREACHABLE: u8 = 3;
/// Destination unreachable: fragmentation needed and DF set.
pub const FRAG_NEEDED: u8 = 4;
/// Time exceeded: fragment reassembly time exceeded.
pub const REASSEMBLY_TIME_EXCEEDED: u8 = 1;

/// Largest ICMP error datagram (RFC 1812 4.3.2.3: no more than 576 bytes).
const MAX_ERROR_DATAGRAM: usize = 576;

/// What an ICMP error says, in transport terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpErrorKind {
    /// Destination unreachable with a code.
    Unreachable(u8),
    /// Fragmentation needed, with the next-hop MTU (RFC 1191).
    FragNeeded(u16),
    /// Time exceeded with a code.
    TimeExceeded(u8),
    /// Parameter problem.
    ParameterProblem,
}

impl IcmpErrorKind {
    /// The errno a socket reports for this error (Linux's `icmp_err_convert`).
    pub fn to_net_error(self) -> NetError {
        match self {
            IcmpErrorKind::Unreachable(NET_UNREACHABLE) => NetError::NetUnreachable,
            IcmpErrorKind::Unreachable(PROTO_UNREACHABLE) => NetError::ProtocolUnreachable,
            IcmpErrorKind::Unreachable(PORT_UNREACHABLE) => NetError::ConnectionRefused,
            IcmpErrorKind::Unreachable(9)
            | IcmpErrorKind::Unreachable(10)
            | IcmpErrorKind::Unreachable(13) => NetError::PermissionDenied,
            IcmpErrorKind::Unreachable(6) => NetError::NetUnreachable,
            IcmpErrorKind::Unreachable(_) => NetError::HostUnreachable,
            IcmpErrorKind::FragNeeded(_) => NetError::MessageTooLong,
            IcmpErrorKind::TimeExceeded(_) => NetError::HostUnreachable,
            IcmpErrorKind::ParameterProblem => NetError::ProtocolUnreachable,
        }
    }

    /// True for errors RFC 1122 4.2.3.9 calls "hard" for TCP (protocol, port,
    /// fragmentation needed); others are soft and only remembered.
    pub fn is_hard(self) -> bool {
        matches!(
            self,
            IcmpErrorKind::Unreachable(PROTO_UNREACHABLE)
                | IcmpErrorKind::Unreachable(PORT_UNREACHABLE)
                | IcmpErrorKind::FragNeeded(_)
        )
    }
}

/// An ICMP error about a datagram we sent, as the transports see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpError {
    /// What happened.
    pub kind: IcmpErrorKind,
    /// Quoted protocol number.
    pub protocol: u8,
    /// Our address and port in the quoted datagram (port 0 if not quoted).
    pub local: SocketAddrV4,
    /// The destination address and port of the quoted datagram.
    pub remote: SocketAddrV4,
    /// The quoted TCP sequence number, if any.
    pub seq: Option<u32>,
    /// For ICMP-echo quotes: the identifier (ping sockets).
    pub echo_ident: Option<u16>,
    /// Who sent the error (for generated errors, ourselves).
    pub reporter: Ipv4Addr,
}

impl IcmpError {
    /// Parses the datagram an ICMP error quotes (`quote`: IP header plus at least the
    /// first 8 payload bytes).
    pub fn from_quote(kind: IcmpErrorKind, reporter: Ipv4Addr, quote: &[u8]) -> Option<IcmpError> {
        let &vihl = quote.first()?;
        if vihl >> 4 != 4 {
            return None;
        }
        let ihl = ((vihl & 0x0f) as usize) * 4;
        if ihl < 20 || quote.len() < ihl + 4 {
            return None;
        }
        let protocol = *quote.get(9)?;
        let src = Ipv4Addr::from(read_u32(quote, 12)?);
        let dst = Ipv4Addr::from(read_u32(quote, 16)?);
        let t = &quote[ihl..];
        let (sport, dport, seq, echo_ident) = match protocol {
            crate::wire::PROTO_TCP | crate::wire::PROTO_UDP => (
                read_u16(t, 0)?,
                read_u16(t, 2)?,
                if protocol == crate::wire::PROTO_TCP {
                    read_u32(t, 4)
                } else {
                    None
                },
                None,
            ),
            PROTO_ICMP => (0, 0, None, read_u16(t, 4)),
            _ => (0, 0, None, None),
        };
        Some(IcmpError {
            kind,
            protocol,
            local: SocketAddrV4::new(src, sport),
            remote: SocketAddrV4::new(dst, dport),
            seq,
            echo_ident,
            reporter,
        })
    }
}

/// What an ICMP message hands on, once the IP layer is done with it.
pub(crate) enum IcmpInput {
    /// Nothing more to do (an echo request answered, a message dropped).
    Done,
    /// An echo reply, for the ping sockets: its identifier and sequence number
    /// (the data follows the 8-byte header).
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq: u16,
    },
    /// An error about a datagram we sent, for the transport that sent it.
    Error(IcmpError),
}

impl Ip {
    /// Handles an ICMP message addressed to us: answers echo requests, hands
    /// echo replies and errors up.
    pub(crate) fn icmp_input(
        &mut self,
        cx: &mut Cx<'_>,
        link: &mut Link,
        ip: &Ipv4Repr,
        msg: &[u8],
    ) -> IcmpInput {
        let m = match IcmpRepr::parse(msg) {
            Ok(m) => m,
            Err(reason) => {
                cx.counters.drop(reason);
                return IcmpInput::Done;
            }
        };
        let (kind, quote) = match m {
            IcmpRepr::EchoRequest { ident, seq, data } => {
                // Linux ignores broadcast echo by default (icmp_echo_ignore_broadcasts).
                if is_broadcast(cx.config, ip.dst) || cx.rx.link_broadcast {
                    cx.counters.drop(DropReason::IcmpBroadcastEcho);
                    return IcmpInput::Done;
                }
                let reply = IcmpRepr::EchoReply { ident, seq, data };
                let mut frame = cx.pool.alloc(reply.len());
                reply.emit(&mut frame, HEADROOM);
                let send = IpSend {
                    src: ip.dst,
                    dst: ip.src,
                    protocol: PROTO_ICMP,
                    ttl: 0,
                    tos: ip.tos,
                    dont_frag: false,
                };
                if self
                    .output(cx, link, send, frame, TxMeta::default())
                    .is_ok()
                {
                    cx.counters.inc(Stat::IcmpEchoReplies);
                }
                return IcmpInput::Done;
            }
            IcmpRepr::EchoReply { ident, seq, .. } => return IcmpInput::EchoReply { ident, seq },
            IcmpRepr::DstUnreachable {
                code: FRAG_NEEDED,
                next_hop_mtu,
                quote,
            } => (IcmpErrorKind::FragNeeded(next_hop_mtu), quote),
            IcmpRepr::DstUnreachable { code, quote, .. } => {
                (IcmpErrorKind::Unreachable(code), quote)
            }
            IcmpRepr::TimeExceeded { code, quote } => (IcmpErrorKind::TimeExceeded(code), quote),
            IcmpRepr::ParamProblem { quote, .. } => (IcmpErrorKind::ParameterProblem, quote),
            IcmpRepr::Other { .. } => {
                cx.counters.drop(DropReason::IcmpUnhandledType);
                return IcmpInput::Done;
            }
        };
        match IcmpError::from_quote(kind, ip.src, quote) {
            Some(err) if err.local.ip() == &cx.config.addr || err.local.ip().is_loopback() => {
                cx.counters.inc(Stat::IcmpErrorsReceived);
                IcmpInput::Error(err)
            }
            _ => {
                cx.counters.drop(DropReason::IcmpMalformed);
                IcmpInput::Done
            }
        }
    }

    /// Sends an ICMP error about a datagram we received (`orig_header` and
    /// `orig_payload`), following RFC 1122 3.2.2's rules on when not to.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send_icmp_error(
        &mut self,
        cx: &mut Cx<'_>,
        link: &mut Link,
        ty: u8,
        code: u8,
        rest: u32,
        orig_header: &[u8],
        orig_payload: &[u8],
    ) {
        let Ok(orig) = Ipv4Repr::parse_quote(orig_header) else {
            return;
        };
        // RFC 1122 3.2.2: "An ICMP error message MUST NOT be sent as the result of
        // receiving: an ICMP error message, a datagram destined to an IP broadcast or
        // IP multicast address, a datagram sent as a link-layer broadcast, a non-initial
        // fragment, a datagram whose source address does not define a single host".
        if orig.frag_offset != 0
            || cx.rx.link_broadcast
            || is_broadcast(cx.config, orig.dst)
            || orig.dst.is_multicast()
            || orig.src.is_unspecified()
            || orig.src.is_broadcast()
            || orig.src.is_multicast()
            || orig.src == cx.config.broadcast()
        {
            return;
        }
        if orig.protocol == PROTO_ICMP
            && orig_payload
                .first()
                .is_some_and(|&t| !matches!(t, ECHO_REQUEST | ECHO_REPLY | 13..=18))
        {
            return;
        }
        if !self.icmp_tokens.take(cx.now) {
            return cx.counters.drop(DropReason::IcmpRateLimited);
        }
        let quote_len = orig_payload
            .len()
            .min(MAX_ERROR_DATAGRAM - 20 - ICMP_HEADER_LEN - orig_header.len());
        let quote = &orig_payload[..quote_len];
        let mut frame = cx
            .pool
            .alloc(ICMP_HEADER_LEN + orig_header.len() + quote.len());
        icmpv4::emit_error(&mut frame, HEADROOM, ty, code, rest, orig_header, quote);
        let send = IpSend {
            src: cx.config.addr,
            dst: orig.src,
            protocol: PROTO_ICMP,
            ttl: 0,
            tos: 0xc0, // Linux sends ICMP errors with IPTOS_PREC_INTERNETCONTROL.
            dont_frag: false,
        };
        if self
            .output(cx, link, send, frame, TxMeta::default())
            .is_ok()
        {
            cx.counters.inc(Stat::IcmpErrorsSent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{Instant, TokenBucket};

    #[test]
    fn token_bucket_limits_and_refills() {
        let mut b = TokenBucket::new(10, 3);
        let t = Instant::from_secs(1);
        assert!(b.take(t) && b.take(t) && b.take(t));
        assert!(!b.take(t));
        // 100 ms later one token is back.
        let t2 = t + crate::time::Duration::from_millis(100);
        assert!(b.take(t2));
        assert!(!b.take(t2));
    }

    #[test]
    fn quote_parsing() {
        let mut q = vec![
            0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1,
        ];
        q.extend_from_slice(&[0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0]);
        let e = IcmpError::from_quote(
            IcmpErrorKind::Unreachable(PORT_UNREACHABLE),
            Ipv4Addr::new(10, 0, 0, 1),
            &q,
        )
        .unwrap();
        assert_eq!(
            e.local,
            SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 12345)
        );
        assert_eq!(e.remote, SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 53));
        assert_eq!(e.kind.to_net_error(), NetError::ConnectionRefused);
        for n in 0..q.len() {
            let _ = IcmpError::from_quote(
                IcmpErrorKind::ParameterProblem,
                Ipv4Addr::UNSPECIFIED,
                &q[..n],
            );
        }
        assert!(IcmpError::from_quote(
            IcmpErrorKind::ParameterProblem,
            Ipv4Addr::UNSPECIFIED,
            &q[..23]
        )
        .is_none());
    }
}
