//! Wire formats: addresses, checksums, and the headers we parse and build.
//!
//! One file per format ([`ethernet`], [`arp`], [`ipv4`], [`icmpv4`], [`udp`],
//! [`tcp`]), each with a checked zero-copy view (`new_checked` validates lengths
//! once, so no accessor can panic) and a `Repr` holding the fields, which parses
//! and emits. Their property tests check emit-then-parse round trips and let
//! etherparse, an independent implementation, read what we write. The engine's
//! layers, drill and the printer ([`pretty`]) all use these formats.

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod icmpv4;
pub mod ipv4;
pub mod pretty;
pub mod tcp;
pub mod udp;

pub use ethernet::{EthernetAddress, ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4};

/// Length of an IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = ipv4::HEADER_LEN;
/// Length of a UDP header.
pub const UDP_HEADER_LEN: usize = udp::HEADER_LEN;
/// Length of an ICMP header (type, code, checksum, rest-of-header).
pub const ICMP_HEADER_LEN: usize = icmpv4::HEADER_LEN;
/// Length of a TCP header without options.
pub const TCP_HEADER_LEN: usize = 20;
/// Room reserved at the front of an outgoing frame for Ethernet and IPv4 headers.
pub const HEADROOM: usize = ETHERNET_HEADER_LEN + IPV4_HEADER_LEN;

/// IP protocol number of ICMP.
pub const PROTO_ICMP: u8 = 1;
/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;

/// Reads a big-endian u16 at `at`, if in bounds.
#[inline]
pub fn read_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Reads a big-endian u32 at `at`, if in bounds.
#[inline]
pub fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}
