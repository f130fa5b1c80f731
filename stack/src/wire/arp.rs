//! ARP over Ethernet for IPv4 (RFC 826): a checked zero-copy view and the packet's
//! fields as a value ([`ArpRepr`]) that parses and emits.

use std::net::Ipv4Addr;

use super::ethernet::EthernetAddress;
use super::{read_u16, ETHERTYPE_IPV4};
use crate::counters::DropReason;

/// Length of an ARP packet for Ethernet and IPv4.
pub const PACKET_LEN: usize = 28;

/// ARP request.
pub const REQUEST: u16 = 1;
/// ARP reply.
pub const REPLY: u16 = 2;

/// Hardware type of Ethernet.
const HTYPE_ETHERNET: u16 = 1;

/// An ARP packet in a buffer, checked once: Ethernet hardware, IPv4 protocol,
/// address lengths 6 and 4, and all 28 bytes present.
#[derive(Clone, Copy, Debug)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Checks `buf` and wraps it.
    pub fn new_checked(buf: T) -> Result<ArpPacket<T>, DropReason> {
        let b = buf.as_ref();
        if b.len() < PACKET_LEN
            || read_u16(b, 0) != Some(HTYPE_ETHERNET)
            || read_u16(b, 2) != Some(ETHERTYPE_IPV4)
            || b[4] != 6
            || b[5] != 4
        {
            return Err(DropReason::ArpMalformed);
        }
        Ok(ArpPacket { buf })
    }

    fn b(&self) -> &[u8] {
        self.buf.as_ref()
    }

    fn mac_at(&self, at: usize) -> EthernetAddress {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.b()[at..at + 6]);
        EthernetAddress(m)
    }

    fn ip_at(&self, at: usize) -> Ipv4Addr {
        let b = self.b();
        Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])
    }

    /// The operation (1 request, 2 reply; others are possible on the wire).
    pub fn operation(&self) -> u16 {
        u16::from_be_bytes([self.b()[6], self.b()[7]])
    }

    /// Sender hardware address.
    pub fn sender_hw(&self) -> EthernetAddress {
        self.mac_at(8)
    }

    /// Sender protocol address.
    pub fn sender_ip(&self) -> Ipv4Addr {
        self.ip_at(14)
    }

    /// Target hardware address.
    pub fn target_hw(&self) -> EthernetAddress {
        self.mac_at(18)
    }

    /// Target protocol address.
    pub fn target_ip(&self) -> Ipv4Addr {
        self.ip_at(24)
    }
}

/// An ARP packet's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpRepr {
    /// [`REQUEST`] or [`REPLY`].
    pub operation: u16,
    /// Sender hardware address.
    pub sender_hw: EthernetAddress,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address (zeros in a request).
    pub target_hw: EthernetAddress,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl ArpRepr {
    /// Parses an ARP packet for Ethernet and IPv4 (request or reply).
    pub fn parse(data: &[u8]) -> Result<ArpRepr, DropReason> {
        let p = ArpPacket::new_checked(data)?;
        if !matches!(p.operation(), REQUEST | REPLY) {
            return Err(DropReason::ArpMalformed);
        }
        Ok(ArpRepr {
            operation: p.operation(),
            sender_hw: p.sender_hw(),
            sender_ip: p.sender_ip(),
            target_hw: p.target_hw(),
            target_ip: p.target_ip(),
        })
    }

    /// Appends the 28-byte packet to `buf`.
    pub fn emit(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&HTYPE_ETHERNET.to_be_bytes());
        buf.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        buf.extend_from_slice(&[6, 4]);
        buf.extend_from_slice(&self.operation.to_be_bytes());
        buf.extend_from_slice(&self.sender_hw.0);
        buf.extend_from_slice(&self.sender_ip.octets());
        buf.extend_from_slice(&self.target_hw.0);
        buf.extend_from_slice(&self.target_ip.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn repr() -> impl Strategy<Value = ArpRepr> {
        (
            prop_oneof![Just(REQUEST), Just(REPLY)],
            any::<([u8; 6], [u8; 4], [u8; 6], [u8; 4])>(),
        )
            .prop_map(|(operation, (sh, si, th, ti))| ArpRepr {
                operation,
                sender_hw: EthernetAddress(sh),
                sender_ip: Ipv4Addr::from(si),
                target_hw: EthernetAddress(th),
                target_ip: Ipv4Addr::from(ti),
            })
    }

    proptest! {
        #[test]
        fn emit_then_parse_round_trips(r in repr()) {
            let mut buf = Vec::new();
            r.emit(&mut buf);
            prop_assert_eq!(buf.len(), PACKET_LEN);
            prop_assert_eq!(ArpRepr::parse(&buf), Ok(r));
        }

        /// etherparse, an independent implementation, reads what we write.
        #[test]
        fn etherparse_reads_what_we_emit(r in repr()) {
            let mut buf = Vec::new();
            r.emit(&mut buf);
            let p = etherparse::ArpPacketSlice::from_slice(&buf).unwrap();
            prop_assert_eq!(p.operation().0, r.operation);
            prop_assert_eq!(p.sender_hw_addr(), &r.sender_hw.0[..]);
            prop_assert_eq!(p.sender_protocol_addr(), &r.sender_ip.octets()[..]);
            prop_assert_eq!(p.target_hw_addr(), &r.target_hw.0[..]);
            prop_assert_eq!(p.target_protocol_addr(), &r.target_ip.octets()[..]);
        }

        /// Any bytes: a checked view or an error, never a panic.
        #[test]
        fn any_bytes_are_checked(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(p) = ArpPacket::new_checked(&b[..]) {
                let _ = (p.operation(), p.sender_hw(), p.target_ip());
            }
            let _ = ArpRepr::parse(&b);
        }
    }
}
