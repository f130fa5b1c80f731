//! Linux constants scripts use by name: errno values, socket-call constants,
//! ICMP type and code names, and the mapping of the stack's errors to errno.

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

/// Socket-call constants with their Linux values.
const CONSTANTS: &[(&str, i64)] = &[
    ("AF_UNSPEC", 0),
    ("AF_INET", 2),
    ("PF_INET", 2),
    ("AF_INET6", 10),
    ("SOCK_STREAM", 1),
    ("SOCK_DGRAM", 2),
    ("SOCK_RAW", 3),
    ("SOCK_NONBLOCK", 0o4000),
    ("SOCK_CLOEXEC", 0o2000000),
    ("IPPROTO_IP", 0),
    ("IPPROTO_ICMP", 1),
    ("IPPROTO_TCP", 6),
    ("IPPROTO_UDP", 17),
    ("SOL_IP", 0),
    ("SOL_SOCKET", 1),
    ("SOL_TCP", 6),
    ("SOL_UDP", 17),
    ("SO_REUSEADDR", 2),
    ("SO_TYPE", 3),
    ("SO_ERROR", 4),
    ("SO_BROADCAST", 6),
    ("SO_SNDBUF", 7),
    ("SO_RCVBUF", 8),
    ("SO_KEEPALIVE", 9),
    ("SO_OOBINLINE", 10),
    ("SO_LINGER", 13),
    ("SO_RCVTIMEO", 20),
    ("SO_SNDTIMEO", 21),
    ("IP_TOS", 1),
    ("IP_TTL", 2),
    ("TCP_NODELAY", 1),
    ("TCP_MAXSEG", 2),
    ("F_GETFD", 1),
    ("F_SETFD", 2),
    ("F_GETFL", 3),
    ("F_SETFL", 4),
    ("FD_CLOEXEC", 1),
    ("O_RDONLY", 0),
    ("O_WRONLY", 1),
    ("O_RDWR", 2),
    ("O_NONBLOCK", 0o4000),
    ("O_NDELAY", 0o4000),
    ("MSG_OOB", 1),
    ("MSG_PEEK", 2),
    ("MSG_DONTROUTE", 4),
    ("MSG_TRUNC", 0x20),
    ("MSG_DONTWAIT", 0x40),
    ("MSG_EOR", 0x80),
    ("MSG_WAITALL", 0x100),
    ("MSG_NOSIGNAL", 0x4000),
    ("SHUT_RD", 0),
    ("SHUT_WR", 1),
    ("SHUT_RDWR", 2),
    ("POLLIN", 0x1),
    ("POLLPRI", 0x2),
    ("POLLOUT", 0x4),
    ("POLLERR", 0x8),
    ("POLLHUP", 0x10),
    ("POLLNVAL", 0x20),
    ("POLLRDNORM", 0x40),
    ("POLLRDBAND", 0x80),
    ("POLLWRNORM", 0x100),
    ("POLLWRBAND", 0x200),
    ("POLLRDHUP", 0x2000),
    ("FIONREAD", 0x541b),
    ("SIOCINQ", 0x541b),
    ("TIOCOUTQ", 0x5411),
    ("SIOCOUTQ", 0x5411),
    ("FIONBIO", 0x5421),
    ("SIOCATMARK", 0x8905),
    ("INADDR_ANY", 0),
];

/// The `POLL*` event bits, by name (for printing `revents`).
pub fn poll_names() -> impl Iterator<Item = (&'static str, i64)> {
    CONSTANTS
        .iter()
        .copied()
        .filter(|(n, _)| n.starts_with("POLL"))
}

/// The value of a named constant, or of an errno name (for `SO_ERROR`).
pub fn constant(name: &str) -> Option<i64> {
    CONSTANTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .or_else(|| errno_value(name))
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
const TIME_EXCEEDED_CODES: &[(&str, u8)] = &[("ttl_exceeded", 0), ("reassembly_timeout", 1)];

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
