//! TCP (RFC 9293). Read RFC 9293 section 3 and RFC 1122 section 4.2 before touching
//! this.
//!
//! Files by concern: [`conn`] (a connection's state machine), [`segment`] (the
//! header), [`urgent`] (urgent data and the mark), and the building blocks
//! [`seq`], [`options`], [`rtt`] (RFC 6298), [`assembler`], [`buffer`],
//! [`recovery`] (loss detection and congestion control: RFC 6675, RFC 8985, RFC 6937,
//! RFC 9438), [`isn`] (RFC 6528) and [`timer`]. This file is
//! the engine glue: demultiplexing by the 4-tuple in a hash map, listeners with a SYN
//! queue and an accept queue, the user calls, and the timer schedule.
//!
//! Listen backlog (4.2BSD primer 2.4): "If a connection request arrives with the
//! queue full, the connection is ignored, not refused": a SYN that finds the accept
//! queue full is dropped (counted), so the client's retransmitted SYN succeeds once
//! `accept` makes room. The SYN queue (half-open connections) is bounded too.

pub mod assembler;
pub mod buffer;
pub mod conn;
pub mod isn;
pub mod options;
pub mod recovery;
pub mod rtt;
pub mod segment;
pub mod seq;
pub mod timer;
pub mod urgent;

#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

use crate::counters::{DropReason, Stat};
use crate::engine::Engine;
use crate::error::NetError;
use crate::ip::icmp::IcmpError;
use crate::ip::Ipv4Repr;
use crate::ports::{overlaps, BindRules, Binding};
use crate::socket::{Readiness, Socket, SocketHandle, SocketOptions, SocketSet};
use crate::time::Instant;
use recovery::congestion::CongestionAlgorithm;

use conn::{CloseAction, Notice, Out, Tcb, TcbParams};
pub use conn::{State, TcpInfo};
use segment::TcpRepr;

/// Largest TCP payload of one TSO segment: what fits a 64 KiB IPv4 datagram with
/// the largest headers.
const TSO_MAX_PAYLOAD: usize = 65535 - 20 - 60;

/// Which half to shut down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// No more receives (`SHUT_RD`).
    Read,
    /// No more sends: FIN after the queued data (`SHUT_WR`).
    Write,
    /// Both (`SHUT_RDWR`).
    Both,
}

/// A listener's queues.
#[derive(Debug, Default)]
pub(crate) struct Listener {
    backlog: usize,
    /// Half-open children (SYN-RECEIVED).
    syn_queue: Vec<SocketHandle>,
    /// Established children waiting for `accept`.
    accept_queue: VecDeque<SocketHandle>,
}

#[derive(Debug)]
pub(crate) enum TcpKind {
    /// Fresh or bound, not listening or connected.
    Idle,
    Listen(Listener),
    Conn(Box<Tcb>),
}

/// A TCP socket of the engine.
#[derive(Debug)]
pub(crate) struct TcpSocket {
    pub(crate) local: Option<SocketAddrV4>,
    /// Whether `local` holds a binding in the port table (children share their
    /// listener's and hold none).
    bound: bool,
    pub(crate) opts: SocketOptions,
    user_mss: Option<u16>,
    /// `TCP_CONGESTION` set on this socket (else the stack's default).
    congestion: Option<CongestionAlgorithm>,
    pub(crate) kind: TcpKind,
    /// The listener of a child not yet accepted.
    parent: Option<SocketHandle>,
    /// Error of a connection that is gone (reported once).
    error: Option<NetError>,
    /// Deadline last pushed on the timer heap.
    scheduled: Option<Instant>,
}

impl TcpSocket {
    fn tcb(&self) -> Option<&Tcb> {
        match &self.kind {
            TcpKind::Conn(t) => Some(t),
            _ => None,
        }
    }

    fn tcb_mut(&mut self) -> Option<&mut Tcb> {
        match &mut self.kind {
            TcpKind::Conn(t) => Some(t),
            _ => None,
        }
    }

    pub(crate) fn readiness(&self) -> Readiness {
        match &self.kind {
            TcpKind::Idle => Readiness {
                error: self.error.is_some(),
                // Linux: poll on a fresh socket reports POLLOUT|POLLHUP.
                writable: true,
                hangup: true,
                ..Readiness::default()
            },
            TcpKind::Listen(l) => Readiness {
                readable: !l.accept_queue.is_empty(),
                ..Readiness::default()
            },
            TcpKind::Conn(t) => {
                let mut r = t.readiness();
                r.error |= self.error.is_some();
                r
            }
        }
    }
}

/// TCP's binding rule (Linux `inet_csk_bind_conflict`): overlapping addresses
/// conflict unless both set `SO_REUSEADDR` and the existing socket is not listening;
/// a connection in TIME-WAIT yields to a socket that sets `SO_REUSEADDR`.
struct TcpBindRules<'a> {
    sockets: &'a SocketSet,
}

impl BindRules for TcpBindRules<'_> {
    fn may_share(&self, existing: &Binding, new: &Binding) -> bool {
        if !overlaps(existing.addr, new.addr) {
            return true;
        }
        let kind = match self.sockets.get(existing.handle) {
            Ok(Socket::Tcp(t)) => &t.kind,
            _ => return true, // stale binding
        };
        match kind {
            TcpKind::Listen(_) => false,
            TcpKind::Conn(t) if t.state() == State::TimeWait => new.reuse_addr,
            _ => existing.reuse_addr && new.reuse_addr,
        }
    }
}

/// Flags of [`Engine::tcp_send`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendFlags {
    /// `MSG_OOB`: the last byte is urgent.
    pub oob: bool,
}

/// Flags of [`Engine::tcp_recv`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecvFlags {
    /// `MSG_PEEK`.
    pub peek: bool,
    /// `MSG_OOB`.
    pub oob: bool,
}

impl Engine {
    fn tcp_sock(&self, h: SocketHandle) -> Result<&TcpSocket, NetError> {
        match self.sockets.get(h)? {
            Socket::Tcp(t) => Ok(t),
            _ => Err(NetError::NotSupported),
        }
    }

    fn tcp_sock_mut(&mut self, h: SocketHandle) -> Result<&mut TcpSocket, NetError> {
        match self.sockets.get_mut(h)? {
            Socket::Tcp(t) => Ok(t),
            _ => Err(NetError::NotSupported),
        }
    }

    /// Runs `f` on `h`'s connection with an output context, then sends what it
    /// produced and acts on the notice.
    fn with_tcb<R>(
        &mut self,
        now: Instant,
        h: SocketHandle,
        f: impl FnOnce(&mut Tcb, &mut Out<'_>) -> (R, Notice),
    ) -> Result<R, NetError> {
        let (r, notice) = {
            let Ok(Socket::Tcp(sock)) = self.sockets.get_mut(h) else {
                return Err(NetError::BadHandle);
            };
            let Some(tcb) = sock.tcb_mut() else {
                return Err(NetError::NotConnected);
            };
            let mut out = Out {
                frames: &mut self.tcp_out,
                spare: &mut self.spare_frames,
                counters: &mut self.counters,
                defer_ack: self.tcp_defer_ack,
                partial_checksum: self.offloads.tx_checksum,
                tso_max: if self.offloads.tso {
                    TSO_MAX_PAYLOAD
                } else {
                    0
                },
            };
            f(tcb, &mut out)
        };
        self.tcp_flush(now);
        self.tcp_after(h, notice);
        Ok(r)
    }

    /// Sends the segments connections queued.
    fn tcp_flush(&mut self, now: Instant) {
        let mut frames = std::mem::take(&mut self.tcp_out);
        for (send, frame, meta) in frames.drain(..) {
            let _ = self.ip_send_meta(now, send, frame, meta);
        }
        self.tcp_out = frames;
    }

    /// Acts on what a connection reported: wake-ups, the accept queue, freeing,
    /// the timer schedule.
    fn tcp_after(&mut self, h: SocketHandle, notice: Notice) {
        if notice.wake {
            self.sockets.mark(h);
        }
        if notice.urgent {
            self.urgent_events.push_back(h);
        }
        let (parent, orphan, closed, deadline) = match self.sockets.get(h) {
            Ok(Socket::Tcp(s)) => match s.tcb() {
                Some(t) => (
                    s.parent,
                    t.is_orphan(),
                    t.state() == State::Closed,
                    t.poll_at(),
                ),
                None => return,
            },
            _ => return,
        };
        if let Some(p) = parent {
            if notice.established && !closed {
                if let Ok(Socket::Tcp(ps)) = self.sockets.get_mut(p) {
                    if let TcpKind::Listen(l) = &mut ps.kind {
                        l.syn_queue.retain(|&c| c != h);
                        l.accept_queue.push_back(h);
                    }
                }
                self.sockets.mark(p);
            }
            if closed {
                // A child that died before accept: the listener forgets it.
                if let Ok(Socket::Tcp(ps)) = self.sockets.get_mut(p) {
                    if let TcpKind::Listen(l) = &mut ps.kind {
                        l.syn_queue.retain(|&c| c != h);
                        l.accept_queue.retain(|&c| c != h);
                    }
                }
                self.tcp_free(h);
                return;
            }
        }
        if closed && orphan {
            self.tcp_free(h);
            return;
        }
        if closed {
            // The user still holds the socket: keep it, out of the demux table.
            self.tcp_unhash(h);
            return;
        }
        self.tcp_schedule(h, deadline);
    }

    fn tcp_schedule(&mut self, h: SocketHandle, deadline: Option<Instant>) {
        let Some(d) = deadline else { return };
        if let Ok(Socket::Tcp(s)) = self.sockets.get_mut(h) {
            if s.scheduled.is_none_or(|old| d < old) {
                s.scheduled = Some(d);
                self.tcp_timers.push(Reverse((d, h)));
            }
        }
    }

    fn tcp_unhash(&mut self, h: SocketHandle) {
        if let Ok(Socket::Tcp(s)) = self.sockets.get(h) {
            if let Some(t) = s.tcb() {
                let key = (t.local(), t.remote());
                if self.tcp_conns.get(&key) == Some(&h) {
                    self.tcp_conns.remove(&key);
                }
            }
        }
    }

    /// Frees a TCP socket: demux entry, port binding, slot.
    fn tcp_free(&mut self, h: SocketHandle) {
        self.tcp_unhash(h);
        if let Ok(Socket::Tcp(s)) = self.sockets.get(h) {
            if let (TcpKind::Listen(_), Some(l)) = (&s.kind, s.local) {
                if let Some(v) = self.tcp_listeners.get_mut(&l.port()) {
                    v.retain(|&x| x != h);
                    if v.is_empty() {
                        self.tcp_listeners.remove(&l.port());
                    }
                }
            }
        }
        if let Ok(Socket::Tcp(s)) = self.sockets.get(h) {
            if s.bound {
                if let Some(l) = s.local {
                    self.tcp_ports.unbind(l.port(), h);
                }
            }
        }
        let _ = self.sockets.remove(h);
    }

    /// Opens a TCP socket.
    pub fn tcp_open(&mut self) -> Result<SocketHandle, NetError> {
        let opts = SocketOptions {
            recv_buffer: self.config.tcp.recv_buffer,
            send_buffer: self.config.tcp.send_buffer,
            ..SocketOptions::default()
        };
        self.sockets.insert(Socket::Tcp(Box::new(TcpSocket {
            local: None,
            bound: false,
            opts,
            user_mss: None,
            congestion: None,
            kind: TcpKind::Idle,
            parent: None,
            error: None,
            scheduled: None,
        })))
    }

    /// Binds to a local address (port 0: ephemeral).
    pub fn tcp_bind(
        &mut self,
        h: SocketHandle,
        addr: SocketAddrV4,
    ) -> Result<SocketAddrV4, NetError> {
        let s = self.tcp_sock(h)?;
        if s.local.is_some() || !matches!(s.kind, TcpKind::Idle) {
            return Err(NetError::InvalidInput);
        }
        self.check_local_addr(*addr.ip(), false)?;
        let binding = Binding {
            addr: *addr.ip(),
            handle: h,
            reuse_addr: s.opts.reuse_addr,
        };
        let random = self.random_u32();
        let rules = TcpBindRules {
            sockets: &self.sockets,
        };
        let port = self
            .tcp_ports
            .bind(addr.port(), binding, &rules, random)
            .map_err(|e| {
                if e == NetError::PortsExhausted {
                    NetError::AddrInUse
                } else {
                    e
                }
            })?;
        let local = SocketAddrV4::new(*addr.ip(), port);
        let s = self.tcp_sock_mut(h)?;
        s.local = Some(local);
        s.bound = true;
        Ok(local)
    }

    /// Starts listening with room for `backlog` connections waiting for `accept`
    /// (clamped to `somaxconn`; at least 1). Binds an ephemeral port if unbound.
    pub fn tcp_listen(&mut self, h: SocketHandle, backlog: i32) -> Result<(), NetError> {
        let somaxconn = self.config.tcp.somaxconn.max(1) as usize;
        let backlog = (backlog.max(1) as usize).min(somaxconn);
        match &self.tcp_sock(h)?.kind {
            TcpKind::Listen(_) => {
                if let TcpKind::Listen(l) = &mut self.tcp_sock_mut(h)?.kind {
                    l.backlog = backlog;
                }
                return Ok(());
            }
            TcpKind::Conn(_) => return Err(NetError::InvalidInput),
            TcpKind::Idle => {}
        }
        if self.tcp_sock(h)?.local.is_none() {
            self.tcp_bind(h, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
        }
        // A listener may not share its port with anything overlapping (even with
        // SO_REUSEADDR on both sides).
        let s = self.tcp_sock(h)?;
        let local = s.local.ok_or(NetError::InvalidInput)?;
        let clash = self.tcp_ports.bindings(local.port()).iter().any(|b| {
            b.handle != h
                && overlaps(b.addr, *local.ip())
                && matches!(self.sockets.get(b.handle), Ok(Socket::Tcp(t)) if matches!(t.kind, TcpKind::Listen(_)) || t.tcb().is_some_and(Tcb::holds_port))
        });
        if clash {
            return Err(NetError::AddrInUse);
        }
        self.tcp_sock_mut(h)?.kind = TcpKind::Listen(Listener {
            backlog,
            ..Listener::default()
        });
        self.tcp_listeners.entry(local.port()).or_default().push(h);
        Ok(())
    }

    /// Takes an established connection from the accept queue.
    pub fn tcp_accept(
        &mut self,
        now: Instant,
        h: SocketHandle,
    ) -> Result<(SocketHandle, SocketAddrV4), NetError> {
        let s = self.tcp_sock_mut(h)?;
        let TcpKind::Listen(l) = &mut s.kind else {
            return Err(NetError::InvalidInput);
        };
        let Some(child) = l.accept_queue.pop_front() else {
            return Err(NetError::WouldBlock);
        };
        self.sockets.mark(h);
        let c = self.tcp_sock_mut(child)?;
        c.parent = None;
        let remote = c
            .tcb()
            .map(Tcb::remote)
            .ok_or(NetError::ConnectionAborted)?;
        self.sockets.mark(child);
        self.after_socket_call(now);
        Ok((child, remote))
    }

    /// Starts connecting; the result comes later (writable, or an error). Returns
    /// `Err(InProgress)` when the SYN went out.
    pub fn tcp_connect(
        &mut self,
        now: Instant,
        h: SocketHandle,
        remote: SocketAddrV4,
    ) -> Result<(), NetError> {
        let s = self.tcp_sock_mut(h)?;
        match &s.kind {
            TcpKind::Listen(_) => return Err(NetError::InvalidInput),
            TcpKind::Conn(t) => return Err(t.connect_error(s.error)),
            TcpKind::Idle => {}
        }
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        if remote.port() == 0 || remote.ip().is_unspecified() {
            return Err(NetError::ConnectionRefused);
        }
        if self.is_broadcast_addr(*remote.ip()) || remote.ip().is_multicast() {
            return Err(NetError::NetUnreachable);
        }
        self.route(*remote.ip())?;
        let src = if remote.ip().is_loopback() {
            Ipv4Addr::LOCALHOST
        } else {
            self.config.addr
        };
        let local = match self.tcp_sock(h)?.local {
            Some(l) => l,
            None => self
                .tcp_bind(h, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
                .map_err(|e| {
                    if e == NetError::AddrInUse {
                        NetError::PortsExhausted
                    } else {
                        e
                    }
                })?,
        };
        let local = SocketAddrV4::new(
            if local.ip().is_unspecified() {
                src
            } else {
                *local.ip()
            },
            local.port(),
        );
        // Association uniqueness (4.2BSD primer 5.4): the full 4-tuple is unique,
        // whatever SO_REUSEADDR says.
        if self.tcp_conns.contains_key(&(local, remote)) {
            return Err(NetError::AddrInUse);
        }
        let iss = self.isn.isn(local, remote, now);
        let ts_offset = self.random_u32();
        let link_mss = conn::link_mss(self.config.mtu);
        let s = self.tcp_sock(h)?;
        let params = TcbParams {
            local,
            remote,
            iss,
            link_mss,
            ts_offset,
            opts: s.opts,
            user_mss: s.user_mss,
            congestion: s.congestion,
        };
        let tcb = Tcb::new(params, &self.config.tcp, now);
        let s = self.tcp_sock_mut(h)?;
        s.local = Some(local);
        s.kind = TcpKind::Conn(Box::new(tcb));
        self.tcp_conns.insert((local, remote), h);
        self.with_tcb(now, h, |t, out| {
            t.connect(now, out);
            ((), Notice::default())
        })?;
        self.after_socket_call(now);
        Err(NetError::InProgress)
    }

    /// Queues data to send. `Ok(n)` with `n` possibly short; `WouldBlock` when the
    /// buffer is full.
    pub fn tcp_send(
        &mut self,
        now: Instant,
        h: SocketHandle,
        data: &[u8],
        flags: SendFlags,
    ) -> Result<usize, NetError> {
        let s = self.tcp_sock_mut(h)?;
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        let tcb = match s.tcb_mut() {
            Some(t) => t,
            None => return Err(NetError::NotConnected),
        };
        if !tcb.check_send(data.len())? {
            return Ok(0);
        }
        let n = self.with_tcb(now, h, |t, out| {
            let n = if flags.oob {
                t.send_oob(now, data, out)
            } else {
                t.send(now, data, out)
            };
            (n, Notice::default())
        })?;
        self.after_socket_call(now);
        Ok(n)
    }

    /// Reads received data (up to the urgent mark). `Ok(0)` at end of stream.
    pub fn tcp_recv(
        &mut self,
        now: Instant,
        h: SocketHandle,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<usize, NetError> {
        let s = self.tcp_sock_mut(h)?;
        let Some(tcb) = s.tcb_mut() else {
            // Idle or listening: the pending error of a failed attempt first.
            return Err(s.error.take().unwrap_or(NetError::NotConnected));
        };
        if flags.oob {
            let n = tcb.recv_oob(buf, flags.peek)?;
            if n > 0 {
                self.sockets.mark(h);
            }
            return Ok(n);
        }
        if let Some(n) = tcb.check_recv(buf.len())? {
            return Ok(n);
        }
        let n = self.with_tcb(now, h, |t, out| {
            (t.recv(now, buf, flags.peek, out), Notice::default())
        })?;
        self.sockets.mark(h);
        self.after_socket_call(now);
        Ok(n)
    }

    /// Shuts down one or both halves.
    pub fn tcp_shutdown(
        &mut self,
        now: Instant,
        h: SocketHandle,
        how: Shutdown,
    ) -> Result<(), NetError> {
        let s = self.tcp_sock_mut(h)?;
        match &mut s.kind {
            TcpKind::Idle => return Err(NetError::NotConnected),
            TcpKind::Listen(_) => return Err(NetError::NotConnected),
            TcpKind::Conn(t) => t.shutdown_check(matches!(how, Shutdown::Read | Shutdown::Both))?,
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            self.with_tcb(now, h, |t, out| ((), t.shutdown_write(now, out)))?;
        }
        self.sockets.mark(h);
        self.after_socket_call(now);
        Ok(())
    }

    /// Closes a TCP socket (from [`Engine::close`]): a listener resets its queued
    /// connections; a connection with unread data, or with `SO_LINGER` of zero, is
    /// reset; otherwise a FIN follows the queued data and the connection finishes
    /// on its own.
    pub(crate) fn tcp_close(&mut self, now: Instant, h: SocketHandle) -> Result<(), NetError> {
        let s = self.tcp_sock_mut(h)?;
        let linger_zero = s.opts.linger == Some(crate::time::Duration::ZERO);
        match &mut s.kind {
            TcpKind::Idle => {
                self.tcp_free(h);
            }
            TcpKind::Listen(l) => {
                let children: Vec<SocketHandle> = l
                    .syn_queue
                    .drain(..)
                    .chain(l.accept_queue.drain(..))
                    .collect();
                for c in children {
                    let _ = self.with_tcb(now, c, |t, out| ((), t.abort(now, out)));
                    self.tcp_free(c);
                }
                self.tcp_free(h);
            }
            TcpKind::Conn(t) => match t.close_action(linger_zero) {
                CloseAction::Free => self.tcp_free(h),
                CloseAction::Abort => self.with_tcb(now, h, |t, out| ((), t.abort(now, out)))?,
                // FIN-WAIT-2 of an orphan is bounded by fin_timeout.
                CloseAction::Fin => {
                    self.with_tcb(now, h, |t, out| ((), t.shutdown_write(now, out)))?
                }
            },
        }
        self.after_socket_call(now);
        Ok(())
    }

    /// Aborts with a RST whatever the state.
    pub fn tcp_abort(&mut self, now: Instant, h: SocketHandle) -> Result<(), NetError> {
        self.with_tcb(now, h, |t, out| ((), t.abort(now, out)))?;
        self.after_socket_call(now);
        Ok(())
    }

    /// The state of a TCP socket (`Closed` for idle or finished ones, `Listen`).
    pub fn tcp_state(&self, h: SocketHandle) -> Result<State, NetError> {
        let s = self.tcp_sock(h)?;
        Ok(match &s.kind {
            TcpKind::Idle => State::Closed,
            TcpKind::Listen(_) => State::Listen,
            TcpKind::Conn(t) => t.state(),
        })
    }

    /// Connection details (`None` unless connected or connecting).
    pub fn tcp_info(&self, h: SocketHandle) -> Result<Option<TcpInfo>, NetError> {
        Ok(self.tcp_sock(h)?.tcb().map(Tcb::info))
    }

    /// Local address.
    pub fn tcp_local_addr(&self, h: SocketHandle) -> Result<Option<SocketAddrV4>, NetError> {
        Ok(self.tcp_sock(h)?.local)
    }

    /// Peer address, once connected (or connecting).
    pub fn tcp_peer_addr(&self, h: SocketHandle) -> Result<Option<SocketAddrV4>, NetError> {
        let s = self.tcp_sock(h)?;
        Ok(s.tcb().and_then(Tcb::peer_addr))
    }

    /// Takes the pending error (`SO_ERROR`).
    pub fn tcp_take_error(&mut self, h: SocketHandle) -> Result<Option<NetError>, NetError> {
        let s = self.tcp_sock_mut(h)?;
        if let Some(e) = s.error.take() {
            return Ok(Some(e));
        }
        Ok(s.tcb_mut().and_then(Tcb::take_error))
    }

    /// `sockatmark`: the next byte to read is the urgent one.
    pub fn tcp_at_mark(&self, h: SocketHandle) -> Result<bool, NetError> {
        Ok(self.tcp_sock(h)?.tcb().is_some_and(Tcb::at_mark))
    }

    /// Bytes waiting to be read (`FIONREAD`; Linux counts up to the urgent mark).
    pub fn tcp_recv_queue_len(&self, h: SocketHandle) -> Result<usize, NetError> {
        Ok(self.tcp_sock(h)?.tcb().map_or(0, Tcb::recv_queue_len))
    }

    /// Bytes queued and not yet acknowledged (`SIOCOUTQ`).
    pub fn tcp_send_queue_len(&self, h: SocketHandle) -> Result<usize, NetError> {
        Ok(self.tcp_sock(h)?.tcb().map_or(0, Tcb::send_queue_len))
    }

    /// `TCP_MAXSEG`: clamps the MSS we advertise and use (set before connecting).
    pub fn tcp_set_maxseg(&mut self, h: SocketHandle, mss: u16) -> Result<(), NetError> {
        if !(88..=32767).contains(&mss) {
            return Err(NetError::InvalidInput);
        }
        self.tcp_sock_mut(h)?.user_mss = Some(mss);
        Ok(())
    }

    /// `TCP_CONGESTION`: the congestion control of this socket (the stack's
    /// default until set).
    pub fn tcp_congestion(&self, h: SocketHandle) -> Result<CongestionAlgorithm, NetError> {
        let s = self.tcp_sock(h)?;
        Ok(s.tcb()
            .map(Tcb::congestion)
            .or(s.congestion)
            .unwrap_or(self.config.tcp.congestion_control))
    }

    /// Sets `TCP_CONGESTION` for this socket: a connection switches at once
    /// (keeping its window), a socket not yet connected uses it when it is.
    pub fn tcp_set_congestion(
        &mut self,
        h: SocketHandle,
        algo: CongestionAlgorithm,
    ) -> Result<(), NetError> {
        let s = self.tcp_sock_mut(h)?;
        s.congestion = Some(algo);
        if let Some(t) = s.tcb_mut() {
            t.set_congestion(algo);
        }
        Ok(())
    }

    /// `TCP_MAXSEG` as `getsockopt` reports it: the connection's MSS, or the
    /// configured clamp / the default before connecting.
    pub fn tcp_maxseg(&self, h: SocketHandle) -> Result<u16, NetError> {
        let s = self.tcp_sock(h)?;
        Ok(s.tcb()
            .and_then(Tcb::maxseg)
            .unwrap_or(s.user_mss.unwrap_or(536)))
    }

    /// Applies changed options to a live connection (keep-alive, buffers before
    /// the connection exists).
    pub(crate) fn tcp_options_changed(
        &mut self,
        now: Instant,
        h: SocketHandle,
        opts: SocketOptions,
    ) -> Result<(), NetError> {
        let s = self.tcp_sock_mut(h)?;
        s.opts = opts;
        if let Some(t) = s.tcb_mut() {
            t.apply_options(now, &opts);
            let deadline = t.poll_at();
            s.scheduled = None;
            self.tcp_schedule(h, deadline);
            // Nagle off may release held data.
            let _ = self.with_tcb(now, h, |t, out| {
                t.output(now, out);
                ((), Notice::default())
            });
        }
        Ok(())
    }

    /// Urgent notifications (the in-process SIGURG) since the last call.
    pub fn poll_urgent(&mut self) -> Option<SocketHandle> {
        self.urgent_events.pop_front()
    }

    // ------------------------------------------------------------ input

    /// TCP input: demultiplex by 4-tuple, then to a listener, else answer RST.
    pub(crate) fn tcp_input(&mut self, now: Instant, ip: &Ipv4Repr, _header: &[u8], seg: &[u8]) {
        let parsed = if self.rx_checksum_verified {
            TcpRepr::parse_verified(ip.src, ip.dst, seg)
        } else {
            TcpRepr::parse(ip.src, ip.dst, seg)
        };
        let (repr, data) = match parsed {
            Ok(x) => x,
            Err(reason) => return self.counters.drop(reason),
        };
        // RFC 1122 4.2.3.10: a SYN to a broadcast address is ignored.
        if self.is_broadcast_addr(ip.dst) {
            return self.counters.drop(DropReason::TcpBadSegment);
        }
        let local = SocketAddrV4::new(ip.dst, repr.dst_port);
        let remote = SocketAddrV4::new(ip.src, repr.src_port);
        if let Some(&h) = self.tcp_conns.get(&(local, remote)) {
            // A child in SYN-RECEIVED completing its handshake while the accept queue
            // is full: ignore the ACK (Linux drops it; the SYN-ACK will be repeated).
            if let Ok(Socket::Tcp(s)) = self.sockets.get(h) {
                if let (Some(p), Some(t)) = (s.parent, s.tcb()) {
                    if t.state() == State::SynReceived
                        && repr.flags.ack
                        && !repr.flags.rst
                        && self.listener_full(p)
                    {
                        return self.counters.drop(DropReason::TcpAcceptQueueFull);
                    }
                }
            }
            self.tcp_defer_ack = true;
            let owed = self.with_tcb(now, h, |t, out| {
                let n = t.on_segment(now, &repr, data, out);
                (t.ack_pending(), n)
            });
            self.tcp_defer_ack = false;
            if owed == Ok(true) && !self.tcp_ack_pending.contains(&h) {
                self.tcp_ack_pending.push(h);
            }
            return;
        }
        if let Some(listener) = self.find_listener(local) {
            return self.tcp_listen_input(now, listener, local, remote, &repr, data.len());
        }
        self.counters.drop(DropReason::TcpNoSocket);
        self.tcp_reply_rst(now, local, remote, &repr, data.len());
    }

    fn tcp_reply_rst(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        repr: &TcpRepr,
        data_len: usize,
    ) {
        let mut out = Out {
            frames: &mut self.tcp_out,
            spare: &mut self.spare_frames,
            counters: &mut self.counters,
            defer_ack: false,
            partial_checksum: false,
            tso_max: 0,
        };
        if let Some((send, frame)) = conn::rst_for(local, remote, repr, data_len, &mut out) {
            out.frames
                .push((send, frame, crate::wire::offload::TxMeta::default()));
        }
        self.tcp_flush(now);
    }

    fn listener_full(&self, h: SocketHandle) -> bool {
        match self.sockets.get(h) {
            Ok(Socket::Tcp(s)) => match &s.kind {
                TcpKind::Listen(l) => l.accept_queue.len() >= l.backlog,
                _ => false,
            },
            _ => false,
        }
    }

    /// The listener for `local`: one bound to that address, else to the wildcard.
    /// Listeners are kept per port apart from the bindings (which include every
    /// accepted connection), so a SYN costs the same with 10 or 10,000 connections.
    fn find_listener(&self, local: SocketAddrV4) -> Option<SocketHandle> {
        let mut best: Option<(bool, SocketHandle)> = None;
        for &h in self.tcp_listeners.get(&local.port())? {
            let Ok(Socket::Tcp(s)) = self.sockets.get(h) else {
                continue;
            };
            let Some(addr) = s.local.map(|l| *l.ip()) else {
                continue;
            };
            if !(addr.is_unspecified() || addr == *local.ip()) {
                continue;
            }
            let specific = !addr.is_unspecified();
            if best.is_none_or(|(sp, _)| specific && !sp) {
                best = Some((specific, h));
            }
        }
        best.map(|(_, h)| h)
    }

    /// A segment for a listener (RFC 9293 3.10.7.2).
    fn tcp_listen_input(
        &mut self,
        now: Instant,
        lh: SocketHandle,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        repr: &TcpRepr,
        data_len: usize,
    ) {
        self.counters.inc(Stat::TcpSegmentsIn);
        // "First, check for a RST: an incoming RST should be ignored."
        if repr.flags.rst {
            return self.counters.drop(DropReason::TcpBadSegment);
        }
        // "Second, check for an ACK: any acknowledgment is bad ... <SEQ=SEG.ACK><CTL=RST>".
        if repr.flags.ack {
            self.counters.drop(DropReason::TcpBadSegment);
            return self.tcp_reply_rst(now, local, remote, repr, data_len);
        }
        if !repr.flags.syn {
            return self.counters.drop(DropReason::TcpBadSegment);
        }
        let (opts, user_mss, congestion, full, syn_full) = match self.sockets.get(lh) {
            Ok(Socket::Tcp(s)) => match &s.kind {
                // The backlog counts half-open and completed connections together,
                // as BSD's listen queue did: a burst of SYNs is not all answered.
                TcpKind::Listen(l) => (
                    s.opts,
                    s.user_mss,
                    s.congestion,
                    l.accept_queue.len() + l.syn_queue.len() >= l.backlog,
                    l.syn_queue.len() >= self.config.tcp.max_syn_backlog,
                ),
                _ => return,
            },
            _ => return,
        };
        // The primer's rule: a full queue ignores the request, it does not refuse it.
        if full {
            return self.counters.drop(DropReason::TcpAcceptQueueFull);
        }
        if syn_full {
            return self.counters.drop(DropReason::TcpSynQueueFull);
        }
        let iss = self.isn.isn(local, remote, now);
        let ts_offset = self.random_u32();
        let params = TcbParams {
            local,
            remote,
            iss,
            link_mss: conn::link_mss(self.config.mtu),
            ts_offset,
            opts,
            user_mss,
            congestion,
        };
        let tcb = Tcb::new(params, &self.config.tcp, now);
        let child = match self.sockets.insert(Socket::Tcp(Box::new(TcpSocket {
            local: Some(local),
            bound: false,
            opts,
            user_mss,
            congestion,
            kind: TcpKind::Conn(Box::new(tcb)),
            parent: Some(lh),
            error: None,
            scheduled: None,
        }))) {
            Ok(c) => c,
            Err(_) => return self.counters.drop(DropReason::TcpSynQueueFull),
        };
        self.tcp_conns.insert((local, remote), child);
        // The connection holds its port like any socket (Linux's bind bucket): once
        // the listener is gone, a connection in TIME-WAIT still keeps a plain bind
        // of the port out (EADDRINUSE without SO_REUSEADDR).
        let _ = self.tcp_ports.bind(
            local.port(),
            Binding {
                addr: *local.ip(),
                handle: child,
                reuse_addr: opts.reuse_addr,
            },
            &crate::ports::AnyShare,
            0,
        );
        if let Ok(Socket::Tcp(cs)) = self.sockets.get_mut(child) {
            cs.bound = true;
        }
        if let Ok(Socket::Tcp(ls)) = self.sockets.get_mut(lh) {
            if let TcpKind::Listen(l) = &mut ls.kind {
                l.syn_queue.push(child);
            }
        }
        let _ = self.with_tcb(now, child, |t, out| {
            t.on_syn(now, repr, out);
            ((), Notice::default())
        });
    }

    /// An ICMP error about a segment we sent (RFC 1122 4.2.3.9).
    pub(crate) fn tcp_icmp_error(&mut self, now: Instant, err: IcmpError) {
        let Some(&h) = self.tcp_conns.get(&(err.local, err.remote)) else {
            return;
        };
        if let crate::ip::icmp::IcmpErrorKind::FragNeeded(mtu) = err.kind {
            let _ = self.with_tcb(now, h, |t, out| {
                t.path_mtu(now, mtu, out);
                ((), Notice::default())
            });
            return;
        }
        let hard = err.kind.is_hard() || err.reporter == self.config.addr;
        let e = err.kind.to_net_error();
        let _ = self.with_tcb(now, h, |t, _out| ((), t.icmp_error(e, hard)));
    }

    /// Runs due TCP timers.
    pub(crate) fn tcp_poll(&mut self, now: Instant) {
        while let Some(Reverse((t, h))) = self.tcp_timers.peek().copied() {
            if t > now {
                break;
            }
            self.tcp_timers.pop();
            let due = match self.sockets.get_mut(h) {
                Ok(Socket::Tcp(s)) => {
                    if s.scheduled == Some(t) {
                        s.scheduled = None;
                    }
                    s.tcb().is_some()
                }
                _ => false,
            };
            if due {
                let _ = self.with_tcb(now, h, |tcb, out| ((), tcb.on_timer(now, out)));
            }
        }
        // Keep the heap from growing without bound with stale entries.
        if self.tcp_timers.len() > 4 * self.sockets.len() + 64 {
            let mut live: Vec<(Instant, SocketHandle)> = Vec::new();
            for (h, s) in self.sockets.iter() {
                if let Socket::Tcp(t) = s {
                    if let Some(d) = t.tcb().and_then(Tcb::poll_at) {
                        live.push((d, h));
                    }
                }
            }
            self.tcp_timers = live.iter().map(|&x| Reverse(x)).collect();
            for (d, h) in live {
                if let Ok(Socket::Tcp(s)) = self.sockets.get_mut(h) {
                    s.scheduled = Some(d);
                }
            }
        }
    }

    /// Sends the ACKs deferred while a batch of frames was processed.
    pub(crate) fn tcp_flush_acks(&mut self, now: Instant) {
        let mut pending = std::mem::take(&mut self.tcp_ack_pending);
        for h in pending.drain(..) {
            let _ = self.with_tcb(now, h, |t, out| {
                t.flush_ack(now, out);
                ((), Notice::default())
            });
        }
        // Keep the (now empty) buffer for the next batch.
        self.tcp_ack_pending = pending;
    }

    /// The earliest TCP timer.
    pub(crate) fn tcp_poll_at(&self) -> Option<Instant> {
        self.tcp_timers.peek().map(|Reverse((t, _))| *t)
    }
}
