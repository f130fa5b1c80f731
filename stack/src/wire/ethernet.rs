//! Ethernet II: addresses, a checked zero-copy view of a frame, and the 14-byte
//! header as a value ([`EthernetRepr`]) that parses and emits.

use core::fmt;
use core::str::FromStr;

/// Length of the Ethernet II header (no VLAN tag).
pub const ETHERNET_HEADER_LEN: usize = 14;
/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;

/// A 48-bit MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);

    /// True for ff:ff:ff:ff:ff:ff.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// True when the group bit is set (multicast or broadcast).
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// True for a unicast address that is not all zeros.
    pub fn is_unicast(&self) -> bool {
        !self.is_multicast() && self.0 != [0; 6]
    }

    /// A locally administered unicast address derived from `seed` (02:xx:...).
    pub fn local_from_seed(seed: u64) -> EthernetAddress {
        let b = seed.to_be_bytes();
        EthernetAddress([0x02, b[3] ^ b[7], b[4], b[5], b[6], b[7] ^ b[2]])
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Error parsing a MAC address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid MAC address (expected six hex bytes like 02:00:00:00:00:01)")]
pub struct ParseMacError;

impl FromStr for EthernetAddress {
    type Err = ParseMacError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in out.iter_mut() {
            let p = parts.next().ok_or(ParseMacError)?;
            if p.is_empty() || p.len() > 2 {
                return Err(ParseMacError);
            }
            *byte = u8::from_str_radix(p, 16).map_err(|_| ParseMacError)?;
        }
        if parts.next().is_some() {
            return Err(ParseMacError);
        }
        Ok(EthernetAddress(out))
    }
}

/// An Ethernet II frame in a buffer, checked once: a whole header.
#[derive(Clone, Copy, Debug)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Checks `buf` and wraps it (`None` when it is shorter than a header).
    pub fn new_checked(buf: T) -> Option<EthernetFrame<T>> {
        (buf.as_ref().len() >= ETHERNET_HEADER_LEN).then_some(EthernetFrame { buf })
    }

    fn mac_at(&self, at: usize) -> EthernetAddress {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.buf.as_ref()[at..at + 6]);
        EthernetAddress(m)
    }

    /// Destination address.
    pub fn dst(&self) -> EthernetAddress {
        self.mac_at(0)
    }

    /// Source address.
    pub fn src(&self) -> EthernetAddress {
        self.mac_at(6)
    }

    /// EtherType.
    pub fn ethertype(&self) -> u16 {
        u16::from_be_bytes([self.buf.as_ref()[12], self.buf.as_ref()[13]])
    }

    /// The payload.
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[ETHERNET_HEADER_LEN..]
    }
}

/// An Ethernet II header's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EthernetRepr {
    /// Destination address.
    pub dst: EthernetAddress,
    /// Source address.
    pub src: EthernetAddress,
    /// EtherType.
    pub ethertype: u16,
}

impl EthernetRepr {
    /// The header of a frame (`None` when it is shorter than a header).
    pub fn parse(frame: &[u8]) -> Option<EthernetRepr> {
        let f = EthernetFrame::new_checked(frame)?;
        Some(EthernetRepr {
            dst: f.dst(),
            src: f.src(),
            ethertype: f.ethertype(),
        })
    }

    /// Writes the header into the first 14 bytes of `frame`.
    pub fn emit(&self, frame: &mut [u8]) {
        write_header(frame, self.dst, self.src, self.ethertype);
    }
}

/// Writes an Ethernet II header into the first 14 bytes of `frame`.
///
/// Callers reserve the room (see [`super::HEADROOM`]); a too-short buffer is a bug in
/// our own code, not input, so it is checked with a debug assertion only.
#[inline]
pub fn write_header(frame: &mut [u8], dst: EthernetAddress, src: EthernetAddress, ethertype: u16) {
    debug_assert!(frame.len() >= ETHERNET_HEADER_LEN);
    frame[0..6].copy_from_slice(&dst.0);
    frame[6..12].copy_from_slice(&src.0);
    frame[12..14].copy_from_slice(&ethertype.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let m: EthernetAddress = "02:00:0a:FF:00:01".parse().unwrap();
        assert_eq!(m.to_string(), "02:00:0a:ff:00:01");
        assert!(m.is_unicast());
        assert!("02:00:0a:ff:00".parse::<EthernetAddress>().is_err());
        assert!("02:00:0a:ff:00:01:02".parse::<EthernetAddress>().is_err());
        assert!("02:00:0a:ff:00:zz".parse::<EthernetAddress>().is_err());
        assert!(EthernetAddress::BROADCAST.is_multicast());
        assert!(EthernetAddress::local_from_seed(7).is_unicast());
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn emit_then_parse_round_trips(
            d in any::<[u8; 6]>(), s in any::<[u8; 6]>(), t in any::<u16>(),
            payload in proptest::collection::vec(any::<u8>(), 0..32),
        ) {
            let r = EthernetRepr { dst: EthernetAddress(d), src: EthernetAddress(s), ethertype: t };
            let mut f = vec![0u8; ETHERNET_HEADER_LEN];
            r.emit(&mut f);
            f.extend_from_slice(&payload);
            prop_assert_eq!(EthernetRepr::parse(&f), Some(r));
            let view = EthernetFrame::new_checked(&f[..]).unwrap();
            prop_assert_eq!(view.payload(), &payload[..]);
            // etherparse, an independent implementation, reads the same header.
            let e = etherparse::Ethernet2HeaderSlice::from_slice(&f).unwrap();
            prop_assert_eq!((e.destination(), e.source(), e.ether_type().0), (d, s, t));
        }

        #[test]
        fn short_frames_are_refused(b in proptest::collection::vec(any::<u8>(), 0..14)) {
            prop_assert!(EthernetFrame::new_checked(&b[..]).is_none());
        }
    }
}
