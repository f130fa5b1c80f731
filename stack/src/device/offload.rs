//! Checksum and segmentation offload metadata, and the software fallback.
//!
//! With a device that offloads (a TAP with a virtio-net header), the engine may hand
//! out a TCP segment whose checksum field holds only the pseudo-header sum (the
//! device completes it), and a TCP segment larger than the MTU that the device cuts
//! into `gso_size` pieces (TSO). Where a frame cannot go to such a device (a plain
//! device, the ARP pending queue, loopback), [`finish`] does the same work in
//! software, as Linux's `skb_gso_segment` and `skb_checksum_help` do.

use crate::wire::checksum;
use crate::wire::{read_u16, read_u32, ETHERNET_HEADER_LEN, PROTO_TCP};

/// How a transmitted frame must be finished.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxMeta {
    /// The TCP checksum field holds the folded pseudo-header sum only.
    pub checksum_partial: bool,
    /// Cut the TCP payload into segments of this size (0: no segmentation).
    pub gso_size: u16,
}

impl TxMeta {
    /// True when the frame needs no finishing.
    pub fn is_plain(&self) -> bool {
        !self.checksum_partial && self.gso_size == 0
    }
}

/// What the device knows about a received frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RxMeta {
    /// The transport checksum is known good, or was never computed because the frame
    /// never left the host (virtio `NEEDS_CSUM` / `DATA_VALID`): skip verification.
    pub checksum_verified: bool,
}

/// What a device can take.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Offloads {
    /// Frames may carry a partial TCP checksum.
    pub tx_checksum: bool,
    /// Frames may carry TCP segments up to 64 KiB with a `gso_size`.
    pub tso: bool,
}

/// Finishes `frame` in software: completes a partial checksum and cuts a TSO segment
/// into MTU-sized frames, each passed to `emit`. A frame that is not IPv4/TCP is
/// passed through unchanged.
pub fn finish(frame: &[u8], meta: TxMeta, mut emit: impl FnMut(&[u8])) {
    if meta.is_plain() {
        return emit(frame);
    }
    let ip = ETHERNET_HEADER_LEN;
    let ihl = frame.get(ip).map_or(0, |v| ((v & 0x0f) as usize) * 4);
    let tcp = ip + ihl;
    let thl = frame.get(tcp + 12).map_or(0, |v| ((v >> 4) as usize) * 4);
    if ihl < 20 || frame.get(ip + 9) != Some(&PROTO_TCP) || thl < 20 || frame.len() < tcp + thl {
        return emit(frame);
    }
    let hdr_len = tcp + thl;
    let payload = &frame[hdr_len..];
    let mss = if meta.gso_size == 0 {
        payload.len().max(1)
    } else {
        meta.gso_size as usize
    };
    let (Some(seq), Some(ident), Some(&flags)) = (
        read_u32(frame, tcp + 4),
        read_u16(frame, ip + 4),
        frame.get(tcp + 13),
    ) else {
        return emit(frame);
    };
    let src = std::net::Ipv4Addr::from(read_u32(frame, ip + 12).unwrap_or(0));
    let dst = std::net::Ipv4Addr::from(read_u32(frame, ip + 16).unwrap_or(0));
    let chunks = payload.len().div_ceil(mss).max(1);
    let mut out = Vec::with_capacity(hdr_len + mss);
    for i in 0..chunks {
        let start = i * mss;
        let end = (start + mss).min(payload.len());
        let last = i + 1 == chunks;
        out.clear();
        out.extend_from_slice(&frame[..hdr_len]);
        out.extend_from_slice(&payload[start..end]);
        // IPv4: length, identification (one per segment, as Linux's GSO), checksum.
        let total = (ihl + thl + end - start) as u16;
        out[ip + 2..ip + 4].copy_from_slice(&total.to_be_bytes());
        out[ip + 4..ip + 6].copy_from_slice(&ident.wrapping_add(i as u16).to_be_bytes());
        out[ip + 10..ip + 12].copy_from_slice(&[0, 0]);
        let c = checksum::checksum(&out[ip..ip + ihl]);
        out[ip + 10..ip + 12].copy_from_slice(&c.to_be_bytes());
        // TCP: sequence number; FIN and PSH only on the last piece, CWR on the first.
        out[tcp + 4..tcp + 8].copy_from_slice(&seq.wrapping_add(start as u32).to_be_bytes());
        let mut f = flags;
        if !last {
            f &= !(0x01 | 0x08);
        }
        if i > 0 {
            f &= !0x80;
        }
        out[tcp + 13] = f;
        out[tcp + 16..tcp + 18].copy_from_slice(&[0, 0]);
        let c = checksum::transport(src, dst, PROTO_TCP, &out[tcp..]);
        out[tcp + 16..tcp + 18].copy_from_slice(&c.to_be_bytes());
        emit(&out);
    }
}

/// [`finish`] into owned frames, each starting `skip` bytes into the finished
/// frame (the loopback keeps IP datagrams: `skip` is the Ethernet header).
pub fn finish_owned(frame: &[u8], meta: TxMeta, skip: usize) -> Vec<Vec<u8>> {
    let mut pieces = Vec::new();
    finish(frame, meta, |f| {
        pieces.push(f.get(skip..).unwrap_or(&[]).to_vec())
    });
    pieces
}

/// Completes in place the transport checksum of an IPv4 TCP or UDP frame whose
/// checksum was left to the device (for callers that read frames without metadata).
pub fn complete_checksum(frame: &mut [u8]) {
    let ip = ETHERNET_HEADER_LEN;
    let Some(&vihl) = frame.get(ip) else { return };
    let ihl = ((vihl & 0x0f) as usize) * 4;
    let (Some(&proto), Some(total)) = (frame.get(ip + 9), read_u16(frame, ip + 2)) else {
        return;
    };
    let end = (ip + total as usize).min(frame.len());
    let start = ip + ihl;
    let offset = match proto {
        PROTO_TCP => 16,
        crate::wire::PROTO_UDP => 6,
        _ => return,
    };
    if ihl < 20 || end < start + offset + 2 {
        return;
    }
    let src = std::net::Ipv4Addr::from(read_u32(frame, ip + 12).unwrap_or(0));
    let dst = std::net::Ipv4Addr::from(read_u32(frame, ip + 16).unwrap_or(0));
    frame[start + offset..start + offset + 2].copy_from_slice(&[0, 0]);
    let mut c = checksum::transport(src, dst, proto, &frame[start..end]);
    if proto == crate::wire::PROTO_UDP && c == 0 {
        c = 0xffff;
    }
    frame[start + offset..start + offset + 2].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip::{write_header, IpSend};
    use crate::tcp::options::TcpOptions;
    use crate::tcp::segment::{Flags, TcpRepr};
    use crate::tcp::seq::SeqNumber;
    use crate::wire::HEADROOM;
    use std::net::Ipv4Addr;

    const S: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const D: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    /// A TSO frame with a partial checksum, as the engine builds it.
    fn big_frame(payload: &[u8], fin: bool) -> Vec<u8> {
        let repr = TcpRepr {
            src_port: 1,
            dst_port: 2,
            seq: SeqNumber(0xffff_fff0),
            ack: SeqNumber(9),
            flags: Flags {
                ack: true,
                psh: true,
                fin,
                ..Flags::default()
            },
            window: 100,
            urgent: 0,
            options: TcpOptions::default(),
        };
        let mut f = vec![0u8; HEADROOM + 20];
        f.extend_from_slice(payload);
        repr.emit_partial(&mut f[HEADROOM..HEADROOM + 20], S, D, payload.len());
        let send = IpSend {
            src: S,
            dst: D,
            protocol: PROTO_TCP,
            ttl: 64,
            tos: 0,
            dont_frag: true,
        };
        write_header(&mut f[14..], &send, 100, 40 + payload.len(), 0, false);
        f
    }

    #[test]
    fn segments_are_valid_and_cover_the_payload() {
        let payload: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let f = big_frame(&payload, true);
        let mut got = Vec::new();
        let mut seqs = Vec::new();
        let mut n = 0;
        finish(
            &f,
            TxMeta {
                checksum_partial: true,
                gso_size: 1448,
            },
            |seg| {
                n += 1;
                let ip = crate::ip::Ipv4Repr::parse(&seg[14..]).expect("valid IPv4");
                assert_eq!(ip.ident, 100 + n - 1);
                let (repr, data) = TcpRepr::parse(S, D, &seg[34..]).expect("valid TCP checksum");
                assert!(data.len() <= 1448);
                assert_eq!(
                    repr.flags.fin,
                    data.len() < 1448,
                    "FIN only on the last piece"
                );
                seqs.push(repr.seq.0);
                got.extend_from_slice(data);
            },
        );
        assert_eq!(n, 4);
        assert_eq!(got, payload);
        assert_eq!(seqs[1], 0xffff_fff0u32.wrapping_add(1448));
    }

    #[test]
    fn partial_checksum_alone_is_completed() {
        let f = big_frame(b"hello", false);
        let mut n = 0;
        finish(
            &f,
            TxMeta {
                checksum_partial: true,
                gso_size: 0,
            },
            |seg| {
                n += 1;
                let (_, data) = TcpRepr::parse(S, D, &seg[34..]).expect("valid checksum");
                assert_eq!(data, b"hello");
            },
        );
        assert_eq!(n, 1);
    }

    #[test]
    fn completing_in_place_matches_the_full_checksum() {
        let mut f = big_frame(b"some data", false);
        complete_checksum(&mut f);
        assert!(TcpRepr::parse(S, D, &f[34..]).is_ok());
        complete_checksum(&mut [0u8; 3]);
    }

    #[test]
    fn garbage_passes_through() {
        let mut n = 0;
        finish(
            &[1, 2, 3],
            TxMeta {
                checksum_partial: true,
                gso_size: 10,
            },
            |f| {
                assert_eq!(f, &[1, 2, 3]);
                n += 1;
            },
        );
        assert_eq!(n, 1);
    }
}
