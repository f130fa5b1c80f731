//! The network database of the 4.2BSD primer's section 3 ("Network Library
//! Routines"): host names (`gethostbyname`, `gethostbyaddr`, `gethostname`),
//! network names (`getnetbyname`), protocols (`getprotobyname`,
//! `getprotobynumber`) and services (`getservbyname`, `getservbyport`), with
//! `h_errno` and `herror` as the C has them, and the classful address helpers
//! (`inet_makeaddr`, `inet_netof`, `inet_lnaof`).
//!
//! Services, protocols and networks come from `/etc/services`, `/etc/protocols`
//! and `/etc/networks` when they exist, else (and for names they lack) from
//! built-in tables of the classic entries. Host names are per stack: the stack's
//! own name, `/etc/hosts`, and names added with [`Stack::add_host`] (the demo's
//! two hosts, say); a dotted address is its own name; other names go to the
//! nameserver set with [`Stack::set_nameserver`], asked over the stack's own UDP
//! ([`crate::resolver`]). The network of the stack's
//! interface is `localnet`, the name the primer's `rwhod` looks up.

use std::cell::Cell;
use std::net::{Ipv4Addr, SocketAddrV4};

use crate::addr::{htonl, htons, inet_aton, ntohl, InAddr};
use crate::bsd::Stack;
use crate::consts::AF_INET;
use crate::resolver::ResolverConfig;

/// `h_errno`: the host is unknown.
pub const HOST_NOT_FOUND: i32 = 1;
/// `h_errno`: a temporary failure (a name server did not answer); try again.
pub const TRY_AGAIN: i32 = 2;
/// `h_errno`: an unrecoverable failure.
pub const NO_RECOVERY: i32 = 3;
/// `h_errno`: the name is known but has no address.
pub const NO_DATA: i32 = 4;

thread_local! {
    static H_ERRNO: Cell<i32> = const { Cell::new(0) };
}

/// This thread's `h_errno`: why the last host lookup failed.
pub fn h_errno() -> i32 {
    H_ERRNO.with(Cell::get)
}

fn set_h_errno(e: i32) {
    H_ERRNO.with(|h| h.set(e));
}

/// `hstrerror`: glibc's text for an `h_errno` value.
pub fn hstrerror(e: i32) -> &'static str {
    match e {
        0 => "Resolver Error 0 (no error)",
        HOST_NOT_FOUND => "Unknown host",
        TRY_AGAIN => "Host name lookup failure",
        NO_RECOVERY => "Unknown server error",
        NO_DATA => "No address associated with name",
        _ => "Unknown resolver error",
    }
}

/// `herror(s)`: prints `s: ` and the text of `h_errno` on standard error.
pub fn herror(s: &str) {
    if s.is_empty() {
        eprintln!("{}", hstrerror(h_errno()));
    } else {
        eprintln!("{s}: {}", hstrerror(h_errno()));
    }
}

/// `struct hostent`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostEnt {
    /// Official name.
    pub h_name: String,
    /// Other names.
    pub h_aliases: Vec<String>,
    /// Address family (`AF_INET`).
    pub h_addrtype: i32,
    /// Length of an address in bytes (4).
    pub h_length: i32,
    /// Addresses, network byte order.
    pub h_addr_list: Vec<InAddr>,
}

impl HostEnt {
    /// `h_addr`: the first address (the C macro for `h_addr_list[0]`).
    pub fn h_addr(&self) -> InAddr {
        self.h_addr_list.first().copied().unwrap_or_default()
    }

    fn of(name: &str, aliases: Vec<String>, addrs: Vec<Ipv4Addr>) -> HostEnt {
        HostEnt {
            h_name: name.to_string(),
            h_aliases: aliases,
            h_addrtype: AF_INET,
            h_length: 4,
            h_addr_list: addrs.into_iter().map(InAddr::from).collect(),
        }
    }
}

/// `struct servent`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServEnt {
    /// Official name.
    pub s_name: String,
    /// Other names.
    pub s_aliases: Vec<String>,
    /// Port, network byte order (as the C stores it: `sin_port = sp->s_port`).
    pub s_port: u16,
    /// Protocol (`tcp`, `udp`).
    pub s_proto: String,
}

/// `struct protoent`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtoEnt {
    /// Official name.
    pub p_name: String,
    /// Other names.
    pub p_aliases: Vec<String>,
    /// Protocol number.
    pub p_proto: i32,
}

/// `struct netent`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetEnt {
    /// Official name.
    pub n_name: String,
    /// Other names.
    pub n_aliases: Vec<String>,
    /// Address family (`AF_INET`).
    pub n_addrtype: i32,
    /// Network number, host byte order, right-aligned (10.0.0.0/8 is 10).
    pub n_net: u32,
}

/// The classic services, for a machine without `/etc/services`.
const SERVICES: &[(&str, u16, &str, &[&str])] = &[
    ("echo", 7, "tcp", &[]),
    ("echo", 7, "udp", &[]),
    ("discard", 9, "tcp", &["sink", "null"]),
    ("discard", 9, "udp", &["sink", "null"]),
    ("daytime", 13, "tcp", &[]),
    ("daytime", 13, "udp", &[]),
    ("chargen", 19, "tcp", &["ttytst", "source"]),
    ("chargen", 19, "udp", &["ttytst", "source"]),
    ("ftp-data", 20, "tcp", &[]),
    ("ftp", 21, "tcp", &[]),
    ("ssh", 22, "tcp", &[]),
    ("telnet", 23, "tcp", &[]),
    ("smtp", 25, "tcp", &["mail"]),
    ("time", 37, "tcp", &["timserver"]),
    ("time", 37, "udp", &["timserver"]),
    ("domain", 53, "tcp", &[]),
    ("domain", 53, "udp", &[]),
    ("tftp", 69, "udp", &[]),
    ("finger", 79, "tcp", &[]),
    ("http", 80, "tcp", &["www"]),
    ("ntp", 123, "udp", &[]),
    ("exec", 512, "tcp", &[]),
    ("biff", 512, "udp", &["comsat"]),
    ("login", 513, "tcp", &[]),
    ("who", 513, "udp", &["whod"]),
    ("shell", 514, "tcp", &["cmd"]),
    ("syslog", 514, "udp", &[]),
    ("printer", 515, "tcp", &["spooler"]),
    ("talk", 517, "udp", &[]),
    ("ntalk", 518, "udp", &[]),
    ("route", 520, "udp", &["router", "routed"]),
];

/// The protocols of `/etc/protocols` the stack knows.
const PROTOCOLS: &[(&str, i32, &[&str])] = &[
    ("ip", 0, &["IP"]),
    ("icmp", 1, &["ICMP"]),
    ("tcp", 6, &["TCP"]),
    ("udp", 17, &["UDP"]),
];

/// The networks every machine knows, as Debian's `/etc/networks` writes them
/// (`loopback 127.0.0.0`: all four parts given, so the number is 0x7f000000).
const NETWORKS: &[(&str, u32)] = &[("loopback", 0x7f00_0000), ("link-local", 0xa9fe_0000)];

fn read_table(path: &str) -> Vec<Vec<String>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|w| !w.is_empty())
        .collect()
}

fn services() -> Vec<ServEnt> {
    let mut v: Vec<ServEnt> = read_table("/etc/services")
        .into_iter()
        .filter_map(|w| {
            let (port, proto) = w.get(1)?.split_once('/')?;
            Some(ServEnt {
                s_name: w[0].clone(),
                s_aliases: w[2..].to_vec(),
                s_port: htons(port.parse().ok()?),
                s_proto: proto.to_string(),
            })
        })
        .collect();
    for &(name, port, proto, aliases) in SERVICES {
        if !v.iter().any(|s| s.s_name == name && s.s_proto == proto) {
            v.push(ServEnt {
                s_name: name.into(),
                s_aliases: aliases.iter().map(|a| a.to_string()).collect(),
                s_port: htons(port),
                s_proto: proto.into(),
            });
        }
    }
    v
}

/// `getservbyname(name, proto)`: the service called `name` (or an alias), for
/// protocol `proto`, or for any protocol when `proto` is `None` (the C's
/// `(char *)0`).
pub fn getservbyname(name: &str, proto: Option<&str>) -> Option<ServEnt> {
    services().into_iter().find(|s| {
        (s.s_name == name || s.s_aliases.iter().any(|a| a == name))
            && proto.is_none_or(|p| s.s_proto == p)
    })
}

/// `getservbyport(port, proto)`: `port` in network byte order, as the C passes it.
pub fn getservbyport(port: u16, proto: Option<&str>) -> Option<ServEnt> {
    services()
        .into_iter()
        .find(|s| s.s_port == port && proto.is_none_or(|p| s.s_proto == p))
}

fn protocols() -> Vec<ProtoEnt> {
    let mut v: Vec<ProtoEnt> = read_table("/etc/protocols")
        .into_iter()
        .filter_map(|w| {
            Some(ProtoEnt {
                p_name: w[0].clone(),
                p_proto: w.get(1)?.parse().ok()?,
                p_aliases: w[2..].to_vec(),
            })
        })
        .collect();
    for &(name, number, aliases) in PROTOCOLS {
        if !v.iter().any(|p| p.p_name == name) {
            v.push(ProtoEnt {
                p_name: name.into(),
                p_aliases: aliases.iter().map(|a| a.to_string()).collect(),
                p_proto: number,
            });
        }
    }
    v
}

/// `getprotobyname(name)`.
pub fn getprotobyname(name: &str) -> Option<ProtoEnt> {
    protocols()
        .into_iter()
        .find(|p| p.p_name == name || p.p_aliases.iter().any(|a| a == name))
}

/// `getprotobynumber(proto)`.
pub fn getprotobynumber(proto: i32) -> Option<ProtoEnt> {
    protocols().into_iter().find(|p| p.p_proto == proto)
}

/// `inet_network`'s parse of a network number: the parts given, right-aligned,
/// host byte order ("10" is 10, "169.254" is 0xa9fe, "127.0.0.0" is 0x7f000000).
fn network_number(s: &str) -> Option<u32> {
    let parts: Vec<u32> = s
        .split('.')
        .map(|p| p.parse::<u8>().ok().map(u32::from))
        .collect::<Option<_>>()?;
    (!parts.is_empty() && parts.len() <= 4).then(|| parts.iter().fold(0, |n, &p| n << 8 | p))
}

/// The class A/B/C network of `addr` (host order) and its host part's width.
fn class_split(addr: u32) -> (u32, u32) {
    if addr >> 31 == 0 {
        (addr >> 24, 24)
    } else if addr >> 30 == 0b10 {
        (addr >> 16, 16)
    } else {
        (addr >> 8, 8)
    }
}

/// `inet_makeaddr(net, host)`: the address of `host` on the classful network
/// `net` (both host byte order, as the C takes them), network byte order.
pub fn inet_makeaddr(net: u32, host: u32) -> InAddr {
    let addr = if net < 128 {
        net << 24 | (host & 0x00ff_ffff)
    } else if net < 65536 {
        net << 16 | (host & 0xffff)
    } else if net < 16_777_216 {
        net << 8 | (host & 0xff)
    } else {
        net | host
    };
    InAddr {
        s_addr: htonl(addr),
    }
}

/// `inet_netof(in)`: the classful network number of an address (host order).
pub fn inet_netof(inp: InAddr) -> u32 {
    class_split(ntohl(inp.s_addr)).0
}

/// `inet_lnaof(in)`: the host part of an address within its classful network.
pub fn inet_lnaof(inp: InAddr) -> u32 {
    let addr = ntohl(inp.s_addr);
    let (_, bits) = class_split(addr);
    addr & ((1u32 << bits) - 1)
}

/// A stack's host names.
#[derive(Debug, Default)]
pub(crate) struct Names {
    hostname: Option<String>,
    hosts: Vec<(String, Vec<String>, Ipv4Addr)>,
    resolver: Option<ResolverConfig>,
}

fn etc_hosts() -> Vec<(String, Vec<String>, Ipv4Addr)> {
    read_table("/etc/hosts")
        .into_iter()
        .filter_map(|w| {
            let addr: Ipv4Addr = w[0].parse().ok()?;
            Some((w.get(1)?.clone(), w[2..].to_vec(), addr))
        })
        .collect()
}

impl Stack {
    /// `gethostname`: the stack's host name (set with [`Stack::sethostname`];
    /// by default `host-` and its address with dashes, `host-10-0-0-2`).
    pub fn gethostname(&self) -> String {
        let names = self.inner.names.lock();
        names
            .hostname
            .clone()
            .unwrap_or_else(|| format!("host-{}", self.addr().to_string().replace('.', "-")))
    }

    /// `sethostname`: names the stack; the name resolves to its address.
    pub fn sethostname(&self, name: &str) {
        self.inner.names.lock().hostname = Some(name.to_string());
    }

    /// Adds `name` (and `aliases`) for `addr` to this stack's hosts table, ahead
    /// of `/etc/hosts`.
    pub fn add_host(&self, name: &str, aliases: &[&str], addr: Ipv4Addr) {
        self.inner.names.lock().hosts.push((
            name.to_string(),
            aliases.iter().map(|a| a.to_string()).collect(),
            addr,
        ));
    }

    /// Sends the names the hosts table does not know to this nameserver, over
    /// this stack's UDP ([`crate::resolver`]); `None` turns DNS off.
    pub fn set_nameserver(&self, nameserver: Option<SocketAddrV4>) {
        self.inner.names.lock().resolver = nameserver.map(ResolverConfig::new);
    }

    /// The resolver's nameserver, timeout per attempt and attempts.
    pub fn set_resolver(&self, config: Option<ResolverConfig>) {
        self.inner.names.lock().resolver = config;
    }

    fn host_table(&self) -> Vec<(String, Vec<String>, Ipv4Addr)> {
        let mut v = self.inner.names.lock().hosts.clone();
        v.push((self.gethostname(), Vec::new(), self.addr()));
        v.extend(etc_hosts());
        v
    }

    /// `gethostbyname(name)`: the host called `name` (or an alias); a dotted
    /// address is returned as itself. `None` sets [`h_errno`] to
    /// [`HOST_NOT_FOUND`].
    pub fn gethostbyname(&self, name: &str) -> Option<HostEnt> {
        let mut a = InAddr::default();
        if inet_aton(name, &mut a) == 1 && name.split('.').count() == 4 {
            set_h_errno(0);
            return Some(HostEnt::of(name, Vec::new(), vec![Ipv4Addr::from(a)]));
        }
        let table = self.host_table();
        let Some((official, aliases, _)) = table.iter().find(|(n, al, _)| {
            n.eq_ignore_ascii_case(name) || al.iter().any(|x| x.eq_ignore_ascii_case(name))
        }) else {
            // Not a name we hold: ask the nameserver, if there is one.
            let resolver = self.inner.names.lock().resolver;
            let Some(cfg) = resolver else {
                set_h_errno(HOST_NOT_FOUND);
                return None;
            };
            return match crate::resolver::lookup(self, &cfg, name) {
                Ok(a) => {
                    set_h_errno(0);
                    let aliases = if a.canonical.eq_ignore_ascii_case(name) {
                        Vec::new()
                    } else {
                        vec![name.to_string()]
                    };
                    Some(HostEnt::of(&a.canonical, aliases, a.addrs))
                }
                Err(e) => {
                    set_h_errno(e);
                    None
                }
            };
        };
        // Every address of that official name, in table order.
        let addrs: Vec<Ipv4Addr> = table
            .iter()
            .filter(|(n, _, _)| n == official)
            .map(|&(_, _, a)| a)
            .fold(Vec::new(), |mut v, a| {
                if !v.contains(&a) {
                    v.push(a);
                }
                v
            });
        set_h_errno(0);
        Some(HostEnt::of(official, aliases.clone(), addrs))
    }

    /// `gethostbyaddr(addr, len, type)`: the host whose address is `addr`
    /// (network byte order). Only `AF_INET` with length 4 is known; anything
    /// else, or an unknown address, is `None` with [`h_errno`] set.
    pub fn gethostbyaddr(&self, addr: &InAddr, len: i32, ty: i32) -> Option<HostEnt> {
        if ty != AF_INET || len != 4 {
            set_h_errno(NO_RECOVERY);
            return None;
        }
        let ip = Ipv4Addr::from(*addr);
        let table = self.host_table();
        let Some((name, aliases, _)) = table.iter().find(|&&(_, _, a)| a == ip) else {
            set_h_errno(HOST_NOT_FOUND);
            return None;
        };
        set_h_errno(0);
        Some(HostEnt::of(name, aliases.clone(), vec![ip]))
    }

    /// `getnetbyname(name)`: `localnet` is the network of this stack's interface
    /// (its address shifted right past its prefix: 10.0.0.0/24 is 0x0a0000, as an
    /// `/etc/networks` line `localnet 10.0.0` gives); others come from
    /// `/etc/networks`, else the built-in `loopback` and `link-local`.
    pub fn getnetbyname(&self, name: &str) -> Option<NetEnt> {
        self.net_entries()
            .into_iter()
            .find(|n| n.n_name == name || n.n_aliases.iter().any(|a| a == name))
    }

    /// `getnetbynumber(net, type)`: the network numbered `net` (right-aligned, as
    /// `inet_netof` gives it), `AF_INET` only.
    pub fn getnetbynumber(&self, net: u32, addrtype: i32) -> Option<NetEnt> {
        if addrtype != AF_INET {
            return None;
        }
        self.net_entries().into_iter().find(|n| n.n_net == net)
    }

    /// `setnetent(stayopen)`: restart [`Stack::getnetent`].
    pub fn setnetent(&self, _stayopen: i32) {
        let all = self.net_entries();
        WALKS.with(|w| w.borrow_mut().networks = Some(all.into_iter()));
    }

    /// `getnetent()`: the next network (`localnet` first, then `/etc/networks`
    /// and the built-in ones), `None` at the end.
    pub fn getnetent(&self) -> Option<NetEnt> {
        WALKS.with(|w| {
            let mut w = w.borrow_mut();
            if w.networks.is_none() {
                w.networks = Some(self.net_entries().into_iter());
            }
            w.networks.as_mut().and_then(Iterator::next)
        })
    }

    /// `endnetent()`.
    pub fn endnetent(&self) {
        WALKS.with(|w| w.borrow_mut().networks = None);
    }

    /// The networks data base: `localnet` (the stack's own network), then
    /// `/etc/networks`, then the built-in ones.
    fn net_entries(&self) -> Vec<NetEnt> {
        let net = |n_name: &str, aliases: Vec<String>, n_net: u32| NetEnt {
            n_name: n_name.to_string(),
            n_aliases: aliases,
            n_addrtype: AF_INET,
            n_net,
        };
        let (addr, prefix) = {
            let g = self.lock();
            let c = g.engine_ref().config();
            (u32::from(c.addr), u32::from(c.prefix_len))
        };
        let host_bits = 32 - prefix.min(32);
        let number = if host_bits >= 32 {
            0
        } else {
            addr >> host_bits
        };
        let mut v = vec![net("localnet", Vec::new(), number)];
        for w in read_table("/etc/networks") {
            if let Some(n) = w.get(1).and_then(|s| network_number(s)) {
                v.push(net(&w[0], w[2..].to_vec(), n));
            }
        }
        v.extend(
            NETWORKS
                .iter()
                .map(|&(n, number)| net(n, Vec::new(), number)),
        );
        v
    }
}

/// The data-base walks of the C library (`sethostent`/`gethostent`/`endhostent`
/// and the service, protocol and network counterparts): a cursor per thread and
/// per data base, as the C keeps one per process.
#[derive(Default)]
struct Walks {
    hosts: Option<std::vec::IntoIter<HostEnt>>,
    services: Option<std::vec::IntoIter<ServEnt>>,
    protocols: Option<std::vec::IntoIter<ProtoEnt>>,
    networks: Option<std::vec::IntoIter<NetEnt>>,
}

thread_local! {
    static WALKS: std::cell::RefCell<Walks> = std::cell::RefCell::default();
}

/// `setservent(stayopen)`: restart [`getservent`] at the first service.
pub fn setservent(_stayopen: i32) {
    WALKS.with(|w| w.borrow_mut().services = Some(services().into_iter()));
}

/// `getservent()`: the next service of the data base (`/etc/services`, else
/// the built-in table), `None` at its end.
pub fn getservent() -> Option<ServEnt> {
    WALKS.with(|w| {
        w.borrow_mut()
            .services
            .get_or_insert_with(|| services().into_iter())
            .next()
    })
}

/// `endservent()`.
pub fn endservent() {
    WALKS.with(|w| w.borrow_mut().services = None);
}

/// `setprotoent(stayopen)`.
pub fn setprotoent(_stayopen: i32) {
    WALKS.with(|w| w.borrow_mut().protocols = Some(protocols().into_iter()));
}

/// `getprotoent()`: the next protocol, `None` at the end.
pub fn getprotoent() -> Option<ProtoEnt> {
    WALKS.with(|w| {
        w.borrow_mut()
            .protocols
            .get_or_insert_with(|| protocols().into_iter())
            .next()
    })
}

/// `endprotoent()`.
pub fn endprotoent() {
    WALKS.with(|w| w.borrow_mut().protocols = None);
}

impl Stack {
    /// `sethostent(stayopen)`: restart [`Stack::gethostent`] at the first host.
    pub fn sethostent(&self, _stayopen: i32) {
        let all = self.host_entries();
        WALKS.with(|w| w.borrow_mut().hosts = Some(all.into_iter()));
    }

    /// `gethostent()`: the next host of the stack's table (the names given with
    /// [`Stack::add_host`], its own name, `/etc/hosts`), `None` at the end. The
    /// primer's `gethostbynameandnet` walks it.
    pub fn gethostent(&self) -> Option<HostEnt> {
        WALKS.with(|w| {
            let mut w = w.borrow_mut();
            if w.hosts.is_none() {
                w.hosts = Some(self.host_entries().into_iter());
            }
            w.hosts.as_mut().and_then(Iterator::next)
        })
    }

    /// `endhostent()`.
    pub fn endhostent(&self, _stayopen: i32) {
        WALKS.with(|w| w.borrow_mut().hosts = None);
    }

    fn host_entries(&self) -> Vec<HostEnt> {
        self.host_table()
            .into_iter()
            .map(|(name, aliases, addr)| HostEnt::of(&name, aliases, vec![addr]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::ntohs;
    use crate::consts::INADDR_ANY;

    #[test]
    fn the_walks_visit_every_entry_and_start_again() {
        setservent(0);
        let all: Vec<ServEnt> = std::iter::from_fn(getservent).collect();
        assert!(all
            .iter()
            .any(|s| s.s_name == "login" && s.s_proto == "tcp"));
        assert!(getservent().is_none(), "at the end");
        setservent(1);
        assert_eq!(
            getservent().map(|s| s.s_name),
            all.first().map(|s| s.s_name.clone())
        );
        endservent();
        setprotoent(0);
        let protos: Vec<String> = std::iter::from_fn(getprotoent).map(|p| p.p_name).collect();
        assert!(protos.iter().any(|p| p == "tcp") && protos.iter().any(|p| p == "udp"));
        endprotoent();
    }

    /// The seeds' own calls: `getservbyname("login", "tcp")` (the rlogin
    /// client), `getservbyname("telnet", (char *)0)`, `getservbyname("who",
    /// "udp")` (rwhod), `getprotobyname("tcp")`.
    #[test]
    fn the_seeds_service_and_protocol_lookups() {
        let login = getservbyname("login", Some("tcp")).unwrap();
        assert_eq!(ntohs(login.s_port), 513);
        assert_eq!(login.s_proto, "tcp");
        let telnet = getservbyname("telnet", None).unwrap();
        assert_eq!(ntohs(telnet.s_port), 23);
        let who = getservbyname("who", Some("udp")).unwrap();
        assert_eq!(ntohs(who.s_port), 513);
        assert!(getservbyname("who", Some("tcp")).is_none());
        assert_eq!(
            getservbyport(htons(19), Some("tcp")).unwrap().s_name,
            "chargen"
        );
        assert_eq!(getprotobyname("tcp").unwrap().p_proto, 6);
        assert_eq!(getprotobyname("UDP").unwrap().p_name, "udp");
        assert_eq!(getprotobynumber(1).unwrap().p_name, "icmp");
        assert!(getservbyname("no-such-service", None).is_none());
    }

    /// 4.2BSD primer: `sin.sin_addr = inet_makeaddr(INADDR_ANY, net)` builds
    /// the broadcast-free network address from `getnetbyname`'s number; the
    /// classful helpers split an address back.
    #[test]
    fn classful_address_helpers() {
        assert_eq!(
            Ipv4Addr::from(inet_makeaddr(10, 2)),
            Ipv4Addr::new(10, 0, 0, 2)
        );
        assert_eq!(
            Ipv4Addr::from(inet_makeaddr(0x8001, 0x0203)),
            Ipv4Addr::new(128, 1, 2, 3)
        );
        assert_eq!(
            Ipv4Addr::from(inet_makeaddr(0xc0a801, 7)),
            Ipv4Addr::new(192, 168, 1, 7)
        );
        assert_eq!(
            Ipv4Addr::from(inet_makeaddr(10, INADDR_ANY)),
            Ipv4Addr::new(10, 0, 0, 0)
        );
        let a = InAddr::from(Ipv4Addr::new(128, 32, 1, 9));
        assert_eq!(inet_netof(a), 0x8020);
        assert_eq!(inet_lnaof(a), 0x0109);
        let c = InAddr::from(Ipv4Addr::new(192, 168, 1, 7));
        assert_eq!(inet_netof(c), 0xc0a801);
        assert_eq!(inet_lnaof(c), 7);
        assert_eq!(network_number("169.254"), Some(0xa9fe));
        assert_eq!(network_number("1.2.3.4.5"), None);
    }

    #[test]
    fn h_errno_texts() {
        assert_eq!(hstrerror(HOST_NOT_FOUND), "Unknown host");
        assert_eq!(hstrerror(TRY_AGAIN), "Host name lookup failure");
        assert_eq!(hstrerror(99), "Unknown resolver error");
    }
}
