//! Names scripts use: socket-call constants and errnos (the socket layer's tables,
//! `sockets::NAMED` and `sockets::Errno`, so drill and the BSD calls agree), errno
//! aliases, and ICMP type and code names.

use sockets::Errno;
use stack::NetError;

/// The canonical name of an errno, folding Linux aliases (`EWOULDBLOCK` is
/// `EAGAIN`, `ENOTSUP` is `EOPNOTSUPP`, `EDEADLOCK` is `EDEADLK`).
pub fn canonical_errno(name: &str) -> &str {
    match name {
        "EWOULDBLOCK" => "EAGAIN",
        "ENOTSUP" => "EOPNOTSUPP",
        "EDEADLOCK" => "EDEADLK",
        other => other,
    }
}

/// The Linux number of an errno name (aliases accepted), from the socket
/// layer's table ([`sockets::Errno`]): one errno map for both.
pub fn errno_value(name: &str) -> Option<i64> {
    let name = canonical_errno(name);
    Errno::ALL
        .iter()
        .find(|e| e.name() == name)
        .map(|e| i64::from(e.raw()))
}

/// The errno name of a Linux errno number.
pub fn errno_name(value: i64) -> Option<&'static str> {
    Errno::ALL
        .iter()
        .find(|e| i64::from(e.raw()) == value)
        .map(|e| e.name())
}

/// `strerror` text of an errno name.
pub fn errno_text(name: &str) -> &'static str {
    let name = canonical_errno(name);
    Errno::ALL
        .iter()
        .find(|e| e.name() == name)
        .map_or("Unknown error", |e| e.strerror())
}

/// The Linux errno a stack error is reported as: the socket layer's mapping
/// (`WouldBlock` is `EAGAIN`, `InProgress` is `EINPROGRESS`, ...).
pub fn errno_of(e: NetError) -> &'static str {
    Errno::from(e).name()
}

/// The `POLL*` event bits, by name (for printing `revents`).
pub fn poll_names() -> impl Iterator<Item = (&'static str, i64)> {
    sockets::NAMED
        .iter()
        .copied()
        .filter(|(n, _)| n.starts_with("POLL"))
}

/// The value of a named constant, or of an errno name (for `SO_ERROR`).
pub fn constant(name: &str) -> Option<i64> {
    sockets::constant(name)
        .or_else(|| errno_value(name))
        .or_else(|| tos_value(name))
        .or_else(|| super::kernel::epoll_constant(name))
}

/// `IP_TOS` values of `<netinet/ip.h>` (RFC 1349 names, RFC 2474 class
/// selectors).
fn tos_value(name: &str) -> Option<i64> {
    Some(match name {
        "IPTOS_LOWDELAY" => 0x10,
        "IPTOS_THROUGHPUT" => 0x08,
        "IPTOS_RELIABILITY" => 0x04,
        "IPTOS_MINCOST" => 0x02,
        "IPTOS_DSCP_EF" => 0xb8,
        _ => {
            let n: i64 = name.strip_prefix("IPTOS_DSCP_CS")?.parse().ok()?;
            return (0..=7).contains(&n).then_some(n << 5);
        }
    })
}

/// ICMP types by script name, with their numbers.
const ICMP_TYPES: &[(&str, u8)] = &[
    ("echo_reply", 0),
    ("unreachable", 3),
    ("source_quench", 4),
    ("redirect", 5),
    ("echo_request", 8),
    ("time_exceeded", 11),
    ("parameter_problem", 12),
    ("timestamp_request", 13),
    ("timestamp_reply", 14),
];

/// Destination-unreachable codes by script name (RFC 792, RFC 1122, RFC 1812).
const UNREACHABLE_CODES: &[(&str, u8)] = &[
    ("net_unreachable", 0),
    ("host_unreachable", 1),
    ("protocol_unreachable", 2),
    ("port_unreachable", 3),
    ("frag_needed", 4),
    ("source_route_failed", 5),
    ("net_unknown", 6),
    ("host_unknown", 7),
    ("source_host_isolated", 8),
    ("net_prohibited", 9),
    ("host_prohibited", 10),
    ("net_unreachable_for_tos", 11),
    ("host_unreachable_for_tos", 12),
    ("packet_filtered", 13),
    ("precedence_violation", 14),
    ("precedence_cutoff", 15),
];

/// Time-exceeded codes by script name.
/// (The longer names are those of FreeBSD's packetdrill scripts.)
const TIME_EXCEEDED_CODES: &[(&str, u8)] = &[
    ("ttl_exceeded", 0),
    ("reassembly_timeout", 1),
    ("ttl_exceeded_in_transit", 0),
    ("frag_reass_exceeded", 1),
];

/// Redirect codes by script name.
const REDIRECT_CODES: &[(&str, u8)] = &[
    ("redirect_net", 0),
    ("redirect_host", 1),
    ("redirect_tos_net", 2),
    ("redirect_tos_host", 3),
];

fn codes_of(ty: u8) -> &'static [(&'static str, u8)] {
    match ty {
        3 => UNREACHABLE_CODES,
        5 => REDIRECT_CODES,
        11 => TIME_EXCEEDED_CODES,
        _ => &[],
    }
}

/// The number of an ICMP type name (`unreachable` is 3); `type_N` is N.
pub fn icmp_type(name: &str) -> Option<u8> {
    ICMP_TYPES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .or_else(|| name.strip_prefix("type_")?.parse().ok())
}

/// The name of an ICMP type number (`type_N` for unnamed ones).
pub fn icmp_type_name(ty: u8) -> String {
    ICMP_TYPES
        .iter()
        .find(|(_, v)| *v == ty)
        .map_or_else(|| format!("type_{ty}"), |(n, _)| n.to_string())
}

/// The number of a code name for an ICMP type (`code_N` is N).
pub fn icmp_code(ty: u8, name: &str) -> Option<u8> {
    codes_of(ty)
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .or_else(|| name.strip_prefix("code_")?.parse().ok())
}

/// The name of an ICMP code of a type (`code_N` for unnamed ones).
pub fn icmp_code_name(ty: u8, code: u8) -> String {
    codes_of(ty)
        .iter()
        .find(|(_, v)| *v == code)
        .map_or_else(|| format!("code_{code}"), |(n, _)| n.to_string())
}

/// Whether an ICMP type is an error message that quotes a datagram.
pub fn icmp_is_error(ty: u8) -> bool {
    matches!(ty, 3 | 4 | 5 | 11 | 12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables() {
        assert_eq!(errno_value("EWOULDBLOCK"), Some(11));
        assert_eq!(errno_name(111), Some("ECONNREFUSED"));
        assert_eq!(errno_of(NetError::WouldBlock), "EAGAIN");
        assert_eq!(constant("O_RDWR"), Some(2));
        assert_eq!(constant("ECONNREFUSED"), Some(111));
        assert_eq!(icmp_type("unreachable"), Some(3));
        assert_eq!(icmp_code(3, "port_unreachable"), Some(3));
        assert_eq!(icmp_code(3, "code_9"), Some(9));
        assert_eq!(icmp_code_name(3, 4), "frag_needed");
        assert_eq!(icmp_type_name(42), "type_42");
        for e in Errno::ALL {
            assert!(crate::is_known_errno(e.name()), "{}", e.name());
        }
    }
}
