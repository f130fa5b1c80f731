//! The simulated remote host's packet code: building the frames a script
//! injects and decoding the frames the stack sends, on the stack's own wire
//! formats (`stack::wire`: checked views and `Repr`s that parse and emit).
//!
//! Those formats are checked against etherparse, an independent implementation,
//! by their property tests, so a bug in them cannot hide here. What is drill's
//! own: TCP option lists as scripts write them (any order, padding, unknown
//! kinds), and the error messages that say what is malformed in a captured frame.

use std::net::{Ipv4Addr, SocketAddrV4};

use stack::wire::arp::{ArpRepr, REPLY};
use stack::wire::checksum;
use stack::wire::icmpv4::IcmpRepr;
use stack::wire::ipv4::{Ipv4Packet, Ipv4Repr};
use stack::wire::tcp::TcpPacket;
use stack::wire::udp::{UdpPacket, UdpRepr};
use stack::wire::{read_u16, read_u32, EthernetAddress};

use crate::ast::TcpOptionSpec;

pub(crate) use stack::wire::{
    ETHERNET_HEADER_LEN as ETH_HDR, ETHERTYPE_ARP, ETHERTYPE_IPV4, PROTO_ICMP, PROTO_TCP, PROTO_UDP,
};

/// A MAC address.
pub(crate) type Mac = [u8; 6];

/// An Ethernet frame around `payload`.
pub(crate) fn ethernet(dst: Mac, src: Mac, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; ETH_HDR];
    stack::wire::ethernet::write_header(
        &mut f,
        EthernetAddress(dst),
        EthernetAddress(src),
        ethertype,
    );
    f.extend_from_slice(payload);
    f
}

/// An ARP packet seen on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arp {
    /// 1 request, 2 reply.
    pub oper: u16,
    pub sender_mac: Mac,
    pub sender_ip: Ipv4Addr,
    pub target_ip: Ipv4Addr,
}

/// Parses an Ethernet/IPv4 ARP packet (the Ethernet payload).
pub(crate) fn parse_arp(p: &[u8]) -> Option<Arp> {
    let a = ArpRepr::parse(p).ok()?;
    Some(Arp {
        oper: a.operation,
        sender_mac: a.sender_hw.0,
        sender_ip: a.sender_ip,
        target_ip: a.target_ip,
    })
}

/// An ARP reply "`ip` is at `mac`" to `to_mac`/`to_ip`, as an Ethernet frame.
pub(crate) fn arp_reply(mac: Mac, ip: Ipv4Addr, to_mac: Mac, to_ip: Ipv4Addr) -> Vec<u8> {
    let mut p = Vec::with_capacity(28);
    ArpRepr {
        operation: REPLY,
        sender_hw: EthernetAddress(mac),
        sender_ip: ip,
        target_hw: EthernetAddress(to_mac),
        target_ip: to_ip,
    }
    .emit(&mut p);
    ethernet(to_mac, mac, ETHERTYPE_ARP, &p)
}

/// The TTL of datagrams the remote host sends unless a line gives one.
pub(crate) const DEFAULT_TTL: u8 = 64;

/// An IPv4 header (TOS 0, TTL 64, no options) for a datagram with
/// `payload_len` bytes after it (an ICMP error quotes only the start of one).
pub(crate) fn ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    id: u16,
    payload_len: usize,
) -> [u8; 20] {
    ipv4_header_with(src, dst, proto, id, payload_len, 0, DEFAULT_TTL)
}

/// An IPv4 header with the given TOS byte and TTL.
pub(crate) fn ipv4_header_with(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    id: u16,
    payload_len: usize,
    tos: u8,
    ttl: u8,
) -> [u8; 20] {
    let mut h = [0u8; 20];
    Ipv4Repr {
        src,
        dst,
        protocol: proto,
        ttl,
        tos,
        ident: id,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
        header_len: 20,
        total_len: (20 + payload_len).min(0xffff),
    }
    .emit(&mut h);
    h
}

/// A whole IPv4 datagram.
#[cfg(test)]
pub(crate) fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, id: u16, payload: &[u8]) -> Vec<u8> {
    let mut d = ipv4_header(src, dst, proto, id, payload.len()).to_vec();
    d.extend_from_slice(payload);
    d
}

/// Encodes a TCP option list, padded with EOL bytes to a multiple of four.
/// `ecr_offset` is added to timestamp echo replies and `sack_offset` to SACK
/// block edges (both wrapping).
pub(crate) fn encode_tcp_options(
    opts: &[TcpOptionSpec],
    ecr_offset: u32,
    sack_offset: u32,
) -> Result<Vec<u8>, String> {
    let mut b = Vec::new();
    for o in opts {
        match o {
            TcpOptionSpec::Nop => b.push(1),
            TcpOptionSpec::Eol => b.push(0),
            TcpOptionSpec::Mss(m) => {
                b.extend_from_slice(&[2, 4]);
                b.extend_from_slice(&m.to_be_bytes());
            }
            TcpOptionSpec::WindowScale(s) => b.extend_from_slice(&[3, 3, *s]),
            TcpOptionSpec::SackPermitted => b.extend_from_slice(&[4, 2]),
            TcpOptionSpec::Sack(blocks) => {
                let len = 2 + 8 * blocks.len();
                if len > 40 {
                    return Err(format!(
                        "{} SACK blocks do not fit in a TCP header",
                        blocks.len()
                    ));
                }
                b.extend_from_slice(&[5, len as u8]);
                for (l, r) in blocks {
                    b.extend_from_slice(&l.wrapping_add(sack_offset).to_be_bytes());
                    b.extend_from_slice(&r.wrapping_add(sack_offset).to_be_bytes());
                }
            }
            TcpOptionSpec::Timestamp { val, ecr } => {
                b.extend_from_slice(&[8, 10]);
                b.extend_from_slice(&val.to_be_bytes());
                let ecr = if *ecr == 0 {
                    0
                } else {
                    ecr.wrapping_add(ecr_offset)
                };
                b.extend_from_slice(&ecr.to_be_bytes());
            }
            TcpOptionSpec::FastOpen {
                cookie,
                experimental,
            } => {
                if *experimental {
                    b.extend_from_slice(&[254, 4 + cookie.len() as u8, 0xf9, 0x89]);
                } else {
                    b.extend_from_slice(&[34, 2 + cookie.len() as u8]);
                }
                b.extend_from_slice(cookie);
            }
        }
    }
    while b.len() % 4 != 0 {
        b.push(0);
    }
    if b.len() > 40 {
        return Err(format!(
            "the TCP options take {} bytes; at most 40 fit in a TCP header",
            b.len()
        ));
    }
    Ok(b)
}

/// Decodes a TCP option area. Stops at the first EOL (which is listed once;
/// the padding after it is not). Unknown kinds are an error naming the kind.
pub(crate) fn decode_tcp_options(mut b: &[u8]) -> Result<Vec<TcpOptionSpec>, String> {
    let mut out = Vec::new();
    while let Some(&kind) = b.first() {
        match kind {
            0 => {
                out.push(TcpOptionSpec::Eol);
                break;
            }
            1 => {
                out.push(TcpOptionSpec::Nop);
                b = &b[1..];
                continue;
            }
            _ => {}
        }
        let len =
            *b.get(1)
                .ok_or_else(|| format!("TCP option kind {kind} is cut off"))? as usize;
        if len < 2 || len > b.len() {
            return Err(format!("TCP option kind {kind} has a bad length {len}"));
        }
        let body = &b[2..len];
        let bad = || format!("TCP option kind {kind} has a bad length {len}");
        out.push(match kind {
            2 if len == 4 => TcpOptionSpec::Mss(read_u16(body, 0).ok_or_else(bad)?),
            3 if len == 3 => TcpOptionSpec::WindowScale(body[0]),
            4 if len == 2 => TcpOptionSpec::SackPermitted,
            5 if len >= 10 && (len - 2).is_multiple_of(8) => TcpOptionSpec::Sack(
                body.chunks_exact(8)
                    .map(|c| {
                        (
                            u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                            u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
                        )
                    })
                    .collect(),
            ),
            8 if len == 10 => TcpOptionSpec::Timestamp {
                val: read_u32(body, 0).ok_or_else(bad)?,
                ecr: read_u32(body, 4).ok_or_else(bad)?,
            },
            34 => TcpOptionSpec::FastOpen {
                cookie: body.to_vec(),
                experimental: false,
            },
            254 if body.starts_with(&[0xf9, 0x89]) => TcpOptionSpec::FastOpen {
                cookie: body[2..].to_vec(),
                experimental: true,
            },
            2..=5 | 8 => return Err(bad()),
            _ => return Err(format!("unknown TCP option kind {kind} (length {len})")),
        });
        b = &b[len..];
    }
    Ok(out)
}

/// The fields of a TCP header to build.
#[derive(Debug, Clone)]
pub(crate) struct TcpBuild {
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub win: u16,
    pub urg: u16,
    pub options: Vec<u8>,
    pub payload_len: usize,
}

/// A TCP segment (header and zero payload) with a correct checksum. The header
/// is written here because its options are the script's raw list.
pub(crate) fn tcp_segment(t: &TcpBuild) -> Vec<u8> {
    let hlen = 20 + t.options.len();
    let mut s = Vec::with_capacity(hlen + t.payload_len);
    s.extend_from_slice(&t.src.port().to_be_bytes());
    s.extend_from_slice(&t.dst.port().to_be_bytes());
    s.extend_from_slice(&t.seq.to_be_bytes());
    s.extend_from_slice(&t.ack.to_be_bytes());
    s.push(((hlen / 4) as u8) << 4);
    s.push(t.flags);
    s.extend_from_slice(&t.win.to_be_bytes());
    s.extend_from_slice(&[0, 0]);
    s.extend_from_slice(&t.urg.to_be_bytes());
    s.extend_from_slice(&t.options);
    s.resize(hlen + t.payload_len, 0);
    let c = checksum::transport(*t.src.ip(), *t.dst.ip(), PROTO_TCP, &s);
    s[16..18].copy_from_slice(&c.to_be_bytes());
    s
}

/// A UDP datagram with `payload_len` zero bytes and a correct checksum.
pub(crate) fn udp_datagram(src: SocketAddrV4, dst: SocketAddrV4, payload_len: usize) -> Vec<u8> {
    let mut s = Vec::with_capacity(8 + payload_len);
    let repr = UdpRepr {
        src_port: src.port(),
        dst_port: dst.port(),
    };
    repr.emit(&mut s, 0, *src.ip(), *dst.ip(), &vec![0u8; payload_len]);
    s
}

/// An ICMP message: type, code, the 4 "rest of header" bytes and a body.
pub(crate) fn icmp_message(ty: u8, code: u8, rest: u32, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(8 + body.len());
    IcmpRepr::Other {
        ty,
        code,
        rest,
        body,
    }
    .emit(&mut m, 0);
    m
}

/// A decoded IPv4 datagram the stack sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decoded {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub tos: u8,
    pub transport: Transport,
}

/// The transport part of a decoded datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transport {
    Tcp(TcpSeg),
    Udp(UdpDgram),
    Icmp(IcmpMsg),
    /// Another protocol, or a fragment: protocol number and payload length.
    Other {
        proto: u8,
        len: usize,
        note: String,
    },
}

/// A decoded TCP segment (absolute numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TcpSeg {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub win: u16,
    pub urg: u16,
    pub options: Result<Vec<TcpOptionSpec>, String>,
    pub payload_len: usize,
}

/// A decoded UDP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UdpDgram {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload_len: usize,
}

/// A decoded ICMP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IcmpMsg {
    pub ty: u8,
    pub code: u8,
    pub rest: u32,
    pub quoted: Option<Quoted>,
}

/// The datagram quoted by an ICMP error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Quoted {
    pub proto: u8,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    /// TCP sequence number, if quoted.
    pub seq: Option<u32>,
    /// Transport payload length of the original datagram, when it can be
    /// worked out (UDP: its length field; TCP: IP length minus both headers).
    pub payload_len: Option<usize>,
}

/// Decodes an IPv4 datagram (the Ethernet payload) sent by the stack,
/// checking every length and checksum. An `Err` explains what is malformed.
pub(crate) fn decode_ipv4(d: &[u8]) -> Result<Decoded, String> {
    let vihl = *d.first().ok_or("empty IPv4 packet")?;
    if vihl >> 4 != 4 {
        return Err(format!("IP version {} instead of 4", vihl >> 4));
    }
    let ip = Ipv4Packet::new_checked(d).map_err(|_| {
        let ihl = usize::from(vihl & 0x0f) * 4;
        let total = usize::from(read_u16(d, 2).unwrap_or(0));
        if ihl < 20 || d.len() < ihl {
            format!("bad IPv4 header length {ihl} in a {}-byte packet", d.len())
        } else {
            format!(
                "IPv4 total length {total} does not fit the {}-byte frame payload",
                d.len()
            )
        }
    })?;
    if !ip.checksum_ok() {
        return Err("bad IPv4 header checksum".to_string());
    }
    let (src, dst, proto) = (ip.src(), ip.dst(), ip.protocol());
    let payload = ip.payload();
    let base = |transport| Decoded {
        src,
        dst,
        ttl: ip.ttl(),
        tos: ip.tos(),
        transport,
    };
    if ip.frag_offset() != 0 || ip.more_frags() {
        return Ok(base(Transport::Other {
            proto,
            len: payload.len(),
            note: format!(
                "IPv4 fragment (offset {}, more fragments {})",
                ip.frag_offset(),
                ip.more_frags()
            ),
        }));
    }
    let t = match proto {
        PROTO_TCP => {
            if payload.len() < 20 {
                return Err(format!(
                    "TCP segment of {} bytes is too short",
                    payload.len()
                ));
            }
            if !checksum::transport_ok(src, dst, PROTO_TCP, payload) {
                return Err("bad TCP checksum".to_string());
            }
            let t = TcpPacket::new_checked(payload).map_err(|_| {
                format!("bad TCP data offset {}", usize::from(payload[12] >> 4) * 4)
            })?;
            Transport::Tcp(TcpSeg {
                src_port: t.src_port(),
                dst_port: t.dst_port(),
                seq: t.seq().0,
                ack: t.ack().0,
                flags: t.flags().to_byte(),
                win: t.window(),
                urg: t.urgent(),
                options: decode_tcp_options(t.options()),
                payload_len: t.payload().len(),
            })
        }
        PROTO_UDP => {
            if payload.len() < 8 {
                return Err(format!(
                    "UDP datagram of {} bytes is too short",
                    payload.len()
                ));
            }
            let len = usize::from(read_u16(payload, 4).unwrap_or(0));
            let u = UdpPacket::new_checked(payload)
                .ok()
                .filter(|u| u.len() == payload.len())
                .ok_or_else(|| {
                    format!(
                        "UDP length field {len} but the IP payload is {} bytes",
                        payload.len()
                    )
                })?;
            if !u.checksum_ok(src, dst) {
                return Err("bad UDP checksum".to_string());
            }
            Transport::Udp(UdpDgram {
                src_port: u.src_port(),
                dst_port: u.dst_port(),
                payload_len: u.payload().len(),
            })
        }
        PROTO_ICMP => {
            if payload.len() < 8 {
                return Err(format!(
                    "ICMP message of {} bytes is too short",
                    payload.len()
                ));
            }
            let m = IcmpRepr::parse(payload).map_err(|_| "bad ICMP checksum".to_string())?;
            let (ty, code) = m.type_code();
            let quoted = if matches!(ty, 3 | 4 | 5 | 11 | 12) {
                parse_quote(&payload[8..])
            } else {
                None
            };
            Transport::Icmp(IcmpMsg {
                ty,
                code,
                rest: read_u32(payload, 4).unwrap_or(0),
                quoted,
            })
        }
        _ => Transport::Other {
            proto,
            len: payload.len(),
            note: format!("IP protocol {proto}"),
        },
    };
    Ok(base(t))
}

/// Parses the IP header and first transport bytes quoted in an ICMP error.
pub(crate) fn parse_quote(q: &[u8]) -> Option<Quoted> {
    let ip = Ipv4Repr::parse_quote(q).ok()?;
    let ihl = ip.header_len;
    if ihl < 20 || q.len() < ihl {
        return None;
    }
    let t = &q[ihl..];
    let (src_port, dst_port) = (read_u16(t, 0), read_u16(t, 2));
    let (seq, payload_len) = match ip.protocol {
        PROTO_TCP => {
            let off = t.get(12).map_or(20, |b| usize::from(b >> 4) * 4).max(20);
            (read_u32(t, 4), ip.total_len.checked_sub(ihl + off))
        }
        PROTO_UDP => (
            None,
            read_u16(t, 4).and_then(|l| usize::from(l).checked_sub(8)),
        ),
        _ => (None, ip.total_len.checked_sub(ihl)),
    };
    Some(Quoted {
        proto: ip.protocol,
        src: ip.src,
        dst: ip.dst,
        src_port,
        dst_port,
        seq,
        payload_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_round_trip() {
        let opts = vec![
            TcpOptionSpec::Mss(1460),
            TcpOptionSpec::SackPermitted,
            TcpOptionSpec::Timestamp { val: 7, ecr: 0 },
            TcpOptionSpec::Nop,
            TcpOptionSpec::WindowScale(7),
        ];
        let b = encode_tcp_options(&opts, 0, 0).unwrap();
        assert_eq!(b.len(), 20);
        assert_eq!(decode_tcp_options(&b).unwrap(), opts);
        // Padding: 22 bytes become 24 with two EOLs; decoding lists one EOL.
        let mut odd = opts.clone();
        odd.insert(2, TcpOptionSpec::Nop);
        odd.insert(2, TcpOptionSpec::Nop);
        let b = encode_tcp_options(&odd, 0, 0).unwrap();
        assert_eq!(b.len(), 24);
        let mut back = odd.clone();
        back.push(TcpOptionSpec::Eol);
        assert_eq!(decode_tcp_options(&b).unwrap(), back);
        assert!(decode_tcp_options(&[2, 9, 0]).is_err());
        assert!(decode_tcp_options(&[99, 2])
            .unwrap_err()
            .contains("kind 99"));
    }

    #[test]
    fn built_segments_decode() {
        let a = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 1000);
        let b = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 2000);
        let seg = tcp_segment(&TcpBuild {
            src: a,
            dst: b,
            seq: 5,
            ack: 9,
            flags: 0x12,
            win: 100,
            urg: 0,
            options: encode_tcp_options(&[TcpOptionSpec::Mss(536)], 0, 0).unwrap(),
            payload_len: 3,
        });
        let d = decode_ipv4(&ipv4(*a.ip(), *b.ip(), PROTO_TCP, 1, &seg)).unwrap();
        let Transport::Tcp(t) = d.transport else {
            panic!()
        };
        assert_eq!(
            (t.seq, t.ack, t.flags, t.win, t.payload_len),
            (5, 9, 0x12, 100, 3)
        );
        let u = udp_datagram(a, b, 10);
        let d = decode_ipv4(&ipv4(*a.ip(), *b.ip(), PROTO_UDP, 1, &u)).unwrap();
        assert!(matches!(
            d.transport,
            Transport::Udp(UdpDgram {
                payload_len: 10,
                ..
            })
        ));
        let mut bad = ipv4(*a.ip(), *b.ip(), PROTO_UDP, 1, &u);
        bad[30] ^= 1;
        assert!(decode_ipv4(&bad).unwrap_err().contains("checksum"));
        assert!(decode_ipv4(&[0x45, 0, 0]).is_err());
    }
}
