//! UDP (RFC 768, RFC 1122 4.1): bind table, demultiplexing, datagram queues.
//!
//! Message boundaries are kept: each `recv` returns one datagram, truncated to the
//! caller's buffer (the rest is discarded, `MSG_TRUNC` semantics). A connected
//! socket sends to its peer by default and receives only its peer's datagrams
//! (4.2BSD primer 0.7). Broadcast needs `SO_BROADCAST` to send (`EACCES` otherwise)
//! and reaches sockets bound to the wildcard address. A datagram to a port nobody
//! bound is answered with ICMP port unreachable (RFC 1122 4.1.3.1), and a connected
//! socket that receives one reports `ECONNREFUSED` on its next call (as Linux does;
//! unconnected sockets ignore ICMP errors).

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

use crate::config::StackConfig;
use crate::counters::{DropReason, Stat};
use crate::cx::Tx;
use crate::error::NetError;
use crate::ip::icmp::{
    IcmpError, IcmpErrorKind, DEST_UNREACHABLE, HOST_UNREACHABLE, PORT_UNREACHABLE,
};
use crate::ip::{is_broadcast, route_for, IpSend, Ipv4Repr};
use crate::ports::{implicit_bind_error, Binding, ReuseAddrRules};
use crate::socket::{Readiness, Socket, SocketHandle, SocketOptions, SocketSet};
use crate::wire::udp::UdpRepr;
use crate::wire::{HEADROOM, PROTO_UDP, UDP_HEADER_LEN};
use rand::RngCore;

pub use crate::ports::PortTable;

/// Largest UDP payload over IPv4: 65535 - 20 (IP) - 8 (UDP).
pub const MAX_DATAGRAM: usize = 65507;

/// Bytes charged per queued datagram on top of its payload, so that a flood of tiny
/// datagrams is bounded by the receive buffer too (Linux charges the skb's truesize).
const DATAGRAM_OVERHEAD: usize = 64;

/// Result of a receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpRecv {
    /// Bytes copied into the caller's buffer.
    pub copied: usize,
    /// The datagram's full length (larger than `copied` when truncated).
    pub len: usize,
    /// Who sent it.
    pub from: SocketAddrV4,
}

#[derive(Debug)]
pub(crate) struct UdpSocket {
    pub(crate) local: Option<SocketAddrV4>,
    pub(crate) remote: Option<SocketAddrV4>,
    rx: VecDeque<(SocketAddrV4, Vec<u8>)>,
    rx_used: usize,
    pub(crate) opts: SocketOptions,
    error: Option<NetError>,
}

impl UdpSocket {
    pub(crate) fn readiness(&self) -> Readiness {
        Readiness {
            readable: !self.rx.is_empty() || self.error.is_some(),
            writable: true,
            error: self.error.is_some(),
            ..Readiness::default()
        }
    }

    /// Bytes of the next datagram (`FIONREAD` on a datagram socket).
    /// Bytes of memory the queued datagrams hold (their buffers and overhead).
    #[cfg(test)]
    pub(crate) fn queued_memory(&self) -> usize {
        self.rx
            .iter()
            .map(|(_, d)| d.capacity() + DATAGRAM_OVERHEAD)
            .sum()
    }

    pub(crate) fn next_len(&self) -> usize {
        self.rx.front().map_or(0, |(_, d)| d.len())
    }
}

/// The UDP layer's state: the port bindings (the sockets live in the engine's
/// socket table).
#[derive(Debug)]
pub(crate) struct Udp {
    ports: PortTable,
}

fn sock(sockets: &SocketSet, h: SocketHandle) -> Result<&UdpSocket, NetError> {
    match sockets.get(h)? {
        Socket::Udp(u) => Ok(u),
        _ => Err(NetError::NotSupported),
    }
}

fn sock_mut(sockets: &mut SocketSet, h: SocketHandle) -> Result<&mut UdpSocket, NetError> {
    match sockets.get_mut(h)? {
        Socket::Udp(u) => Ok(u),
        _ => Err(NetError::NotSupported),
    }
}

/// Checks that `addr` may be a local address of a stack configured with `c`
/// (`EADDRNOTAVAIL` if not).
pub(crate) fn check_local_addr(
    c: &StackConfig,
    addr: Ipv4Addr,
    allow_broadcast: bool,
) -> Result<(), NetError> {
    if addr.is_unspecified() || addr == c.addr || addr.is_loopback() {
        return Ok(());
    }
    if allow_broadcast && is_broadcast(c, addr) {
        return Ok(());
    }
    Err(NetError::AddrNotAvailable)
}

/// The source address for datagrams to `dst` from a socket bound to `local`.
fn source_for(c: &StackConfig, local: Ipv4Addr, dst: Ipv4Addr) -> Ipv4Addr {
    if !local.is_unspecified() && !is_broadcast(c, local) {
        return local;
    }
    if dst.is_loopback() {
        Ipv4Addr::LOCALHOST
    } else {
        c.addr
    }
}

impl Udp {
    /// A UDP layer with the port range of `config`.
    pub(crate) fn new(config: &StackConfig) -> Udp {
        Udp {
            ports: PortTable::new(&config.ports),
        }
    }

    /// Opens an unbound UDP socket.
    pub(crate) fn open(t: &mut Tx<'_>) -> Result<SocketHandle, NetError> {
        let opts = SocketOptions {
            recv_buffer: t.cx.config.udp.recv_buffer,
            send_buffer: t.cx.config.udp.send_buffer,
            ..SocketOptions::default()
        };
        t.sockets.insert(Socket::Udp(UdpSocket {
            local: None,
            remote: None,
            rx: VecDeque::new(),
            rx_used: 0,
            opts,
            error: None,
        }))
    }

    /// Binds to `addr` (port 0: an ephemeral port). `EINVAL` if already bound.
    pub(crate) fn bind(
        &mut self,
        t: &mut Tx<'_>,
        h: SocketHandle,
        addr: SocketAddrV4,
    ) -> Result<SocketAddrV4, NetError> {
        let u = sock(t.sockets, h)?;
        if u.local.is_some() {
            return Err(NetError::InvalidInput);
        }
        check_local_addr(t.cx.config, *addr.ip(), true)?;
        let binding = Binding {
            addr: *addr.ip(),
            handle: h,
            reuse_addr: u.opts.reuse_addr,
        };
        let random = t.rng.next_u32();
        let local = self
            .ports
            .bind_addr(addr, binding, &ReuseAddrRules, random)?;
        sock_mut(t.sockets, h)?.local = Some(local);
        Ok(local)
    }

    fn autobind(&mut self, t: &mut Tx<'_>, h: SocketHandle) -> Result<SocketAddrV4, NetError> {
        match sock(t.sockets, h)?.local {
            Some(l) => Ok(l),
            None => self
                .bind(t, h, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
                .map_err(implicit_bind_error),
        }
    }

    /// Sets the default destination and the only peer datagrams are accepted from.
    /// Binds an ephemeral port first if needed.
    pub(crate) fn connect(
        &mut self,
        t: &mut Tx<'_>,
        h: SocketHandle,
        remote: SocketAddrV4,
    ) -> Result<(), NetError> {
        if remote.port() == 0 || remote.ip().is_unspecified() {
            return Err(NetError::InvalidInput);
        }
        if is_broadcast(t.cx.config, *remote.ip()) && !sock(t.sockets, h)?.opts.broadcast {
            return Err(NetError::PermissionDenied);
        }
        route_for(
            t.cx.config,
            *remote.ip(),
            sock(t.sockets, h)?.opts.dont_route,
        )?;
        let local = self.autobind(t, h)?;
        // Linux (ip4_datagram_connect): a wildcard-bound socket takes the source
        // address of the route as its local address.
        let src = source_for(t.cx.config, *local.ip(), *remote.ip());
        if local.ip().is_unspecified() {
            self.ports.unbind(local.port(), h);
            let reuse_addr = sock(t.sockets, h)?.opts.reuse_addr;
            let b = Binding {
                addr: src,
                handle: h,
                reuse_addr,
            };
            // Re-adding ourselves with a narrower address cannot create a conflict
            // that did not exist: push directly, as Linux rehashes without a check.
            let _ = self.ports.bind(local.port(), b, &crate::ports::AnyShare, 0);
        }
        let u = sock_mut(t.sockets, h)?;
        u.local = Some(SocketAddrV4::new(src, local.port()));
        u.remote = Some(remote);
        u.error = None;
        Ok(())
    }

    /// Dissolves the association (`connect` with `AF_UNSPEC`).
    pub(crate) fn disconnect(sockets: &mut SocketSet, h: SocketHandle) -> Result<(), NetError> {
        sock_mut(sockets, h)?.remote = None;
        Ok(())
    }

    /// Sends one datagram to `dst`, or to the connected peer when `dst` is `None`.
    pub(crate) fn send_to(
        &mut self,
        t: &mut Tx<'_>,
        h: SocketHandle,
        data: &[u8],
        dst: Option<SocketAddrV4>,
    ) -> Result<usize, NetError> {
        let u = sock_mut(t.sockets, h)?;
        if let Some(e) = u.error.take() {
            return Err(e);
        }
        let dst = match (dst, u.remote) {
            (Some(d), _) => d,
            (None, Some(r)) => r,
            (None, None) => return Err(NetError::DestAddrRequired),
        };
        if data.len() > MAX_DATAGRAM {
            return Err(NetError::MessageTooLong);
        }
        if dst.port() == 0 || dst.ip().is_unspecified() {
            return Err(NetError::InvalidInput);
        }
        if is_broadcast(t.cx.config, *dst.ip()) && !sock(t.sockets, h)?.opts.broadcast {
            return Err(NetError::PermissionDenied);
        }
        route_for(t.cx.config, *dst.ip(), sock(t.sockets, h)?.opts.dont_route)?;
        let local = self.autobind(t, h)?;
        let opts = sock(t.sockets, h)?.opts;
        let src = source_for(t.cx.config, *local.ip(), *dst.ip());
        let mut frame = t.cx.pool.alloc(UDP_HEADER_LEN + data.len());
        let repr = UdpRepr {
            src_port: local.port(),
            dst_port: dst.port(),
        };
        repr.emit(&mut frame, HEADROOM, src, *dst.ip(), data);
        let send = IpSend {
            src,
            dst: *dst.ip(),
            protocol: PROTO_UDP,
            ttl: opts.ttl,
            tos: opts.tos,
            dont_frag: false,
        };
        t.send(send, frame)?;
        t.cx.counters.inc(Stat::UdpSent);
        Ok(data.len())
    }

    /// Receives one datagram into `buf` (truncating it if `buf` is short). With `peek`
    /// the datagram stays queued.
    pub(crate) fn recv_from(
        t: &mut Tx<'_>,
        h: SocketHandle,
        buf: &mut [u8],
        peek: bool,
    ) -> Result<UdpRecv, NetError> {
        let u = sock_mut(t.sockets, h)?;
        if let Some(e) = u.error.take() {
            return Err(e);
        }
        let Some((from, data)) = u.rx.front() else {
            return Err(NetError::WouldBlock);
        };
        let copied = data.len().min(buf.len());
        buf[..copied].copy_from_slice(&data[..copied]);
        let result = UdpRecv {
            copied,
            len: data.len(),
            from: *from,
        };
        if !peek {
            if let Some((_, d)) = u.rx.pop_front() {
                u.rx_used -= d.capacity() + DATAGRAM_OVERHEAD;
                t.cx.pool.recycle(d);
            }
        }
        Ok(result)
    }

    /// Local address (None while unbound).
    pub(crate) fn local_addr(
        sockets: &SocketSet,
        h: SocketHandle,
    ) -> Result<Option<SocketAddrV4>, NetError> {
        Ok(sock(sockets, h)?.local)
    }

    /// Connected peer.
    pub(crate) fn peer_addr(
        sockets: &SocketSet,
        h: SocketHandle,
    ) -> Result<Option<SocketAddrV4>, NetError> {
        Ok(sock(sockets, h)?.remote)
    }

    /// Size of the next queued datagram (0 if none).
    pub(crate) fn next_len(sockets: &SocketSet, h: SocketHandle) -> Result<usize, NetError> {
        Ok(sock(sockets, h)?.next_len())
    }

    /// Takes the pending error (`SO_ERROR`).
    pub(crate) fn take_error(
        sockets: &mut SocketSet,
        h: SocketHandle,
    ) -> Result<Option<NetError>, NetError> {
        Ok(sock_mut(sockets, h)?.error.take())
    }

    pub(crate) fn release(&mut self, h: SocketHandle, u: &UdpSocket) {
        if let Some(local) = u.local {
            self.ports.unbind(local.port(), h);
        }
    }

    /// UDP input: validate, find the socket(s), queue.
    pub(crate) fn input(&mut self, t: &mut Tx<'_>, ip: &Ipv4Repr, header: &[u8], seg: &[u8]) {
        let (repr, payload) = match UdpRepr::parse(ip.src, ip.dst, seg, t.cx.rx.checksum_verified) {
            Ok(x) => x,
            Err(reason) => return t.cx.counters.drop(reason),
        };
        let (sport, dport) = (repr.src_port, repr.dst_port);
        // The datagram as it came (the ICMP error quotes it).
        let seg = &seg[..UDP_HEADER_LEN + payload.len()];
        let from = SocketAddrV4::new(ip.src, sport);
        let broadcast = is_broadcast(t.cx.config, ip.dst);
        let udp_ports = &self.ports;
        let sockets = &*t.sockets;
        // Sockets that take this datagram, with how specific their match is.
        let matches = udp_ports.bindings(dport).iter().filter_map(|b| {
            let Ok(Socket::Udp(u)) = sockets.get(b.handle) else {
                return None;
            };
            let addr_ok = b.addr.is_unspecified() || b.addr == ip.dst;
            let remote_ok = u.remote.is_none_or(|r| r == from);
            let score = (u.remote.is_some() as u8) * 2 + (!b.addr.is_unspecified() as u8);
            (addr_ok && remote_ok).then_some((score, b.handle))
        });
        if broadcast {
            // Broadcast reaches every matching socket (rare: a list is fine).
            let targets: Vec<SocketHandle> = matches.map(|(_, h)| h).collect();
            if targets.is_empty() {
                return t.cx.counters.drop(DropReason::UdpNoSocket);
            }
            for h in targets {
                Self::deliver(t, h, from, payload);
            }
            return;
        }
        // Unicast goes to one socket: the most specific match, the most recently
        // bound on a tie.
        let best = matches.fold(None, |best: Option<(u8, SocketHandle)>, m| match best {
            Some(b) if b.0 > m.0 => Some(b),
            _ => Some(m),
        });
        match best {
            Some((_, h)) => Self::deliver(t, h, from, payload),
            None => {
                t.cx.counters.drop(DropReason::UdpNoSocket);
                t.send_icmp_error(DEST_UNREACHABLE, PORT_UNREACHABLE, 0, header, seg);
            }
        }
    }

    /// Queues a datagram on socket `h`, within its receive buffer.
    fn deliver(t: &mut Tx<'_>, h: SocketHandle, from: SocketAddrV4, payload: &[u8]) {
        let Ok(Socket::Udp(u)) = t.sockets.get_mut(h) else {
            return;
        };
        // The datagram is kept in a buffer of its own size, and charged for what
        // it really holds (Linux charges the skb's truesize): a tiny datagram never
        // pins a frame-sized buffer.
        let cost = payload.len() + DATAGRAM_OVERHEAD;
        // Like Linux, one datagram is always accepted into an empty queue.
        if u.rx_used + cost > u.opts.recv_buffer && !u.rx.is_empty() {
            return t.cx.counters.drop(DropReason::UdpQueueFull);
        }
        let data = payload.to_vec();
        u.rx_used += data.capacity() + DATAGRAM_OVERHEAD;
        u.rx.push_back((from, data));
        t.cx.counters.inc(Stat::UdpDelivered);
        t.sockets.mark(h);
    }

    /// An ICMP error about a datagram one of our sockets sent.
    pub(crate) fn icmp_error(&mut self, t: &mut Tx<'_>, err: IcmpError) {
        let local_generated = err.kind == IcmpErrorKind::Unreachable(HOST_UNREACHABLE)
            && err.reporter == t.cx.config.addr;
        let handles: Vec<SocketHandle> = self
            .ports
            .bindings(err.local.port())
            .iter()
            .map(|b| b.handle)
            .collect();
        for h in handles {
            if let Ok(Socket::Udp(u)) = t.sockets.get_mut(h) {
                // Linux (__udp4_lib_err): only connected sockets hear about errors,
                // and only hard ones; we also pass on our own ARP failures.
                if u.remote == Some(err.remote) && (err.kind.is_hard() || local_generated) {
                    u.error = Some(err.kind.to_net_error());
                    t.sockets.mark(h);
                }
            }
        }
    }
}
