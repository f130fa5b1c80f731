//! `getaddrinfo`, `getnameinfo` and `gai_strerror` (RFC 3493's interface, IPv4
//! only), on the stack's host table and resolver and the services database.

use std::net::Ipv4Addr;

use crate::addr::{htons, ntohs, SockAddrIn};
use crate::bsd::Stack;
use crate::consts::{AF_INET, AF_UNSPEC, IPPROTO_TCP, IPPROTO_UDP, SOCK_DGRAM, SOCK_STREAM};
use crate::netdb::{getservbyname, getservbyport, h_errno, TRY_AGAIN};

/// `ai_flags`: the address is for `bind` (the wildcard when `node` is absent).
pub const AI_PASSIVE: i32 = 0x0001;
/// `ai_flags`: fill in `ai_canonname`.
pub const AI_CANONNAME: i32 = 0x0002;
/// `ai_flags`: `node` must be a dotted address (no lookup).
pub const AI_NUMERICHOST: i32 = 0x0004;
/// `ai_flags`: `service` must be a port number.
pub const AI_NUMERICSERV: i32 = 0x0400;

/// `getaddrinfo` error: bad flags.
pub const EAI_BADFLAGS: i32 = -1;
/// `getaddrinfo` error: the name is not known.
pub const EAI_NONAME: i32 = -2;
/// `getaddrinfo` error: temporary failure in name resolution.
pub const EAI_AGAIN: i32 = -3;
/// `getaddrinfo` error: non-recoverable failure.
pub const EAI_FAIL: i32 = -4;
/// `getaddrinfo` error: the family is not supported.
pub const EAI_FAMILY: i32 = -6;
/// `getaddrinfo` error: the socket type is not supported.
pub const EAI_SOCKTYPE: i32 = -7;
/// `getaddrinfo` error: the service is not known for the socket type.
pub const EAI_SERVICE: i32 = -8;

/// `getnameinfo` flag: the numeric host.
pub const NI_NUMERICHOST: i32 = 1;
/// `getnameinfo` flag: the numeric port.
pub const NI_NUMERICSERV: i32 = 2;
/// `getnameinfo` flag: fail if the host has no name.
pub const NI_NAMEREQD: i32 = 8;
/// `getnameinfo` flag: the service is a datagram one.
pub const NI_DGRAM: i32 = 16;

/// `struct addrinfo`, one entry (the list is a `Vec`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddrInfo {
    /// `AI_*` flags (in hints).
    pub ai_flags: i32,
    /// Address family: `AF_INET` (`AF_UNSPEC` in hints).
    pub ai_family: i32,
    /// `SOCK_STREAM` or `SOCK_DGRAM` (0 in hints: both).
    pub ai_socktype: i32,
    /// `IPPROTO_TCP` or `IPPROTO_UDP` (0 in hints: any).
    pub ai_protocol: i32,
    /// The address.
    pub ai_addr: SockAddrIn,
    /// The canonical name (first entry, with `AI_CANONNAME`).
    pub ai_canonname: Option<String>,
}

/// `gai_strerror`: glibc's text for a `getaddrinfo` error.
pub fn gai_strerror(e: i32) -> &'static str {
    match e {
        EAI_BADFLAGS => "Bad value for ai_flags",
        EAI_NONAME => "Name or service not known",
        EAI_AGAIN => "Temporary failure in name resolution",
        EAI_FAIL => "Non-recoverable failure in name resolution",
        EAI_FAMILY => "ai_family not supported",
        EAI_SOCKTYPE => "ai_socktype not supported",
        EAI_SERVICE => "Servname not supported for ai_socktype",
        _ => "Unknown error",
    }
}

fn proto_name(socktype: i32) -> &'static str {
    if socktype == SOCK_DGRAM {
        "udp"
    } else {
        "tcp"
    }
}

impl Stack {
    /// `getaddrinfo(node, service, hints)`: the addresses to connect or bind to.
    /// `node` goes through [`Stack::gethostbyname`] (not with `AI_NUMERICHOST`);
    /// absent, it is the wildcard with `AI_PASSIVE`, else 127.0.0.1. `service`
    /// is a port number or a name from the services database. Errors are
    /// `EAI_*` values ([`gai_strerror`]); AF_INET6 is `EAI_FAMILY`.
    pub fn getaddrinfo(
        &self,
        node: Option<&str>,
        service: Option<&str>,
        hints: Option<&AddrInfo>,
    ) -> Result<Vec<AddrInfo>, i32> {
        let default = AddrInfo::default();
        let hints = hints.unwrap_or(&default);
        let known = AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_NUMERICSERV;
        if hints.ai_flags & !known != 0 {
            return Err(EAI_BADFLAGS);
        }
        if node.is_none() && service.is_none() {
            return Err(EAI_NONAME);
        }
        if hints.ai_family != AF_INET && hints.ai_family != AF_UNSPEC {
            return Err(EAI_FAMILY);
        }
        let types: Vec<(i32, i32)> = match hints.ai_socktype {
            0 => vec![(SOCK_STREAM, IPPROTO_TCP), (SOCK_DGRAM, IPPROTO_UDP)],
            SOCK_STREAM => vec![(SOCK_STREAM, IPPROTO_TCP)],
            SOCK_DGRAM => vec![(SOCK_DGRAM, IPPROTO_UDP)],
            _ => return Err(EAI_SOCKTYPE),
        };
        let (addrs, canon) = match node {
            None if hints.ai_flags & AI_PASSIVE != 0 => (vec![Ipv4Addr::UNSPECIFIED], None),
            None => (vec![Ipv4Addr::LOCALHOST], None),
            Some(n) => match n.parse::<Ipv4Addr>() {
                Ok(a) => (vec![a], Some(n.to_string())),
                Err(_) if hints.ai_flags & AI_NUMERICHOST != 0 => return Err(EAI_NONAME),
                Err(_) => match self.gethostbyname(n) {
                    Some(h) => (
                        h.h_addr_list.iter().map(|&a| Ipv4Addr::from(a)).collect(),
                        Some(h.h_name),
                    ),
                    None if h_errno() == TRY_AGAIN => return Err(EAI_AGAIN),
                    None => return Err(EAI_NONAME),
                },
            },
        };
        let mut out = Vec::new();
        for &(socktype, protocol) in &types {
            let port = match service {
                None => 0,
                Some(s) => match s.parse::<u16>() {
                    Ok(p) => p,
                    Err(_) if hints.ai_flags & AI_NUMERICSERV != 0 => return Err(EAI_NONAME),
                    Err(_) => match getservbyname(s, Some(proto_name(socktype))) {
                        Some(se) => ntohs(se.s_port),
                        // Known for the other protocol only: no entry of this type.
                        None => continue,
                    },
                },
            };
            for &a in &addrs {
                out.push(AddrInfo {
                    ai_flags: hints.ai_flags,
                    ai_family: AF_INET,
                    ai_socktype: socktype,
                    ai_protocol: protocol,
                    ai_addr: SockAddrIn::new(a, port),
                    ai_canonname: None,
                });
            }
        }
        if out.is_empty() {
            return Err(EAI_SERVICE);
        }
        if hints.ai_flags & AI_CANONNAME != 0 {
            out[0].ai_canonname = canon;
        }
        Ok(out)
    }

    /// `getnameinfo(sa, flags)`: the host and service names of an address
    /// (numbers where asked, or where no name is known unless `NI_NAMEREQD`).
    pub fn getnameinfo(&self, sa: &SockAddrIn, flags: i32) -> Result<(String, String), i32> {
        if i32::from(sa.sin_family) != AF_INET {
            return Err(EAI_FAMILY);
        }
        let ip = sa.ip();
        let host = if flags & NI_NUMERICHOST != 0 {
            ip.to_string()
        } else {
            match self.gethostbyaddr(&sa.sin_addr, 4, AF_INET) {
                Some(h) => h.h_name,
                None if flags & NI_NAMEREQD != 0 => return Err(EAI_NONAME),
                None => ip.to_string(),
            }
        };
        let proto = if flags & NI_DGRAM != 0 { "udp" } else { "tcp" };
        let serv = if flags & NI_NUMERICSERV != 0 {
            sa.port().to_string()
        } else {
            getservbyport(htons(sa.port()), Some(proto))
                .map_or_else(|| sa.port().to_string(), |s| s.s_name)
        };
        Ok((host, serv))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts() {
        assert_eq!(gai_strerror(EAI_NONAME), "Name or service not known");
        assert_eq!(
            gai_strerror(EAI_AGAIN),
            "Temporary failure in name resolution"
        );
        assert_eq!(gai_strerror(1234), "Unknown error");
    }
}
