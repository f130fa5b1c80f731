//! A one-line, tcpdump-like description of a frame, for transcripts, `--verbose`
//! output and test failure messages. Never panics, whatever the bytes.

use std::fmt::Write;

use super::arp::{ArpPacket, REPLY, REQUEST};
use super::ethernet::EthernetFrame;
use super::icmpv4::IcmpRepr;
use super::ipv4::Ipv4Packet;
use super::tcp::TcpPacket;
use super::udp::UdpPacket;
use super::{ETHERTYPE_ARP, ETHERTYPE_IPV4, PROTO_ICMP, PROTO_TCP, PROTO_UDP};

/// Describes an Ethernet frame in one line.
pub fn frame(frame: &[u8]) -> String {
    let mut out = String::new();
    let Some(eth) = EthernetFrame::new_checked(frame) else {
        let _ = write!(out, "truncated frame ({} bytes)", frame.len());
        return out;
    };
    match eth.ethertype() {
        ETHERTYPE_ARP => arp(&mut out, eth.payload()),
        ETHERTYPE_IPV4 => ipv4(&mut out, eth.payload()),
        t => {
            let _ = write!(out, "ethertype 0x{t:04x}, {} bytes", frame.len());
        }
    }
    out
}

fn arp(out: &mut String, p: &[u8]) {
    let Ok(a) = ArpPacket::new_checked(p) else {
        let _ = write!(out, "ARP, truncated");
        return;
    };
    let _ = match a.operation() {
        REQUEST => write!(
            out,
            "ARP, Request who-has {} tell {}",
            a.target_ip(),
            a.sender_ip()
        ),
        REPLY => write!(out, "ARP, Reply {} is-at {}", a.sender_ip(), a.sender_hw()),
        op => write!(out, "ARP, op {op}"),
    };
}

/// Describes an IPv4 datagram (starting at its header) in one line.
pub fn ipv4_packet(p: &[u8]) -> String {
    let mut out = String::new();
    ipv4(&mut out, p);
    out
}

fn ipv4(out: &mut String, p: &[u8]) {
    let Ok(ip) = Ipv4Packet::new_checked(p) else {
        let _ = write!(out, "IP, truncated ({} bytes)", p.len());
        return;
    };
    let (src, dst, proto) = (ip.src(), ip.dst(), ip.protocol());
    let payload = ip.payload();
    let (offset, mf) = (ip.frag_offset(), ip.more_frags());
    if offset != 0 || mf {
        let _ = write!(
            out,
            "IP {src} > {dst}: frag id {} offset {offset}{} len {} proto {proto}",
            ip.ident(),
            if mf { "+" } else { "" },
            payload.len()
        );
        if offset != 0 {
            return;
        }
        out.push_str(", ");
    } else {
        let _ = write!(out, "IP {src} > {dst}: ");
    }
    match proto {
        PROTO_ICMP => icmp(out, payload),
        PROTO_TCP => tcp(out, payload),
        PROTO_UDP => udp(out, payload),
        _ => {
            let _ = write!(out, "proto {proto} length {}", payload.len());
        }
    }
    let _ = write!(out, " ttl {}", ip.ttl());
}

fn udp(out: &mut String, p: &[u8]) {
    let _ = match UdpPacket::new_checked(p) {
        Ok(u) => write!(
            out,
            "UDP {} > {} length {}",
            u.src_port(),
            u.dst_port(),
            u.payload().len()
        ),
        Err(_) => write!(out, "UDP truncated"),
    };
}

fn icmp(out: &mut String, p: &[u8]) {
    let Some(m) = IcmpRepr::parse_unchecked(p) else {
        let _ = write!(out, "ICMP truncated");
        return;
    };
    let len = p.len();
    let _ = match m {
        IcmpRepr::EchoReply { ident, seq, .. } => {
            write!(out, "ICMP echo reply, id {ident}, seq {seq}, length {len}")
        }
        IcmpRepr::EchoRequest { ident, seq, .. } => {
            write!(
                out,
                "ICMP echo request, id {ident}, seq {seq}, length {len}"
            )
        }
        IcmpRepr::DstUnreachable { code, .. } => write!(out, "ICMP unreachable code {code}"),
        IcmpRepr::TimeExceeded { code, .. } => write!(out, "ICMP time exceeded code {code}"),
        other => {
            let (ty, code) = other.type_code();
            write!(out, "ICMP type {ty} code {code}")
        }
    };
}

fn tcp(out: &mut String, p: &[u8]) {
    let Ok(t) = TcpPacket::new_checked(p) else {
        let _ = write!(out, "TCP truncated");
        return;
    };
    let flags = t.flags();
    let f = flags.letters();
    let _ = write!(
        out,
        "TCP {} > {}: [{f}] seq {}",
        t.src_port(),
        t.dst_port(),
        t.seq().0
    );
    if flags.ack {
        let _ = write!(out, " ack {}", t.ack().0);
    }
    let _ = write!(out, " win {}", t.window());
    if flags.urg {
        let _ = write!(out, " urg {}", t.urgent());
    }
    let _ = write!(out, " length {}", t.payload().len());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_panics_on_prefixes() {
        let mut f = vec![0xffu8; 6];
        f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x00]);
        f.extend_from_slice(&[
            0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 8, 0, 0, 0, 0, 1, 0,
            2,
        ]);
        for n in 0..=f.len() {
            let _ = frame(&f[..n]);
        }
        assert!(frame(&f).contains("ICMP echo request, id 1, seq 2"));
    }
}
