//! IPv4 (RFC 791): a checked zero-copy view of a packet and the header's fields as
//! a value ([`Ipv4Repr`]) that parses and emits.

use std::net::Ipv4Addr;

use super::{checksum, read_u16, read_u32};
use crate::counters::DropReason;

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = 20;

/// An IPv4 packet in a buffer, checked once by [`Ipv4Packet::new_checked`] so that
/// no accessor can panic: version 4, a header length of at least 20 bytes that
/// fits, and a total length between the header's and the buffer's (link padding
/// after it is allowed).
#[derive(Clone, Copy, Debug)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Checks `buf` and wraps it.
    pub fn new_checked(buf: T) -> Result<Ipv4Packet<T>, DropReason> {
        let b = buf.as_ref();
        let first = *b.first().ok_or(DropReason::Ipv4Malformed)?;
        let header_len = usize::from(first & 0x0f) * 4;
        if first >> 4 != 4 || header_len < HEADER_LEN || b.len() < header_len {
            return Err(DropReason::Ipv4Malformed);
        }
        let total_len = usize::from(read_u16(b, 2).ok_or(DropReason::Ipv4Malformed)?);
        if total_len < header_len || total_len > b.len() {
            return Err(DropReason::Ipv4Malformed);
        }
        Ok(Ipv4Packet { buf })
    }

    fn b(&self) -> &[u8] {
        self.buf.as_ref()
    }

    /// Header length in bytes (options included).
    pub fn header_len(&self) -> usize {
        usize::from(self.b()[0] & 0x0f) * 4
    }

    /// Type of service byte.
    pub fn tos(&self) -> u8 {
        self.b()[1]
    }

    /// Total length (header and payload).
    pub fn total_len(&self) -> usize {
        usize::from(u16::from_be_bytes([self.b()[2], self.b()[3]]))
    }

    /// Identification.
    pub fn ident(&self) -> u16 {
        u16::from_be_bytes([self.b()[4], self.b()[5]])
    }

    fn frag_field(&self) -> u16 {
        u16::from_be_bytes([self.b()[6], self.b()[7]])
    }

    /// Don't-fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.frag_field() & 0x4000 != 0
    }

    /// More-fragments flag.
    pub fn more_frags(&self) -> bool {
        self.frag_field() & 0x2000 != 0
    }

    /// Fragment offset in bytes.
    pub fn frag_offset(&self) -> usize {
        usize::from(self.frag_field() & 0x1fff) * 8
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.b()[8]
    }

    /// Protocol number.
    pub fn protocol(&self) -> u8 {
        self.b()[9]
    }

    /// Source address.
    pub fn src(&self) -> Ipv4Addr {
        Ipv4Addr::new(self.b()[12], self.b()[13], self.b()[14], self.b()[15])
    }

    /// Destination address.
    pub fn dst(&self) -> Ipv4Addr {
        Ipv4Addr::new(self.b()[16], self.b()[17], self.b()[18], self.b()[19])
    }

    /// True when the header checksum is right.
    pub fn checksum_ok(&self) -> bool {
        checksum::checksum(self.header()) == 0
    }

    /// The header's bytes, options included.
    pub fn header(&self) -> &[u8] {
        &self.b()[..self.header_len()]
    }

    /// The payload (up to the total length: link padding is left out).
    pub fn payload(&self) -> &[u8] {
        &self.b()[self.header_len()..self.total_len()]
    }
}

/// An IPv4 header's fields.
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
    /// Fragment offset in bytes (a multiple of 8).
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
        let p = Ipv4Packet::new_checked(data)?;
        if !p.checksum_ok() {
            return Err(DropReason::Ipv4BadChecksum);
        }
        Ok(Ipv4Repr::of(&p))
    }

    /// The fields of a checked packet.
    pub fn of<T: AsRef<[u8]>>(p: &Ipv4Packet<T>) -> Ipv4Repr {
        Ipv4Repr {
            src: p.src(),
            dst: p.dst(),
            protocol: p.protocol(),
            ttl: p.ttl(),
            tos: p.tos(),
            ident: p.ident(),
            dont_frag: p.dont_frag(),
            more_frags: p.more_frags(),
            frag_offset: p.frag_offset(),
            header_len: p.header_len(),
            total_len: p.total_len(),
        }
    }

    /// Reads the fields of a header quoted in an ICMP error: only the first 20
    /// bytes are needed, and the payload may be cut short. The checksum is not
    /// checked (routers may quote a header they changed).
    pub fn parse_quote(h: &[u8]) -> Result<Ipv4Repr, DropReason> {
        if h.len() < HEADER_LEN || h[0] >> 4 != 4 {
            return Err(DropReason::Ipv4Malformed);
        }
        let frag = read_u16(h, 6).ok_or(DropReason::Ipv4Malformed)?;
        Ok(Ipv4Repr {
            src: Ipv4Addr::from(read_u32(h, 12).ok_or(DropReason::Ipv4Malformed)?),
            dst: Ipv4Addr::from(read_u32(h, 16).ok_or(DropReason::Ipv4Malformed)?),
            protocol: h[9],
            ttl: h[8],
            tos: h[1],
            ident: read_u16(h, 4).ok_or(DropReason::Ipv4Malformed)?,
            dont_frag: frag & 0x4000 != 0,
            more_frags: frag & 0x2000 != 0,
            frag_offset: usize::from(frag & 0x1fff) * 8,
            header_len: usize::from(h[0] & 0x0f) * 4,
            total_len: usize::from(read_u16(h, 2).ok_or(DropReason::Ipv4Malformed)?),
        })
    }

    /// True when this header belongs to a fragment.
    pub fn is_fragment(&self) -> bool {
        self.more_frags || self.frag_offset != 0
    }

    /// Writes a 20-byte header (we send no options; `header_len` is not read)
    /// into `buf[..20]`, with its checksum.
    pub fn emit(&self, buf: &mut [u8]) {
        let buf = &mut buf[..HEADER_LEN];
        buf[0] = 0x45;
        buf[1] = self.tos;
        buf[2..4].copy_from_slice(&(self.total_len as u16).to_be_bytes());
        buf[4..6].copy_from_slice(&self.ident.to_be_bytes());
        let mut flags = (self.frag_offset / 8) as u16 & 0x1fff;
        if self.dont_frag {
            flags |= 0x4000;
        }
        if self.more_frags {
            flags |= 0x2000;
        }
        buf[6..8].copy_from_slice(&flags.to_be_bytes());
        buf[8] = self.ttl;
        buf[9] = self.protocol;
        buf[10..12].copy_from_slice(&[0, 0]);
        buf[12..16].copy_from_slice(&self.src.octets());
        buf[16..20].copy_from_slice(&self.dst.octets());
        // The checksum from the values just written: reading the bytes back would
        // wait on the narrower stores that wrote them.
        let (src, dst) = (u32::from(self.src), u32::from(self.dst));
        let sum = (0x4500 | u64::from(self.tos))
            + u64::from(self.total_len as u16)
            + u64::from(self.ident)
            + u64::from(flags)
            + ((u64::from(self.ttl) << 8) | u64::from(self.protocol))
            + u64::from(src >> 16)
            + u64::from(src & 0xffff)
            + u64::from(dst >> 16)
            + u64::from(dst & 0xffff);
        let c = !checksum::fold(sum);
        buf[10..12].copy_from_slice(&c.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn repr() -> impl Strategy<Value = Ipv4Repr> {
        (
            any::<[u8; 4]>(),
            any::<[u8; 4]>(),
            any::<(u8, u8, u8, u16, bool, bool)>(),
            0usize..8192,
            0usize..1500,
        )
            .prop_map(
                |(s, d, (protocol, ttl, tos, ident, df, mf), off, len)| Ipv4Repr {
                    src: Ipv4Addr::from(s),
                    dst: Ipv4Addr::from(d),
                    protocol,
                    ttl,
                    tos,
                    ident,
                    dont_frag: df,
                    more_frags: mf,
                    frag_offset: off * 8,
                    header_len: HEADER_LEN,
                    total_len: HEADER_LEN + len,
                },
            )
    }

    proptest! {
        #[test]
        fn emit_then_parse_round_trips(r in repr()) {
            let mut buf = vec![0u8; r.total_len];
            r.emit(&mut buf);
            prop_assert_eq!(Ipv4Repr::parse(&buf), Ok(r));
            let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(p.payload().len(), r.total_len - HEADER_LEN);
            prop_assert_eq!(Ipv4Repr::parse_quote(&buf[..HEADER_LEN]), Ok(r));
        }

        /// etherparse, an independent implementation, reads what we write.
        #[test]
        fn etherparse_reads_what_we_emit(r in repr()) {
            let mut buf = vec![0u8; r.total_len];
            r.emit(&mut buf);
            let h = etherparse::Ipv4HeaderSlice::from_slice(&buf).unwrap();
            prop_assert_eq!(h.source_addr(), r.src);
            prop_assert_eq!(h.destination_addr(), r.dst);
            prop_assert_eq!(h.protocol().0, r.protocol);
            prop_assert_eq!(h.ttl(), r.ttl);
            prop_assert_eq!(h.identification(), r.ident);
            prop_assert_eq!(h.dont_fragment(), r.dont_frag);
            prop_assert_eq!(h.more_fragments(), r.more_frags);
            prop_assert_eq!(h.fragments_offset().byte_offset() as usize, r.frag_offset);
            prop_assert_eq!(usize::from(h.total_len()), r.total_len);
            prop_assert_eq!(h.to_header().calc_header_checksum(), h.header_checksum());
        }

        /// Any bytes: a checked view or an error, never a panic.
        #[test]
        fn any_bytes_are_checked(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = Ipv4Packet::new_checked(&b[..]) {
                let _ = (p.payload(), p.header(), p.src(), p.frag_offset());
            }
            let _ = Ipv4Repr::parse(&b);
            let _ = Ipv4Repr::parse_quote(&b);
        }
    }
}
