//! `struct sockaddr_in`, `struct in_addr`, byte order (`htons`, `ntohl`, ...) and
//! the address conversions (`inet_addr`, `inet_aton`, `inet_ntoa`).
//!
//! Byte order is kept honest, as the 4.4BSD tutorial insists: `sin_port` and
//! `s_addr` hold values in **network** byte order, exactly as in C, so `sin_port =
//! htons(port)` is required and printing `ntohs(name.sin_port)` gives the port.
//! On a little-endian machine, forgetting `htons` gives the same wrong port it
//! gives in C. The conversions to and from [`SocketAddrV4`] do the swap for you.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::consts::{AF_INET, AF_UNSPEC, INADDR_NONE};
use crate::errno::Errno;

/// Host to network byte order, 16 bits (`htons`).
pub const fn htons(hostshort: u16) -> u16 {
    hostshort.to_be()
}

/// Network to host byte order, 16 bits (`ntohs`).
pub const fn ntohs(netshort: u16) -> u16 {
    u16::from_be(netshort)
}

/// Host to network byte order, 32 bits (`htonl`).
pub const fn htonl(hostlong: u32) -> u32 {
    hostlong.to_be()
}

/// Network to host byte order, 32 bits (`ntohl`).
pub const fn ntohl(netlong: u32) -> u32 {
    u32::from_be(netlong)
}

/// `struct in_addr`: an IPv4 address in network byte order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct InAddr {
    /// The address, network byte order (its bytes in memory are the address's
    /// bytes in order: 10.0.0.1 is stored as `0a 00 00 01`).
    pub s_addr: u32,
}

impl From<Ipv4Addr> for InAddr {
    fn from(ip: Ipv4Addr) -> InAddr {
        InAddr {
            s_addr: u32::from_ne_bytes(ip.octets()),
        }
    }
}

impl From<InAddr> for Ipv4Addr {
    fn from(a: InAddr) -> Ipv4Addr {
        Ipv4Addr::from(a.s_addr.to_ne_bytes())
    }
}

/// Size in bytes of a `struct sockaddr_in` (what C's `sizeof(name)` gives).
pub const SOCKADDR_IN_LEN: usize = 16;

/// `struct sockaddr_in`: an IPv4 socket address.
///
/// The fields are C's, without the `sin_zero` padding (its bytes are zeros in
/// [`SockAddrIn::to_bytes`] and ignored by [`SockAddrIn::from_bytes`]).
/// `sin_family` is in host byte order (`AF_INET as u16`); `sin_port` and `sin_addr`
/// are in network byte order. Build one field by field as in C, or with
/// [`SockAddrIn::new`], or from a [`SocketAddrV4`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SockAddrIn {
    /// Address family: `AF_INET as u16` (host byte order).
    pub sin_family: u16,
    /// Port, network byte order: `htons(port)`.
    pub sin_port: u16,
    /// Address, network byte order.
    pub sin_addr: InAddr,
}

impl SockAddrIn {
    /// An `AF_INET` address for `ip` and `port` (given in host byte order; stored
    /// swapped, as `htons` would).
    pub fn new(ip: Ipv4Addr, port: u16) -> SockAddrIn {
        SockAddrIn {
            sin_family: AF_INET as u16,
            sin_port: htons(port),
            sin_addr: InAddr::from(ip),
        }
    }

    /// The IP address.
    pub fn ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.sin_addr)
    }

    /// The port, in host byte order.
    pub fn port(&self) -> u16 {
        ntohs(self.sin_port)
    }

    /// The 16 bytes of the C structure (family in host order, then port and address
    /// in network order, then 8 zero bytes of `sin_zero`).
    pub fn to_bytes(&self) -> [u8; SOCKADDR_IN_LEN] {
        let mut b = [0u8; SOCKADDR_IN_LEN];
        b[0..2].copy_from_slice(&self.sin_family.to_ne_bytes());
        b[2..4].copy_from_slice(&self.sin_port.to_ne_bytes());
        b[4..8].copy_from_slice(&self.sin_addr.s_addr.to_ne_bytes());
        b
    }

    /// Reads a C `struct sockaddr_in` from `bytes` (an address with its length, as
    /// `bind(s, addr, addrlen)` takes). `EINVAL` if shorter than 16 bytes, like
    /// Linux. The family is not checked here (callers check it in their order).
    pub fn from_bytes(bytes: &[u8]) -> Result<SockAddrIn, Errno> {
        let b: &[u8; SOCKADDR_IN_LEN] = bytes
            .get(..SOCKADDR_IN_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(Errno::EINVAL)?;
        Ok(SockAddrIn {
            sin_family: u16::from_ne_bytes([b[0], b[1]]),
            sin_port: u16::from_ne_bytes([b[2], b[3]]),
            sin_addr: InAddr {
                s_addr: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
            },
        })
    }

    /// The address as a [`SocketAddrV4`] if its family is `AF_INET`
    /// (`EAFNOSUPPORT` otherwise).
    pub fn to_socket_addr(&self) -> Result<SocketAddrV4, Errno> {
        if i32::from(self.sin_family) != AF_INET {
            return Err(Errno::EAFNOSUPPORT);
        }
        Ok(SocketAddrV4::from(*self))
    }

    /// True when the family is `AF_UNSPEC`.
    pub(crate) fn is_unspec(&self) -> bool {
        i32::from(self.sin_family) == AF_UNSPEC
    }
}

impl From<SocketAddrV4> for SockAddrIn {
    fn from(a: SocketAddrV4) -> SockAddrIn {
        SockAddrIn::new(*a.ip(), a.port())
    }
}

/// The address and port, whatever `sin_family` says (see
/// [`SockAddrIn::to_socket_addr`] for the checked conversion).
impl From<SockAddrIn> for SocketAddrV4 {
    fn from(a: SockAddrIn) -> SocketAddrV4 {
        SocketAddrV4::new(a.ip(), a.port())
    }
}

/// Parses one number of a dotted address the way C's `strtoul(s, &end, 0)` does:
/// `0x` hexadecimal, leading `0` octal, else decimal. Returns the value and the rest.
fn parse_part(s: &[u8]) -> Option<(u64, &[u8])> {
    let (radix, digits) = match s {
        [b'0', b'x' | b'X', rest @ ..] => (16, rest),
        [b'0', rest @ ..] => (8, rest),
        _ => (10, s),
    };
    let n = digits
        .iter()
        .take_while(|c| (**c as char).is_digit(radix))
        .count();
    if n == 0 {
        // "0" alone (octal prefix with no digits) is zero; "0x" alone is malformed.
        return (radix == 8).then_some((0, digits));
    }
    let mut v: u64 = 0;
    for &c in &digits[..n] {
        v = v.checked_mul(u64::from(radix))?;
        v = v.checked_add(u64::from((c as char).to_digit(radix)?))?;
        if v > u64::from(u32::MAX) {
            return None;
        }
    }
    Some((v, &digits[n..]))
}

/// The numbers-and-dots parser shared by `inet_aton` and `inet_addr` (the forms
/// `a.b.c.d`, `a.b.c`, `a.b` and `a`, each part decimal, octal or hex). Returns the
/// address in host order and the unparsed rest.
fn parse_dotted(cp: &str) -> Option<(u32, &[u8])> {
    let mut s = cp.as_bytes();
    let mut parts: Vec<u64> = Vec::with_capacity(4);
    loop {
        if !s.first().is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let (v, rest) = parse_part(s)?;
        parts.push(v);
        s = rest;
        match s {
            [b'.', rest @ ..] if parts.len() < 4 => s = rest,
            _ => break,
        }
    }
    let fits = |v: u64, bits: u32| v < (1u64 << bits);
    let addr = match parts[..] {
        [a] if fits(a, 32) => a,
        [a, b] if fits(a, 8) && fits(b, 24) => a << 24 | b,
        [a, b, c] if fits(a, 8) && fits(b, 8) && fits(c, 16) => a << 24 | b << 16 | c,
        [a, b, c, d] if [a, b, c, d].iter().all(|&x| fits(x, 8)) => a << 24 | b << 16 | c << 8 | d,
        _ => return None,
    };
    Some((addr as u32, s))
}

/// `inet_aton`: converts the dotted address `cp` into `inp` (network byte order).
/// Returns 1 on success, 0 if `cp` is not a valid address (as in C). Like glibc,
/// whitespace after the address ends it.
pub fn inet_aton(cp: &str, inp: &mut InAddr) -> i32 {
    match parse_dotted(cp) {
        Some((addr, rest)) if rest.first().is_none_or(u8::is_ascii_whitespace) => {
            inp.s_addr = htonl(addr);
            1
        }
        _ => 0,
    }
}

/// `inet_addr`: the dotted address `cp` in network byte order, or [`INADDR_NONE`]
/// if it is malformed (note that "255.255.255.255" gives the same value, as in C).
pub fn inet_addr(cp: &str) -> u32 {
    match parse_dotted(cp) {
        Some((addr, [])) => htonl(addr),
        _ => INADDR_NONE,
    }
}

/// `inet_ntoa`: the dotted-decimal text of `inp` ("10.0.0.1").
pub fn inet_ntoa(inp: InAddr) -> String {
    Ipv4Addr::from(inp).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consts::{INADDR_ANY, INADDR_LOOPBACK};

    #[test]
    fn byte_order_is_network_order_in_memory() {
        let a = SockAddrIn::new(Ipv4Addr::new(10, 0, 0, 1), 0x1234);
        assert_eq!(a.sin_port.to_ne_bytes(), [0x12, 0x34]);
        assert_eq!(a.sin_addr.s_addr.to_ne_bytes(), [10, 0, 0, 1]);
        assert_eq!(ntohs(a.sin_port), 0x1234);
        assert_eq!(a.port(), 0x1234);
        assert_eq!(SocketAddrV4::from(a), "10.0.0.1:4660".parse().unwrap());
        assert_eq!(htonl(INADDR_LOOPBACK).to_ne_bytes(), [127, 0, 0, 1]);
        assert_eq!(ntohl(htonl(0xdead_beef)), 0xdead_beef);
        assert_eq!(htons(ntohs(7)), 7);
        let b = SockAddrIn::from_bytes(&a.to_bytes()).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            SockAddrIn::from_bytes(&a.to_bytes()[..15]),
            Err(Errno::EINVAL)
        );
        assert_eq!(SockAddrIn::from_bytes(&[]), Err(Errno::EINVAL));
    }

    #[test]
    fn family_is_checked_on_conversion() {
        let mut a = SockAddrIn::new(Ipv4Addr::LOCALHOST, 7);
        assert!(a.to_socket_addr().is_ok());
        a.sin_family = 10;
        assert_eq!(a.to_socket_addr(), Err(Errno::EAFNOSUPPORT));
    }

    #[test]
    fn inet_aton_accepts_the_classic_forms() {
        let mut a = InAddr::default();
        let cases = [
            ("10.0.0.1", [10, 0, 0, 1]),
            ("127.1", [127, 0, 0, 1]),
            ("10.1.2", [10, 1, 0, 2]),
            ("0x7f.0.0.01", [127, 0, 0, 1]),
            ("012.0.0.1", [10, 0, 0, 1]),
            ("167772161", [10, 0, 0, 1]),
            ("255.255.255.255", [255, 255, 255, 255]),
            ("0", [0, 0, 0, 0]),
            ("1.2.3.4 trailing", [1, 2, 3, 4]),
        ];
        for (text, bytes) in cases {
            assert_eq!(inet_aton(text, &mut a), 1, "{text}");
            assert_eq!(a.s_addr.to_ne_bytes(), bytes, "{text}");
        }
        for bad in [
            "",
            "1.2.3.4.5",
            "256.0.0.1",
            "1..2",
            "a.b.c.d",
            "0x",
            "1.2.3.",
            "08",
            "1.2.3.4x",
        ] {
            assert_eq!(inet_aton(bad, &mut a), 0, "{bad:?}");
        }
        assert_eq!(inet_addr("10.0.0.2").to_ne_bytes(), [10, 0, 0, 2]);
        assert_eq!(inet_addr("10.0.0.2 "), INADDR_NONE);
        assert_eq!(inet_addr("nonsense"), INADDR_NONE);
        assert_eq!(
            inet_ntoa(InAddr {
                s_addr: inet_addr("192.168.1.20")
            }),
            "192.168.1.20"
        );
        assert_eq!(
            inet_ntoa(InAddr {
                s_addr: htonl(INADDR_ANY)
            }),
            "0.0.0.0"
        );
    }
}

/// Room for a path in a `struct sockaddr_un` (Linux: 108 bytes).
pub const UNIX_PATH_MAX: usize = 108;

/// `struct sockaddr_un`: a UNIX-domain socket name (a path in the stack's own
/// name space; nothing is created in the file system).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SockAddrUn {
    /// `AF_UNIX`.
    pub sun_family: u16,
    /// The path, NUL-terminated unless it fills the array.
    pub sun_path: [u8; UNIX_PATH_MAX],
}

impl Default for SockAddrUn {
    fn default() -> Self {
        SockAddrUn {
            sun_family: crate::consts::AF_UNIX as u16,
            sun_path: [0; UNIX_PATH_MAX],
        }
    }
}

impl std::fmt::Debug for SockAddrUn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SockAddrUn({:?})", self.path())
    }
}

impl SockAddrUn {
    /// The name `path` (`strcpy(name.sun_path, path)`), cut to fit.
    pub fn new(path: &str) -> SockAddrUn {
        SockAddrUn::from_path(path.as_bytes())
    }

    /// The name with path bytes `path`, cut to fit (with room for the NUL).
    pub(crate) fn from_path(path: &[u8]) -> SockAddrUn {
        let mut a = SockAddrUn::default();
        let n = path.len().min(UNIX_PATH_MAX - 1);
        a.sun_path[..n].copy_from_slice(&path[..n]);
        a
    }

    /// The path up to its NUL ("" for an unnamed socket).
    pub fn path(&self) -> String {
        String::from_utf8_lossy(self.path_bytes()).into_owned()
    }

    pub(crate) fn path_bytes(&self) -> &[u8] {
        let end = self
            .sun_path
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(UNIX_PATH_MAX);
        &self.sun_path[..end]
    }

    /// The C bytes: family (native order) then the path up to its NUL.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = self.sun_family.to_ne_bytes().to_vec();
        v.extend_from_slice(self.path_bytes());
        v.push(0);
        v
    }

    /// From C bytes and length: `EINVAL` without the family, `EAFNOSUPPORT` for
    /// another family.
    pub fn from_bytes(bytes: &[u8]) -> Result<SockAddrUn, Errno> {
        if bytes.len() < 2 {
            return Err(Errno::EINVAL);
        }
        let family = u16::from_ne_bytes([bytes[0], bytes[1]]);
        if i32::from(family) != crate::consts::AF_UNIX {
            return Err(Errno::EAFNOSUPPORT);
        }
        let mut a = SockAddrUn::default();
        let path = &bytes[2..bytes.len().min(2 + UNIX_PATH_MAX)];
        a.sun_path[..path.len()].copy_from_slice(path);
        Ok(a)
    }
}
