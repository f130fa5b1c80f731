//! TCP segments (RFC 9293 section 3.1): a checked zero-copy view of a segment, and
//! the header's fields as a value ([`TcpRepr`]) that parses and emits; the options
//! ([`options`]) and sequence-number arithmetic ([`seq`]) beside them.

use std::net::Ipv4Addr;

pub mod options;
pub mod seq;

use crate::counters::DropReason;
use crate::wire::{checksum, PROTO_TCP, TCP_HEADER_LEN};
use options::TcpOptions;
use seq::SeqNumber;

/// A TCP segment in a buffer, checked once by [`TcpPacket::new_checked`] so that no
/// accessor can panic: a whole 20-byte header and a data offset between 20 and
/// the buffer's length.
#[derive(Clone, Copy, Debug)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Checks `buf` and wraps it.
    pub fn new_checked(buf: T) -> Result<TcpPacket<T>, DropReason> {
        let b = buf.as_ref();
        let off = *b.get(12).ok_or(DropReason::TcpMalformed)?;
        let header_len = usize::from(off >> 4) * 4;
        if b.len() < TCP_HEADER_LEN || header_len < TCP_HEADER_LEN || header_len > b.len() {
            return Err(DropReason::TcpMalformed);
        }
        Ok(TcpPacket { buf })
    }

    fn b(&self) -> &[u8] {
        self.buf.as_ref()
    }

    fn u16_at(&self, at: usize) -> u16 {
        u16::from_be_bytes([self.b()[at], self.b()[at + 1]])
    }

    fn u32_at(&self, at: usize) -> u32 {
        u32::from_be_bytes([
            self.b()[at],
            self.b()[at + 1],
            self.b()[at + 2],
            self.b()[at + 3],
        ])
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        self.u16_at(0)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        self.u16_at(2)
    }

    /// Sequence number.
    pub fn seq(&self) -> SeqNumber {
        SeqNumber(self.u32_at(4))
    }

    /// Acknowledgment number (meaningful with ACK).
    pub fn ack(&self) -> SeqNumber {
        SeqNumber(self.u32_at(8))
    }

    /// Header length in bytes, options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.b()[12] >> 4) * 4
    }

    /// Control bits.
    pub fn flags(&self) -> Flags {
        Flags::from_byte(self.b()[13])
    }

    /// Window field (unscaled).
    pub fn window(&self) -> u16 {
        self.u16_at(14)
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        self.u16_at(16)
    }

    /// Urgent pointer field.
    pub fn urgent(&self) -> u16 {
        self.u16_at(18)
    }

    /// The options' bytes.
    pub fn options(&self) -> &[u8] {
        &self.b()[TCP_HEADER_LEN..self.header_len()]
    }

    /// The data.
    pub fn payload(&self) -> &[u8] {
        &self.b()[self.header_len()..]
    }

    /// True when the checksum over the pseudo-header and the segment is right.
    pub fn checksum_ok(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        checksum::transport_ok(src, dst, PROTO_TCP, self.b())
    }
}

/// The control bits of a segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// FIN.
    pub fin: bool,
    /// SYN.
    pub syn: bool,
    /// RST.
    pub rst: bool,
    /// PSH.
    pub psh: bool,
    /// ACK.
    pub ack: bool,
    /// URG.
    pub urg: bool,
    /// ECE.
    pub ece: bool,
    /// CWR.
    pub cwr: bool,
}

impl Flags {
    /// From the header's flag byte.
    pub fn from_byte(b: u8) -> Flags {
        Flags {
            fin: b & 0x01 != 0,
            syn: b & 0x02 != 0,
            rst: b & 0x04 != 0,
            psh: b & 0x08 != 0,
            ack: b & 0x10 != 0,
            urg: b & 0x20 != 0,
            ece: b & 0x40 != 0,
            cwr: b & 0x80 != 0,
        }
    }

    /// The header's flag byte.
    pub fn to_byte(self) -> u8 {
        (self.fin as u8)
            | (self.syn as u8) << 1
            | (self.rst as u8) << 2
            | (self.psh as u8) << 3
            | (self.ack as u8) << 4
            | (self.urg as u8) << 5
            | (self.ece as u8) << 6
            | (self.cwr as u8) << 7
    }

    /// The flags as tcpdump and packetdrill write them: `S`, `F`, `R`, `P`,
    /// `U`, then `.` for ACK (`S.`, `P.`, `F.`, ...).
    pub fn letters(self) -> String {
        [
            (self.syn, 'S'),
            (self.fin, 'F'),
            (self.rst, 'R'),
            (self.psh, 'P'),
            (self.urg, 'U'),
            (self.ack, '.'),
        ]
        .into_iter()
        .filter_map(|(on, c)| on.then_some(c))
        .collect()
    }
}

/// A TCP header, parsed or to be sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: SeqNumber,
    /// Acknowledgment number (meaningful when `flags.ack`).
    pub ack: SeqNumber,
    /// Control bits.
    pub flags: Flags,
    /// Window field as on the wire (not scaled).
    pub window: u16,
    /// Urgent pointer field (meaningful when `flags.urg`).
    pub urgent: u16,
    /// Options.
    pub options: TcpOptions,
}

impl TcpRepr {
    /// Parses and validates a segment (`seg`: header and data, as delivered by IP),
    /// verifying the checksum against the pseudo-header. Returns the header and the
    /// data.
    pub fn parse(src: Ipv4Addr, dst: Ipv4Addr, seg: &[u8]) -> Result<(TcpRepr, &[u8]), DropReason> {
        Self::parse_inner(src, dst, seg, true)
    }

    /// Like [`TcpRepr::parse`] without checking the checksum, for frames whose
    /// checksum the device verified or never computed (checksum offload).
    pub fn parse_verified(
        src: Ipv4Addr,
        dst: Ipv4Addr,
        seg: &[u8],
    ) -> Result<(TcpRepr, &[u8]), DropReason> {
        Self::parse_inner(src, dst, seg, false)
    }

    fn parse_inner(
        src: Ipv4Addr,
        dst: Ipv4Addr,
        seg: &[u8],
        verify: bool,
    ) -> Result<(TcpRepr, &[u8]), DropReason> {
        let p = TcpPacket::new_checked(seg)?;
        if verify && !p.checksum_ok(src, dst) {
            return Err(DropReason::TcpBadChecksum);
        }
        let options = TcpOptions::parse(p.options()).map_err(|_| DropReason::TcpMalformed)?;
        if p.dst_port() == 0 || p.src_port() == 0 {
            return Err(DropReason::TcpMalformed);
        }
        let repr = TcpRepr {
            src_port: p.src_port(),
            dst_port: p.dst_port(),
            seq: p.seq(),
            ack: p.ack(),
            flags: p.flags(),
            window: p.window(),
            urgent: p.urgent(),
            options,
        };
        Ok((repr, &seg[p.header_len()..]))
    }

    /// Header length with options.
    pub fn header_len(&self) -> usize {
        TCP_HEADER_LEN + self.options.buffer_len()
    }

    /// Sequence space the segment occupies: data plus one for SYN and one for FIN.
    pub fn seq_len(&self, data_len: usize) -> usize {
        data_len + self.flags.syn as usize + self.flags.fin as usize
    }

    /// Writes the header into `buf[..header_len()]`, with the checksum computed over
    /// it and `payload` (which the caller places right after the header).
    pub fn emit(&self, buf: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) {
        let hlen = self.header_len();
        debug_assert!(buf.len() >= hlen);
        buf[0..2].copy_from_slice(&self.src_port.to_be_bytes());
        buf[2..4].copy_from_slice(&self.dst_port.to_be_bytes());
        buf[4..8].copy_from_slice(&self.seq.0.to_be_bytes());
        let ack = if self.flags.ack { self.ack.0 } else { 0 };
        buf[8..12].copy_from_slice(&ack.to_be_bytes());
        let offset_flags = (((hlen / 4) as u16) << 12) | u16::from(self.flags.to_byte());
        buf[12..14].copy_from_slice(&offset_flags.to_be_bytes());
        buf[14..16].copy_from_slice(&self.window.to_be_bytes());
        buf[16..18].copy_from_slice(&[0, 0]);
        let urg = if self.flags.urg { self.urgent } else { 0 };
        buf[18..20].copy_from_slice(&urg.to_be_bytes());
        let options = self
            .options
            .emit_summed(&mut buf[TCP_HEADER_LEN..hlen])
            .map_or(0, |(_, sum)| sum);
        // The header's part of the checksum from the values just written (reading
        // the bytes back would wait on the stores that wrote them).
        let sum = checksum::pseudo_header(src, dst, PROTO_TCP, hlen + payload.len())
            + u64::from(self.src_port)
            + u64::from(self.dst_port)
            + u64::from(self.seq.0 >> 16)
            + u64::from(self.seq.0 & 0xffff)
            + u64::from(ack >> 16)
            + u64::from(ack & 0xffff)
            + u64::from(offset_flags)
            + u64::from(self.window)
            + u64::from(urg)
            + options;
        let sum = checksum::accumulate_at(sum, payload, hlen);
        let c = !checksum::fold(sum);
        buf[16..18].copy_from_slice(&c.to_be_bytes());
    }

    /// Like [`TcpRepr::emit`], but leaves the checksum for the device (checksum
    /// offload): the field holds the folded pseudo-header sum over the segment length
    /// `header_len() + payload_len`, as Linux's `tcp_v4_send_check` does for
    /// `CHECKSUM_PARTIAL`. The payload is not read.
    pub fn emit_partial(&self, buf: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr, payload_len: usize) {
        self.emit(buf, src, dst, &[]);
        let hlen = self.header_len();
        let pseudo = checksum::fold(checksum::pseudo_header(
            src,
            dst,
            PROTO_TCP,
            hlen + payload_len,
        ));
        buf[16..18].copy_from_slice(&pseudo.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::options::Timestamps;
    use super::*;

    const S: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const D: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    #[test]
    fn emit_then_parse_round_trips() {
        let repr = TcpRepr {
            src_port: 1234,
            dst_port: 80,
            seq: SeqNumber(0xfffffff0),
            ack: SeqNumber(7),
            flags: Flags {
                syn: true,
                ack: true,
                ..Flags::default()
            },
            window: 65535,
            urgent: 0,
            options: TcpOptions {
                mss: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                timestamps: Some(Timestamps {
                    value: 1,
                    echo_reply: 2,
                }),
                ..TcpOptions::default()
            },
        };
        for payload in [&b""[..], b"x", b"hello world"] {
            let mut seg = vec![0u8; repr.header_len()];
            seg.extend_from_slice(payload);
            let (head, data) = seg.split_at_mut(repr.header_len());
            repr.emit(head, S, D, data);
            let (parsed, data) = TcpRepr::parse(S, D, &seg).unwrap();
            assert_eq!(parsed, repr);
            assert_eq!(data, payload);
            // Any flipped bit is caught by the checksum (or the header checks).
            let mut bad = seg.clone();
            bad[5] ^= 0x10;
            assert!(TcpRepr::parse(S, D, &bad).is_err());
        }
    }

    #[test]
    fn bad_data_offsets_are_malformed() {
        let mut seg = vec![0u8; 20];
        seg[1] = 1;
        seg[3] = 2;
        for off in [0u8, 1, 4, 6, 15] {
            seg[12] = off << 4;
            assert!(TcpRepr::parse(S, D, &seg).is_err(), "offset {off}");
        }
    }

    use proptest::prelude::*;

    fn repr() -> impl Strategy<Value = TcpRepr> {
        (
            1u16..,
            1u16..,
            any::<(u32, u32, u8, u16, u16)>(),
            proptest::option::of(536u16..9000),
            proptest::option::of(0u8..15),
            any::<bool>(),
            proptest::option::of(any::<(u32, u32)>()),
        )
            .prop_map(|(sp, dp, (seq, ack, fl, win, urg), mss, ws, sack, ts)| {
                let flags = Flags::from_byte(fl);
                TcpRepr {
                    src_port: sp,
                    dst_port: dp,
                    seq: SeqNumber(seq),
                    ack: SeqNumber(if flags.ack { ack } else { 0 }),
                    flags,
                    window: win,
                    urgent: if flags.urg { urg } else { 0 },
                    options: TcpOptions {
                        mss,
                        window_scale: ws,
                        sack_permitted: sack,
                        timestamps: ts.map(|(value, echo_reply)| Timestamps { value, echo_reply }),
                        ..TcpOptions::default()
                    },
                }
            })
    }

    proptest! {
        #[test]
        fn emit_then_parse_round_trips_any_header(
            r in repr(),
            payload in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut buf = vec![0u8; r.header_len() + payload.len()];
            let h = r.header_len();
            buf[h..].copy_from_slice(&payload);
            r.emit(&mut buf, S, D, &payload);
            let (got, data) = TcpRepr::parse(S, D, &buf).unwrap();
            prop_assert_eq!(got, r.clone());
            prop_assert_eq!(data, &payload[..]);
            // etherparse, an independent implementation, reads the same header and
            // finds the checksum right.
            let e = etherparse::TcpHeaderSlice::from_slice(&buf).unwrap();
            prop_assert_eq!((e.source_port(), e.destination_port()), (r.src_port, r.dst_port));
            prop_assert_eq!(e.sequence_number(), r.seq.0);
            prop_assert_eq!(e.acknowledgment_number(), r.ack.0);
            prop_assert_eq!((e.syn(), e.ack(), e.fin(), e.rst()), (r.flags.syn, r.flags.ack, r.flags.fin, r.flags.rst));
            prop_assert_eq!(e.window_size(), r.window);
            prop_assert_eq!(
                e.to_header().calc_checksum_ipv4_raw(S.octets(), D.octets(), &payload).unwrap(),
                e.checksum()
            );
        }

        /// Any bytes: a checked view or an error, never a panic.
        #[test]
        fn any_bytes_are_checked(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = TcpPacket::new_checked(&b[..]) {
                let _ = (p.options(), p.payload(), p.flags(), p.checksum_ok(S, D));
            }
            let _ = TcpRepr::parse(S, D, &b);
        }
    }
}
