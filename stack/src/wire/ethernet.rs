//! Ethernet II: addresses and the 14-byte header.

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
}
