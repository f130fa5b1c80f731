//! Port binding: one table per transport protocol (UDP and TCP have separate port
//! spaces).
//!
//! Rules (4.2BSD primer section 5.4 "Address binding", matching Linux):
//! - a binding is a local (address, port); address `0.0.0.0` (`INADDR_ANY`) is the
//!   wildcard, matching every local address;
//! - two bindings of one port conflict when their addresses overlap (equal, or one is
//!   the wildcard), unless both sockets set `SO_REUSEADDR` (the table's caller decides
//!   what reuse means for its protocol through [`BindRules`]);
//! - port 0 asks for an ephemeral port: a random start in the configured range (from
//!   the seeded generator), then the next free one;
//! - ports below 1024 are reserved (`EACCES`) unless the stack is privileged.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};

use crate::config::PortConfig;
use crate::error::NetError;
use crate::socket::SocketHandle;

/// One bound socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding {
    /// Local address (`0.0.0.0` for the wildcard).
    pub addr: Ipv4Addr,
    /// The socket.
    pub handle: SocketHandle,
    /// Whether the socket set `SO_REUSEADDR` when it bound.
    pub reuse_addr: bool,
}

/// How a protocol decides whether two bindings may share a port.
pub trait BindRules {
    /// True when a new binding (`new`) may coexist with `existing` on one port.
    fn may_share(&self, existing: &Binding, new: &Binding) -> bool;

    /// True when connections in TIME-WAIT that hold no binding of their own hold
    /// `port` on an address overlapping `addr`: they yield to `SO_REUSEADDR`, and
    /// an ephemeral port is never taken from them.
    fn time_wait(&self, _port: u16, _addr: Ipv4Addr) -> bool {
        false
    }
}

/// UDP's rule (and TCP's default): overlapping addresses conflict unless both reuse.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReuseAddrRules;

impl BindRules for ReuseAddrRules {
    fn may_share(&self, existing: &Binding, new: &Binding) -> bool {
        !overlaps(existing.addr, new.addr) || (existing.reuse_addr && new.reuse_addr)
    }
}

/// A rule that lets anything share (used when a socket narrows its own binding).
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyShare;

impl BindRules for AnyShare {
    fn may_share(&self, _existing: &Binding, _new: &Binding) -> bool {
        true
    }
}

/// True when two local addresses overlap (equal, or either is the wildcard).
pub fn overlaps(a: Ipv4Addr, b: Ipv4Addr) -> bool {
    a == b || a.is_unspecified() || b.is_unspecified()
}

/// The bindings of one protocol.
#[derive(Debug, Clone)]
pub struct PortTable {
    ports: HashMap<u16, Vec<Binding>>,
    first: u16,
    last: u16,
    privileged: bool,
}

/// The error of an implicit bind (`connect`, `sendto`, `listen` on an unbound
/// socket): no free ephemeral port is `EAGAIN` there, as Linux says, not the
/// `EADDRINUSE` of an explicit `bind`.
pub(crate) fn implicit_bind_error(e: NetError) -> NetError {
    match e {
        NetError::AddrInUse => NetError::PortsExhausted,
        e => e,
    }
}

impl PortTable {
    /// An empty table with the configured ephemeral range.
    pub fn new(config: &PortConfig) -> PortTable {
        PortTable {
            ports: HashMap::new(),
            first: config.ephemeral_first,
            last: config.ephemeral_last.max(config.ephemeral_first),
            privileged: config.privileged,
        }
    }

    /// The bindings of `port`, most recent last.
    pub fn bindings(&self, port: u16) -> &[Binding] {
        self.ports.get(&port).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Number of bound sockets.
    pub fn len(&self) -> usize {
        self.ports.values().map(Vec::len).sum()
    }

    /// True when nothing is bound.
    pub fn is_empty(&self) -> bool {
        self.ports.is_empty()
    }

    /// What `bind(2)` does: binds `binding` to `addr` (port 0: an ephemeral one,
    /// searched from `random`) and returns the address bound. No free ephemeral
    /// port is `EADDRINUSE`, as Linux's `bind` says.
    pub fn bind_addr(
        &mut self,
        addr: SocketAddrV4,
        binding: Binding,
        rules: &impl BindRules,
        random: u32,
    ) -> Result<SocketAddrV4, NetError> {
        let port = self
            .bind(addr.port(), binding, rules, random)
            .map_err(|e| match e {
                NetError::PortsExhausted => NetError::AddrInUse,
                e => e,
            })?;
        Ok(SocketAddrV4::new(*addr.ip(), port))
    }

    /// Binds `binding` to `port`, or to an ephemeral port when `port` is 0 (then
    /// `random` is the seeded random value to start the search from). Returns the port.
    pub fn bind(
        &mut self,
        port: u16,
        binding: Binding,
        rules: &impl BindRules,
        random: u32,
    ) -> Result<u16, NetError> {
        if port == 0 {
            let port = self.pick_ephemeral(&binding, rules, random)?;
            self.ports.entry(port).or_default().push(binding);
            return Ok(port);
        }
        if port < 1024 && !self.privileged {
            return Err(NetError::PermissionDenied);
        }
        if !self.available(port, &binding, rules) {
            return Err(NetError::AddrInUse);
        }
        self.ports.entry(port).or_default().push(binding);
        Ok(port)
    }

    /// True when `binding` could bind `port` now.
    pub fn available(&self, port: u16, binding: &Binding, rules: &impl BindRules) -> bool {
        self.bindings(port)
            .iter()
            .all(|b| b.handle == binding.handle || rules.may_share(b, binding))
            && (binding.reuse_addr || !rules.time_wait(port, binding.addr))
    }

    fn pick_ephemeral(
        &mut self,
        binding: &Binding,
        rules: &impl BindRules,
        random: u32,
    ) -> Result<u16, NetError> {
        let span = (self.last - self.first) as u32 + 1;
        // RFC 6056 3.3.1 (Algorithm 1, simple port randomization): every choice
        // starts at a new random offset, then probes sequentially, so nobody can
        // guess the next port from the last; ephemeral ports are never shared,
        // whatever SO_REUSEADDR says.
        let start = random % span;
        for i in 0..span {
            let port = self.first + ((start + i) % span) as u16;
            let free = self
                .bindings(port)
                .iter()
                .all(|b| !overlaps(b.addr, binding.addr));
            if free && !rules.time_wait(port, binding.addr) && self.available(port, binding, rules)
            {
                return Ok(port);
            }
        }
        Err(NetError::PortsExhausted)
    }

    /// Removes `handle`'s binding of `port`.
    pub fn unbind(&mut self, port: u16, handle: SocketHandle) {
        if let Some(v) = self.ports.get_mut(&port) {
            v.retain(|b| b.handle != handle);
            if v.is_empty() {
                self.ports.remove(&port);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6056: successive ephemeral ports are not guessable from the last one.
    #[test]
    fn ephemeral_ports_are_not_sequential() {
        let mut t = PortTable::new(&PortConfig::default());
        let mut rng = 0x9e37_79b9u32;
        let mut ports = Vec::new();
        for h in handles(200) {
            rng = rng.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let b = Binding {
                addr: Ipv4Addr::UNSPECIFIED,
                handle: h,
                reuse_addr: false,
            };
            ports.push(t.bind(0, b, &ReuseAddrRules, rng).unwrap());
        }
        let consecutive = ports
            .windows(2)
            .filter(|w| w[1] == w[0].wrapping_add(1))
            .count();
        assert!(
            consecutive < 5,
            "{consecutive} of 199 successive ports were consecutive"
        );
    }
    use crate::ping::PingSocket;
    use crate::socket::{Socket, SocketSet};

    fn handles(n: usize) -> Vec<SocketHandle> {
        let mut set = SocketSet::new(1000);
        (0..n)
            .map(|i| {
                set.insert(Socket::Ping(PingSocket::new(i as u16, 1)))
                    .unwrap()
            })
            .collect()
    }

    const ANY: Ipv4Addr = Ipv4Addr::UNSPECIFIED;
    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const LO: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

    fn b(addr: Ipv4Addr, h: SocketHandle, reuse: bool) -> Binding {
        Binding {
            addr,
            handle: h,
            reuse_addr: reuse,
        }
    }

    fn table() -> PortTable {
        PortTable::new(&PortConfig::default())
    }

    #[test]
    fn wildcard_and_specific_conflict_without_reuse() {
        let h = handles(4);
        let mut t = table();
        let r = ReuseAddrRules;
        assert_eq!(t.bind(5000, b(ANY, h[0], false), &r, 0), Ok(5000));
        assert_eq!(
            t.bind(5000, b(A, h[1], false), &r, 0),
            Err(NetError::AddrInUse)
        );
        assert_eq!(
            t.bind(5000, b(ANY, h[1], false), &r, 0),
            Err(NetError::AddrInUse)
        );
        // Different specific addresses do not overlap.
        let mut t = table();
        assert_eq!(t.bind(5000, b(A, h[0], false), &r, 0), Ok(5000));
        assert_eq!(t.bind(5000, b(LO, h[1], false), &r, 0), Ok(5000));
        assert_eq!(
            t.bind(5000, b(ANY, h[2], false), &r, 0),
            Err(NetError::AddrInUse)
        );
    }

    #[test]
    fn reuse_addr_needs_both_sides() {
        let h = handles(3);
        let mut t = table();
        let r = ReuseAddrRules;
        t.bind(6000, b(ANY, h[0], true), &r, 0).unwrap();
        assert_eq!(
            t.bind(6000, b(A, h[1], false), &r, 0),
            Err(NetError::AddrInUse)
        );
        assert_eq!(t.bind(6000, b(A, h[1], true), &r, 0), Ok(6000));
        assert_eq!(t.bindings(6000).len(), 2);
        t.unbind(6000, h[0]);
        t.unbind(6000, h[1]);
        assert!(t.is_empty());
    }

    #[test]
    fn reserved_ports_need_privilege() {
        let h = handles(1);
        let r = ReuseAddrRules;
        assert_eq!(
            table().bind(80, b(ANY, h[0], false), &r, 0),
            Err(NetError::PermissionDenied)
        );
        let mut t = PortTable::new(&PortConfig {
            privileged: true,
            ..PortConfig::default()
        });
        assert_eq!(t.bind(80, b(ANY, h[0], false), &r, 0), Ok(80));
    }

    #[test]
    fn ephemeral_ports_are_in_range_distinct_and_exhaust() {
        let h = handles(12);
        let mut t = PortTable::new(&PortConfig {
            ephemeral_first: 40000,
            ephemeral_last: 40009,
            privileged: false,
        });
        let r = ReuseAddrRules;
        let mut got = Vec::new();
        for (i, &hh) in h.iter().take(10).enumerate() {
            let p = t.bind(0, b(ANY, hh, true), &r, 12345 + i as u32).unwrap();
            assert!((40000..=40009).contains(&p));
            got.push(p);
        }
        got.sort();
        got.dedup();
        assert_eq!(got.len(), 10, "no collision, even with SO_REUSEADDR");
        assert_eq!(
            t.bind(0, b(ANY, h[10], false), &r, 7),
            Err(NetError::PortsExhausted)
        );
        t.unbind(
            got[3],
            h.iter()
                .copied()
                .find(|&x| t.bindings(got[3]).iter().any(|b| b.handle == x))
                .unwrap(),
        );
        assert_eq!(t.bind(0, b(ANY, h[10], false), &r, 7), Ok(got[3]));
    }

    #[test]
    fn random_start_differs_with_seed() {
        let h = handles(2);
        let r = ReuseAddrRules;
        let p1 = table().bind(0, b(ANY, h[0], false), &r, 1).unwrap();
        let p2 = table().bind(0, b(ANY, h[0], false), &r, 999_999).unwrap();
        assert_ne!(p1, p2);
    }
}
