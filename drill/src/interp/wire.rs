//! The simulated remote host's own packet code: building the frames a script
//! injects and decoding the frames the stack sends.
//!
//! This is deliberately independent of the stack's `wire` module, so a bug in
//! the stack's header or checksum code cannot hide itself: every captured frame
//! is checked here (IP header checksum, transport checksum, lengths).

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::ast::TcpOptionSpec;

/// Ethernet header length.
pub(crate) const ETH_HDR: usize = 14;
/// EtherType of IPv4.
pub(crate) const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub(crate) const ETHERTYPE_ARP: u16 = 0x0806;
/// IP protocol numbers.
pub(crate) const PROTO_ICMP: u8 = 1;
pub(crate) const PROTO_TCP: u8 = 6;
pub(crate) const PROTO_UDP: u8 = 17;

fn rd16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn rd32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// One's-complement sum of `data` added to `sum` (not folded).
fn sum_words(mut sum: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The Internet checksum of `data`.
pub(crate) fn checksum(data: &[u8]) -> u16 {
    fold(sum_words(0, data))
}

/// The TCP/UDP checksum of `segment` (checksum field included as is).
pub(crate) fn transport_checksum(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, segment: &[u8]) -> u16 {
    let mut sum = sum_words(0, &src.octets());
    sum = sum_words(sum, &dst.octets());
    sum += u64::from(proto);
    sum += segment.len() as u64;
    fold(sum_words(sum, segment))
}

/// A MAC address.
pub(crate) type Mac = [u8; 6];

/// An Ethernet frame around `payload`.
pub(crate) fn ethernet(dst: Mac, src: Mac, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(ETH_HDR + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
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
    if rd16(p, 0)? != 1 || rd16(p, 2)? != ETHERTYPE_IPV4 || *p.get(4)? != 6 || *p.get(5)? != 4 {
        return None;
    }
    let mut sender_mac = [0u8; 6];
    sender_mac.copy_from_slice(p.get(8..14)?);
    Some(Arp {
        oper: rd16(p, 6)?,
        sender_mac,
        sender_ip: Ipv4Addr::from(rd32(p, 14)?),
        target_ip: Ipv4Addr::from(rd32(p, 24)?),
    })
}

/// An ARP reply "`ip` is at `mac`" to `to_mac`/`to_ip`, as an Ethernet frame.
pub(crate) fn arp_reply(mac: Mac, ip: Ipv4Addr, to_mac: Mac, to_ip: Ipv4Addr) -> Vec<u8> {
    let mut p = Vec::with_capacity(28);
    p.extend_from_slice(&1u16.to_be_bytes());
    p.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    p.extend_from_slice(&[6, 4]);
    p.extend_from_slice(&2u16.to_be_bytes());
    p.extend_from_slice(&mac);
    p.extend_from_slice(&ip.octets());
    p.extend_from_slice(&to_mac);
    p.extend_from_slice(&to_ip.octets());
    ethernet(to_mac, mac, ETHERTYPE_ARP, &p)
}

/// An IPv4 header without options; `payload_len` bytes follow it.
pub(crate) fn ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    id: u16,
    payload_len: usize,
) -> [u8; 20] {
    let total = (20 + payload_len).min(0xffff) as u16;
    let mut h = [0u8; 20];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[8] = 64;
    h[9] = proto;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h
}

/// A whole IPv4 datagram.
pub(crate) fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, id: u16, payload: &[u8]) -> Vec<u8> {
    let mut d = Vec::with_capacity(20 + payload.len());
    d.extend_from_slice(&ipv4_header(src, dst, proto, id, payload.len()));
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
            2 if len == 4 => TcpOptionSpec::Mss(rd16(body, 0).ok_or_else(bad)?),
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
                val: rd32(body, 0).ok_or_else(bad)?,
                ecr: rd32(body, 4).ok_or_else(bad)?,
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

/// A TCP segment (header and zero payload) with a correct checksum.
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
    let c = transport_checksum(*t.src.ip(), *t.dst.ip(), PROTO_TCP, &s);
    s[16..18].copy_from_slice(&c.to_be_bytes());
    s
}

/// A UDP datagram with `payload_len` zero bytes and a correct checksum.
pub(crate) fn udp_datagram(src: SocketAddrV4, dst: SocketAddrV4, payload_len: usize) -> Vec<u8> {
    let len = 8 + payload_len;
    let mut s = Vec::with_capacity(len);
    s.extend_from_slice(&src.port().to_be_bytes());
    s.extend_from_slice(&dst.port().to_be_bytes());
    s.extend_from_slice(&(len.min(0xffff) as u16).to_be_bytes());
    s.extend_from_slice(&[0, 0]);
    s.resize(len, 0);
    let mut c = transport_checksum(*src.ip(), *dst.ip(), PROTO_UDP, &s);
    if c == 0 {
        c = 0xffff;
    }
    s[6..8].copy_from_slice(&c.to_be_bytes());
    s
}

/// An ICMP message: type, code, the 4 "rest of header" bytes and a body.
pub(crate) fn icmp_message(ty: u8, code: u8, rest: u32, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(8 + body.len());
    m.extend_from_slice(&[ty, code, 0, 0]);
    m.extend_from_slice(&rest.to_be_bytes());
    m.extend_from_slice(body);
    let c = checksum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
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
    let ihl = usize::from(vihl & 0x0f) * 4;
    if ihl < 20 || d.len() < ihl {
        return Err(format!(
            "bad IPv4 header length {ihl} in a {}-byte packet",
            d.len()
        ));
    }
    let total = usize::from(rd16(d, 2).unwrap_or(0));
    if total < ihl || total > d.len() {
        return Err(format!(
            "IPv4 total length {total} does not fit the {}-byte frame payload",
            d.len()
        ));
    }
    if checksum(&d[..ihl]) != 0 {
        return Err("bad IPv4 header checksum".to_string());
    }
    let d = &d[..total];
    let src = Ipv4Addr::from(rd32(d, 12).unwrap_or(0));
    let dst = Ipv4Addr::from(rd32(d, 16).unwrap_or(0));
    let proto = d[9];
    let frag = rd16(d, 6).unwrap_or(0);
    let payload = &d[ihl..];
    let base = |transport| Decoded {
        src,
        dst,
        ttl: d[8],
        tos: d[1],
        transport,
    };
    if frag & 0x3fff != 0 {
        return Ok(base(Transport::Other {
            proto,
            len: payload.len(),
            note: format!(
                "IPv4 fragment (offset {}, more fragments {})",
                (frag & 0x1fff) * 8,
                frag & 0x2000 != 0
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
            if transport_checksum(src, dst, PROTO_TCP, payload) != 0 {
                return Err("bad TCP checksum".to_string());
            }
            let off = usize::from(payload[12] >> 4) * 4;
            if off < 20 || off > payload.len() {
                return Err(format!("bad TCP data offset {off}"));
            }
            Transport::Tcp(TcpSeg {
                src_port: rd16(payload, 0).unwrap_or(0),
                dst_port: rd16(payload, 2).unwrap_or(0),
                seq: rd32(payload, 4).unwrap_or(0),
                ack: rd32(payload, 8).unwrap_or(0),
                flags: payload[13],
                win: rd16(payload, 14).unwrap_or(0),
                urg: rd16(payload, 18).unwrap_or(0),
                options: decode_tcp_options(&payload[20..off]),
                payload_len: payload.len() - off,
            })
        }
        PROTO_UDP => {
            if payload.len() < 8 {
                return Err(format!(
                    "UDP datagram of {} bytes is too short",
                    payload.len()
                ));
            }
            let len = usize::from(rd16(payload, 4).unwrap_or(0));
            if len != payload.len() {
                return Err(format!(
                    "UDP length field {len} but the IP payload is {} bytes",
                    payload.len()
                ));
            }
            if rd16(payload, 6) != Some(0) && transport_checksum(src, dst, PROTO_UDP, payload) != 0
            {
                return Err("bad UDP checksum".to_string());
            }
            Transport::Udp(UdpDgram {
                src_port: rd16(payload, 0).unwrap_or(0),
                dst_port: rd16(payload, 2).unwrap_or(0),
                payload_len: len - 8,
            })
        }
        PROTO_ICMP => {
            if payload.len() < 8 {
                return Err(format!(
                    "ICMP message of {} bytes is too short",
                    payload.len()
                ));
            }
            if checksum(payload) != 0 {
                return Err("bad ICMP checksum".to_string());
            }
            let ty = payload[0];
            let quoted = if matches!(ty, 3 | 4 | 5 | 11 | 12) {
                parse_quote(&payload[8..])
            } else {
                None
            };
            Transport::Icmp(IcmpMsg {
                ty,
                code: payload[1],
                rest: rd32(payload, 4).unwrap_or(0),
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
    let vihl = *q.first()?;
    let ihl = usize::from(vihl & 0x0f) * 4;
    if vihl >> 4 != 4 || ihl < 20 || q.len() < ihl {
        return None;
    }
    let total = usize::from(rd16(q, 2)?);
    let proto = q[9];
    let t = &q[ihl..];
    let (src_port, dst_port) = (rd16(t, 0), rd16(t, 2));
    let (seq, payload_len) = match proto {
        PROTO_TCP => {
            let off = t.get(12).map_or(20, |b| usize::from(b >> 4) * 4).max(20);
            (rd32(t, 4), total.checked_sub(ihl + off))
        }
        PROTO_UDP => (None, rd16(t, 4).and_then(|l| usize::from(l).checked_sub(8))),
        _ => (None, total.checked_sub(ihl)),
    };
    Some(Quoted {
        proto,
        src: Ipv4Addr::from(rd32(q, 12)?),
        dst: Ipv4Addr::from(rd32(q, 16)?),
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
