//! UDP (RFC 768): a checked zero-copy view of a datagram and its header as a value
//! ([`UdpRepr`]) that parses and emits, checksum included.

use std::net::Ipv4Addr;

use super::{checksum, read_u16, PROTO_UDP};
use crate::counters::DropReason;

/// Length of the UDP header.
pub const HEADER_LEN: usize = 8;

/// A UDP datagram in a buffer, checked once: a whole header, and a length field
/// between 8 and the buffer's length (bytes after it are ignored).
#[derive(Clone, Copy, Debug)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Checks `buf` and wraps it.
    pub fn new_checked(buf: T) -> Result<UdpPacket<T>, DropReason> {
        let b = buf.as_ref();
        let len = usize::from(read_u16(b, 4).ok_or(DropReason::UdpMalformed)?);
        if b.len() < HEADER_LEN || len < HEADER_LEN || len > b.len() {
            return Err(DropReason::UdpMalformed);
        }
        Ok(UdpPacket { buf })
    }

    fn field(&self, at: usize) -> u16 {
        u16::from_be_bytes([self.buf.as_ref()[at], self.buf.as_ref()[at + 1]])
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        self.field(0)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        self.field(2)
    }

    /// The length field (header and payload).
    pub fn len(&self) -> usize {
        usize::from(self.field(4))
    }

    /// True for a datagram with no payload.
    pub fn is_empty(&self) -> bool {
        self.len() == HEADER_LEN
    }

    /// The checksum field (0: the sender computed none).
    pub fn checksum(&self) -> u16 {
        self.field(6)
    }

    /// The datagram up to its length field.
    pub fn datagram(&self) -> &[u8] {
        &self.buf.as_ref()[..self.len()]
    }

    /// The payload.
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[HEADER_LEN..self.len()]
    }

    /// True when the checksum is absent (RFC 768: "An all zero transmitted checksum
    /// value means that the transmitter generated no checksum") or right.
    pub fn checksum_ok(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        self.checksum() == 0 || checksum::transport_ok(src, dst, PROTO_UDP, self.datagram())
    }
}

/// A UDP header's ports (the length and checksum follow from the payload).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
}

impl UdpRepr {
    /// Parses a datagram from `src` to `dst`, checking its checksum unless
    /// `checksum_verified` (the device did). Returns the ports and the payload.
    pub fn parse(
        src: Ipv4Addr,
        dst: Ipv4Addr,
        data: &[u8],
        checksum_verified: bool,
    ) -> Result<(UdpRepr, &[u8]), DropReason> {
        let p = UdpPacket::new_checked(data)?;
        if !checksum_verified && !p.checksum_ok(src, dst) {
            return Err(DropReason::UdpBadChecksum);
        }
        let repr = UdpRepr {
            src_port: p.src_port(),
            dst_port: p.dst_port(),
        };
        Ok((repr, &data[HEADER_LEN..p.len()]))
    }

    /// Appends the header and `payload` to `buf`, whose datagram starts at
    /// `start`, and fills in the checksum (a computed zero is sent as all ones,
    /// RFC 768).
    pub fn emit(
        &self,
        buf: &mut Vec<u8>,
        start: usize,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        payload: &[u8],
    ) {
        let len = (HEADER_LEN + payload.len()) as u16;
        buf.truncate(start);
        buf.extend_from_slice(&self.src_port.to_be_bytes());
        buf.extend_from_slice(&self.dst_port.to_be_bytes());
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&[0, 0]);
        buf.extend_from_slice(payload);
        let mut c = checksum::transport(src, dst, PROTO_UDP, &buf[start..]);
        if c == 0 {
            c = 0xffff;
        }
        buf[start + 6..start + 8].copy_from_slice(&c.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn emit_then_parse_round_trips(
            sp in any::<u16>(), dp in any::<u16>(),
            s in any::<[u8; 4]>(), d in any::<[u8; 4]>(),
            payload in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let (src, dst) = (Ipv4Addr::from(s), Ipv4Addr::from(d));
            let r = UdpRepr { src_port: sp, dst_port: dp };
            let mut buf = vec![0xaa; 3];
            r.emit(&mut buf, 3, src, dst, &payload);
            let (got, data) = UdpRepr::parse(src, dst, &buf[3..], false).unwrap();
            prop_assert_eq!(got, r);
            prop_assert_eq!(data, &payload[..]);
            // etherparse, an independent implementation, agrees.
            let h = etherparse::UdpHeaderSlice::from_slice(&buf[3..]).unwrap();
            prop_assert_eq!((h.source_port(), h.destination_port()), (sp, dp));
            prop_assert_eq!(usize::from(h.length()), HEADER_LEN + payload.len());
            let mut want = h.to_header();
            want.checksum = want.calc_checksum_ipv4_raw(s, d, &payload).unwrap();
            if want.checksum == 0 {
                want.checksum = 0xffff;
            }
            prop_assert_eq!(h.checksum(), want.checksum);
        }

        /// Any bytes: a checked view or an error, never a panic.
        #[test]
        fn any_bytes_are_checked(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(p) = UdpPacket::new_checked(&b[..]) {
                let _ = (p.payload(), p.checksum_ok(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST));
            }
            let _ = UdpRepr::parse(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, &b, false);
        }
    }
}
