//! A one-line, tcpdump-like description of a frame, for transcripts, `--verbose`
//! output and test failure messages. Never panics, whatever the bytes.

use std::fmt::Write;
use std::net::Ipv4Addr;

use super::{read_u16, read_u32, ETHERTYPE_ARP, ETHERTYPE_IPV4};

/// Describes an Ethernet frame in one line.
pub fn frame(frame: &[u8]) -> String {
    let mut out = String::new();
    if frame.len() < 14 {
        let _ = write!(out, "truncated frame ({} bytes)", frame.len());
        return out;
    }
    match read_u16(frame, 12) {
        Some(ETHERTYPE_ARP) => arp(&mut out, &frame[14..]),
        Some(ETHERTYPE_IPV4) => ipv4(&mut out, &frame[14..]),
        Some(t) => {
            let _ = write!(out, "ethertype 0x{t:04x}, {} bytes", frame.len());
        }
        None => {}
    }
    out
}

fn ip_at(b: &[u8], at: usize) -> Option<Ipv4Addr> {
    read_u32(b, at).map(Ipv4Addr::from)
}

fn arp(out: &mut String, p: &[u8]) {
    let (Some(op), Some(spa), Some(tpa)) = (read_u16(p, 6), ip_at(p, 14), ip_at(p, 24)) else {
        let _ = write!(out, "ARP, truncated");
        return;
    };
    let _ = match op {
        1 => write!(out, "ARP, Request who-has {tpa} tell {spa}"),
        2 => {
            let mac = p.get(8..14).unwrap_or(&[]);
            let mac: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
            write!(out, "ARP, Reply {spa} is-at {}", mac.join(":"))
        }
        _ => write!(out, "ARP, op {op}"),
    };
}

/// Describes an IPv4 datagram (starting at its header) in one line.
pub fn ipv4_packet(p: &[u8]) -> String {
    let mut out = String::new();
    ipv4(&mut out, p);
    out
}

fn ipv4(out: &mut String, p: &[u8]) {
    let (Some(&vihl), Some(src), Some(dst)) = (p.first(), ip_at(p, 12), ip_at(p, 16)) else {
        let _ = write!(out, "IP, truncated");
        return;
    };
    let ihl = ((vihl & 0x0f) as usize) * 4;
    let total = read_u16(p, 2).unwrap_or(0) as usize;
    let frag = read_u16(p, 6).unwrap_or(0);
    let proto = p.get(9).copied().unwrap_or(0);
    let ttl = p.get(8).copied().unwrap_or(0);
    let offset = (frag & 0x1fff) as usize * 8;
    let mf = frag & 0x2000 != 0;
    let payload = p.get(ihl..total.min(p.len())).unwrap_or(&[]);
    if offset != 0 || mf {
        let id = read_u16(p, 4).unwrap_or(0);
        let _ = write!(
            out,
            "IP {src} > {dst}: frag id {id} offset {offset}{} len {} proto {proto}",
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
        1 => icmp(out, payload),
        6 => tcp(out, payload),
        17 => {
            let sp = read_u16(payload, 0).unwrap_or(0);
            let dp = read_u16(payload, 2).unwrap_or(0);
            let _ = write!(
                out,
                "UDP {sp} > {dp} length {}",
                payload.len().saturating_sub(8)
            );
        }
        _ => {
            let _ = write!(out, "proto {proto} length {}", payload.len());
        }
    }
    let _ = write!(out, " ttl {ttl}");
}

fn icmp(out: &mut String, p: &[u8]) {
    let (Some(&ty), Some(&code)) = (p.first(), p.get(1)) else {
        let _ = write!(out, "ICMP truncated");
        return;
    };
    let id = read_u16(p, 4).unwrap_or(0);
    let seq = read_u16(p, 6).unwrap_or(0);
    let _ = match ty {
        0 => write!(
            out,
            "ICMP echo reply, id {id}, seq {seq}, length {}",
            p.len()
        ),
        8 => write!(
            out,
            "ICMP echo request, id {id}, seq {seq}, length {}",
            p.len()
        ),
        3 => write!(out, "ICMP unreachable code {code}"),
        11 => write!(out, "ICMP time exceeded code {code}"),
        _ => write!(out, "ICMP type {ty} code {code}"),
    };
}

fn tcp(out: &mut String, p: &[u8]) {
    let (Some(sp), Some(dp), Some(seq), Some(ack), Some(&off), Some(&flags)) = (
        read_u16(p, 0),
        read_u16(p, 2),
        read_u32(p, 4),
        read_u32(p, 8),
        p.get(12),
        p.get(13),
    ) else {
        let _ = write!(out, "TCP truncated");
        return;
    };
    let hlen = ((off >> 4) as usize) * 4;
    let len = p.len().saturating_sub(hlen);
    let mut f = String::new();
    for (bit, c) in [
        (0x02, 'S'),
        (0x01, 'F'),
        (0x04, 'R'),
        (0x08, 'P'),
        (0x20, 'U'),
        (0x10, '.'),
    ] {
        if flags & bit != 0 {
            f.push(c);
        }
    }
    let win = read_u16(p, 14).unwrap_or(0);
    let _ = write!(out, "TCP {sp} > {dp}: [{f}] seq {seq}");
    if flags & 0x10 != 0 {
        let _ = write!(out, " ack {ack}");
    }
    let _ = write!(out, " win {win}");
    if flags & 0x20 != 0 {
        let _ = write!(out, " urg {}", read_u16(p, 18).unwrap_or(0));
    }
    let _ = write!(out, " length {len}");
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
