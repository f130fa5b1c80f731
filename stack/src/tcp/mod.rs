//! TCP (RFC 9293). Read RFC 9293 section 3 and RFC 1122 section 4.2 before touching
//! this.
//!
//! Files by concern: [`conn`] (a connection's state machine), [`segment`] (the
//! header), [`urgent`] (urgent data and the mark), and the building blocks
//! [`seq`], [`options`], [`rtt`] (RFC 6298), [`assembler`], [`buffer`],
//! [`recovery`] (loss detection and congestion control: RFC 6675, RFC 8985, RFC 6937,
//! RFC 9438), [`isn`] (RFC 6528) and [`timer`]. The engine's side: `socket.rs` (the
//! user calls), `demux.rs` (segment input by the 4-tuple in a hash map),
//! `listener.rs` (the SYN queue and the accept queue) and `timers.rs` (the schedule
//! of all connections); this file holds the socket types and what a connection's
//! [`conn::Notice`]s make the engine do.
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

mod demux;
mod listener;
mod socket;
mod timers;

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
}
