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

use crate::counters::{DropReason, Stat};
use crate::engine::Engine;
use crate::error::NetError;
use crate::ip::icmp::{
    IcmpError, IcmpErrorKind, DEST_UNREACHABLE, HOST_UNREACHABLE, PORT_UNREACHABLE,
};
use crate::ip::{IpSend, Ipv4Repr};
use crate::ports::{Binding, ReuseAddrRules};
use crate::socket::{Readiness, Socket, SocketHandle, SocketOptions};
use crate::time::Instant;
use crate::wire::{checksum, read_u16, HEADROOM, PROTO_UDP, UDP_HEADER_LEN};

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
    pub(crate) fn next_len(&self) -> usize {
        self.rx.front().map_or(0, |(_, d)| d.len())
    }
}

impl Engine {
    fn udp(&self, h: SocketHandle) -> Result<&UdpSocket, NetError> {
        match self.sockets.get(h)? {
            Socket::Udp(u) => Ok(u),
            _ => Err(NetError::NotSupported),
        }
    }

    fn udp_mut(&mut self, h: SocketHandle) -> Result<&mut UdpSocket, NetError> {
        match self.sockets.get_mut(h)? {
            Socket::Udp(u) => Ok(u),
            _ => Err(NetError::NotSupported),
        }
    }

    /// Opens an unbound UDP socket.
    pub fn udp_open(&mut self) -> Result<SocketHandle, NetError> {
        let opts = SocketOptions {
            recv_buffer: self.config.udp.recv_buffer,
            send_buffer: self.config.udp.send_buffer,
            ..SocketOptions::default()
        };
        self.sockets.insert(Socket::Udp(UdpSocket {
            local: None,
            remote: None,
            rx: VecDeque::new(),
            rx_used: 0,
            opts,
            error: None,
        }))
    }

    /// Checks that `addr` may be a local address of ours (`EADDRNOTAVAIL` if not).
    pub(crate) fn check_local_addr(
        &self,
        addr: Ipv4Addr,
        allow_broadcast: bool,
    ) -> Result<(), NetError> {
        if addr.is_unspecified() || addr == self.config.addr || addr.is_loopback() {
            return Ok(());
        }
        if allow_broadcast && self.is_broadcast_addr(addr) {
            return Ok(());
        }
        Err(NetError::AddrNotAvailable)
    }

    /// Binds to `addr` (port 0: an ephemeral port). `EINVAL` if already bound.
    pub fn udp_bind(
        &mut self,
        h: SocketHandle,
        addr: SocketAddrV4,
    ) -> Result<SocketAddrV4, NetError> {
        let u = self.udp(h)?;
        if u.local.is_some() {
            return Err(NetError::InvalidInput);
        }
        self.check_local_addr(*addr.ip(), true)?;
        let binding = Binding {
            addr: *addr.ip(),
            handle: h,
            reuse_addr: u.opts.reuse_addr,
        };
        let random = self.random_u32();
        let port = self
            .udp_ports
            .bind(addr.port(), binding, &ReuseAddrRules, random)
            .map_err(|e| {
                if e == NetError::PortsExhausted {
                    NetError::AddrInUse
                } else {
                    e
                }
            })?;
        let local = SocketAddrV4::new(*addr.ip(), port);
        self.udp_mut(h)?.local = Some(local);
        Ok(local)
    }

    fn udp_autobind(&mut self, h: SocketHandle) -> Result<SocketAddrV4, NetError> {
        match self.udp(h)?.local {
            Some(l) => Ok(l),
            None => self
                .udp_bind(h, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
                .map_err(|e| {
                    if e == NetError::AddrInUse {
                        NetError::PortsExhausted
                    } else {
                        e
                    }
                }),
        }
    }

    /// The source address for datagrams to `dst` from a socket bound to `local`.
    fn source_for(&self, local: Ipv4Addr, dst: Ipv4Addr) -> Ipv4Addr {
        if !local.is_unspecified() && !self.is_broadcast_addr(local) {
            return local;
        }
        if dst.is_loopback() {
            Ipv4Addr::LOCALHOST
        } else {
            self.config.addr
        }
    }

    /// Sets the default destination and the only peer datagrams are accepted from.
    /// Binds an ephemeral port first if needed.
    pub fn udp_connect(
        &mut self,
        now: Instant,
        h: SocketHandle,
        remote: SocketAddrV4,
    ) -> Result<(), NetError> {
        if remote.port() == 0 || remote.ip().is_unspecified() {
            return Err(NetError::InvalidInput);
        }
        if self.is_broadcast_addr(*remote.ip()) && !self.udp(h)?.opts.broadcast {
            return Err(NetError::PermissionDenied);
        }
        self.route(*remote.ip())?;
        let local = self.udp_autobind(h)?;
        // Linux (ip4_datagram_connect): a wildcard-bound socket takes the source
        // address of the route as its local address.
        let src = self.source_for(*local.ip(), *remote.ip());
        if local.ip().is_unspecified() {
            self.udp_ports.unbind(local.port(), h);
            let reuse_addr = self.udp(h)?.opts.reuse_addr;
            let b = Binding {
                addr: src,
                handle: h,
                reuse_addr,
            };
            // Re-adding ourselves with a narrower address cannot create a conflict
            // that did not exist: push directly, as Linux rehashes without a check.
            let _ = self
                .udp_ports
                .bind(local.port(), b, &crate::ports::AnyShare, 0);
        }
        let u = self.udp_mut(h)?;
        u.local = Some(SocketAddrV4::new(src, local.port()));
        u.remote = Some(remote);
        u.error = None;
        self.after_socket_call(now);
        Ok(())
    }

    /// Dissolves the association (`connect` with `AF_UNSPEC`).
    pub fn udp_disconnect(&mut self, h: SocketHandle) -> Result<(), NetError> {
        self.udp_mut(h)?.remote = None;
        Ok(())
    }

    /// Sends one datagram to `dst`, or to the connected peer when `dst` is `None`.
    pub fn udp_send_to(
        &mut self,
        now: Instant,
        h: SocketHandle,
        data: &[u8],
        dst: Option<SocketAddrV4>,
    ) -> Result<usize, NetError> {
        let u = self.udp_mut(h)?;
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
        if self.is_broadcast_addr(*dst.ip()) && !self.udp(h)?.opts.broadcast {
            return Err(NetError::PermissionDenied);
        }
        self.route(*dst.ip())?;
        let local = self.udp_autobind(h)?;
        let opts = self.udp(h)?.opts;
        let src = self.source_for(*local.ip(), *dst.ip());
        let len = UDP_HEADER_LEN + data.len();
        let mut frame = self.alloc_frame(len);
        frame.extend_from_slice(&local.port().to_be_bytes());
        frame.extend_from_slice(&dst.port().to_be_bytes());
        frame.extend_from_slice(&(len as u16).to_be_bytes());
        frame.extend_from_slice(&[0, 0]);
        frame.extend_from_slice(data);
        let mut c = checksum::transport(src, *dst.ip(), PROTO_UDP, &frame[HEADROOM..]);
        if c == 0 {
            // RFC 768: a computed zero is sent as all ones (zero means "no checksum").
            c = 0xffff;
        }
        frame[HEADROOM + 6..HEADROOM + 8].copy_from_slice(&c.to_be_bytes());
        let send = IpSend {
            src,
            dst: *dst.ip(),
            protocol: PROTO_UDP,
            ttl: opts.ttl,
            tos: opts.tos,
            dont_frag: false,
        };
        self.ip_send(now, send, frame)?;
        self.counters.inc(Stat::UdpSent);
        self.after_socket_call(now);
        Ok(data.len())
    }

    /// Receives one datagram into `buf` (truncating it if `buf` is short). With `peek`
    /// the datagram stays queued.
    pub fn udp_recv_from(
        &mut self,
        h: SocketHandle,
        buf: &mut [u8],
        peek: bool,
    ) -> Result<UdpRecv, NetError> {
        let u = self.udp_mut(h)?;
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
                u.rx_used -= d.len() + DATAGRAM_OVERHEAD;
                self.recycle(d);
            }
        }
        Ok(result)
    }

    /// Local address (None while unbound).
    pub fn udp_local_addr(&self, h: SocketHandle) -> Result<Option<SocketAddrV4>, NetError> {
        Ok(self.udp(h)?.local)
    }

    /// Connected peer.
    pub fn udp_peer_addr(&self, h: SocketHandle) -> Result<Option<SocketAddrV4>, NetError> {
        Ok(self.udp(h)?.remote)
    }

    /// Size of the next queued datagram (0 if none).
    pub fn udp_next_len(&self, h: SocketHandle) -> Result<usize, NetError> {
        Ok(self.udp(h)?.next_len())
    }

    /// Takes the pending error (`SO_ERROR`).
    pub fn udp_take_error(&mut self, h: SocketHandle) -> Result<Option<NetError>, NetError> {
        Ok(self.udp_mut(h)?.error.take())
    }

    pub(crate) fn udp_release(&mut self, h: SocketHandle, u: &UdpSocket) {
        if let Some(local) = u.local {
            self.udp_ports.unbind(local.port(), h);
        }
    }

    /// UDP input: validate, find the socket(s), queue.
    pub(crate) fn udp_input(&mut self, now: Instant, ip: &Ipv4Repr, header: &[u8], seg: &[u8]) {
        let (Some(sport), Some(dport), Some(len), Some(csum)) = (
            read_u16(seg, 0),
            read_u16(seg, 2),
            read_u16(seg, 4),
            read_u16(seg, 6),
        ) else {
            return self.counters.drop(DropReason::UdpMalformed);
        };
        let len = len as usize;
        if len < UDP_HEADER_LEN || len > seg.len() {
            return self.counters.drop(DropReason::UdpMalformed);
        }
        let seg = &seg[..len];
        // RFC 768: "An all zero transmitted checksum value means that the transmitter
        // generated no checksum".
        if csum != 0
            && !self.rx_checksum_verified
            && !checksum::transport_ok(ip.src, ip.dst, PROTO_UDP, seg)
        {
            return self.counters.drop(DropReason::UdpBadChecksum);
        }
        let from = SocketAddrV4::new(ip.src, sport);
        let broadcast = self.is_broadcast_addr(ip.dst);
        let payload = &seg[UDP_HEADER_LEN..];
        let udp_ports = &self.udp_ports;
        let sockets = &self.sockets;
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
                return self.counters.drop(DropReason::UdpNoSocket);
            }
            for h in targets {
                self.udp_deliver(h, from, payload);
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
            Some((_, h)) => self.udp_deliver(h, from, payload),
            None => {
                self.counters.drop(DropReason::UdpNoSocket);
                self.send_icmp_error(now, DEST_UNREACHABLE, PORT_UNREACHABLE, 0, header, seg);
            }
        }
    }

    /// Queues a datagram on socket `h`, within its receive buffer.
    fn udp_deliver(&mut self, h: SocketHandle, from: SocketAddrV4, payload: &[u8]) {
        let Ok(Socket::Udp(u)) = self.sockets.get_mut(h) else {
            return;
        };
        let cost = payload.len() + DATAGRAM_OVERHEAD;
        // Like Linux, one datagram is always accepted into an empty queue.
        if u.rx_used + cost > u.opts.recv_buffer && !u.rx.is_empty() {
            return self.counters.drop(DropReason::UdpQueueFull);
        }
        let mut data = self.spare_frames.pop().unwrap_or_default();
        data.clear();
        data.extend_from_slice(payload);
        u.rx_used += cost;
        u.rx.push_back((from, data));
        self.counters.inc(Stat::UdpDelivered);
        self.sockets.mark(h);
    }

    /// An ICMP error about a datagram one of our sockets sent.
    pub(crate) fn udp_icmp_error(&mut self, _now: Instant, err: IcmpError) {
        let local_generated = err.kind == IcmpErrorKind::Unreachable(HOST_UNREACHABLE)
            && err.reporter == self.config.addr;
        let handles: Vec<SocketHandle> = self
            .udp_ports
            .bindings(err.local.port())
            .iter()
            .map(|b| b.handle)
            .collect();
        for h in handles {
            if let Ok(Socket::Udp(u)) = self.sockets.get_mut(h) {
                // Linux (__udp4_lib_err): only connected sockets hear about errors,
                // and only hard ones; we also pass on our own ARP failures.
                if u.remote == Some(err.remote) && (err.kind.is_hard() || local_generated) {
                    u.error = Some(err.kind.to_net_error());
                    self.sockets.mark(h);
                }
            }
        }
    }
}
